// `make bench-check`: measures, at full size, every goal of SPEC §5 that the store owns and
// prints one JSON line per goal as soon as it is known:
//   {"goal": ID, "value": N, "target": ">=N" or "<=N", "met": bool}
// Ratios are measured in one run, ours and the peer alternating. Fixtures come from the
// benchmark cache (BENCHMARKS.md); `REGLEDGER_BENCH_QUICK=1` uses small sizes (a smoke run:
// its values say nothing about the goals).
//
//   bench-check                       all goals
//   bench-check SECTION…              only these of append, verify, rebuild, recovery,
//                                     time-travel, paging, memory, cluster, registry, http (while tuning one)
//   bench-check recovery-writer DIR   (internal) push into DIR with 64 writers until killed
import BenchSupport
import Foundation
import Peers
@_spi(Benchmarks) import RegistryLedger

/// Prints one goal's line now.
func report(_ goal: String, _ value: Double, atLeast: Double? = nil, atMost: Double? = nil) {
    // Two decimals, or four below 1 (a recovery takes milliseconds).
    let scale = abs(value) < 1 ? 10_000.0 : 100.0
    let rounded = (value * scale).rounded() / scale
    let (target, met) = atLeast.map { (">=\(format($0))", value >= $0) } ?? (atMost.map { ("<=\(format($0))", value <= $0) } ?? ("", false))
    FileHandle.standardOutput.write(Data((#"{"goal": "\#(goal)", "value": \#(format(rounded)), "target": "\#(target)", "met": \#(met)}"# + "\n").utf8))
}

func format(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

func seconds<R>(_ body: () throws -> R) rethrows -> (R, Double) {
    let start = ContinuousClock.now
    let result = try body()
    return (result, (ContinuousClock.now - start) / .seconds(1))
}

func say(_ line: String) { FileHandle.standardError.write(Data(("bench-check: " + line + "\n").utf8)) }

let quick = Fixtures.quick
let sections = Set(CommandLine.arguments.dropFirst())
let allSections: Set = ["append", "verify", "rebuild", "recovery", "time-travel", "paging", "memory", "cluster", "registry", "http"]
if !sections.isSubset(of: allSections), CommandLine.arguments.dropFirst().first != "recovery-writer" {
    FileHandle.standardError.write(Data(("bench-check: unknown section \(sections.subtracting(allSections).sorted().joined(separator: ", ")); "
        + "the sections are \(allSections.sorted().joined(separator: ", "))\n").utf8))
    exit(2)
}
/// Whether the run measures `section` (every section when none is named).
func wanted(_ section: String) -> Bool { sections.isEmpty || sections.contains(section) }
let ref = try RepositoryRef("bench/append")

/// A fresh durable store with one repository, removed by `done`.
func freshStore(durable: Bool = true) async throws -> (ledger: Ledger, done: () -> Void) {
    let path = NSTemporaryDirectory() + "regledger-bench-check-\(UUID().uuidString)"
    var options = Ledger.Options()
    options.durable = durable
    let ledger = try Ledger(path: path, options: options)
    _ = try await ledger.createRepository(ref, context: Fixtures.context)
    return (ledger, { ledger.close(); try? FileManager.default.removeItem(atPath: path) })
}

/// Pushes `count` new images from `writers` concurrent tasks; commands/s.
func push(_ ledger: Ledger, count: Int, writers: Int, offset: Int = 0) async throws -> Double {
    let manifests = (0..<count).map { Fixtures.manifest(offset + $0) }
    let start = ContinuousClock.now
    try await Fixtures.concurrently(count, parallel: writers) { i in
        _ = try await ledger.putImage(ref, manifest: manifests[i], tag: try Tag("t\(offset + i)"), context: Fixtures.context)
    }
    return Double(count) / ((ContinuousClock.now - start) / .seconds(1))
}

/// A copy of a fixture to change (rebuild, recovery), removed by `done`. Written back to the disk
/// before it is used: a rebuild's durable commit would otherwise also write the copy's dirty pages.
func copy(_ fixture: String) throws -> (path: String, done: () -> Void) {
    let path = NSTemporaryDirectory() + "regledger-bench-check-\(UUID().uuidString)"
    try FileManager.default.copyItem(atPath: fixture, toPath: path)
    sync()
    return (path, { try? FileManager.default.removeItem(atPath: path) })
}

// MARK: the recovery writer (a child process killed under load)

if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "recovery-writer" {
    let ledger = try Ledger(path: CommandLine.arguments[2])
    _ = try await ledger.createRepository(ref, context: Fixtures.context)
    FileHandle.standardOutput.write(Data("ready\n".utf8))
    var round = 0
    while true {
        _ = try await push(ledger, count: 6_400, writers: 64, offset: 10_000_000 + round * 6_400)
        round += 1
    }
}

// MARK: appends

let rounds = 3
if wanted("append") {
    var single: [Double] = []
    var ours: [Double] = []
    var sqlite: [Double] = []
    var ratios: [Double] = []
    let groupCount = quick ? 2_000 : 20_000
    for round in 0..<rounds {
        let (ledger, done) = try await freshStore()
        single.append(try await push(ledger, count: quick ? 100 : 500, writers: 1))
        done()
        // Ours and SQLite alternate which goes first.
        var pair: (ours: Double, sqlite: Double) = (0, 0)
        for turn in 0..<2 {
            if (turn == 0) == (round % 2 == 0) {
                let (ledger, done) = try await freshStore()
                pair.ours = try await push(ledger, count: groupCount, writers: 64)
                done()
            } else {
                pair.sqlite = try SQLiteAppendPeer.run(count: groupCount)
            }
        }
        ours.append(pair.ours)
        sqlite.append(pair.sqlite)
        ratios.append(pair.ours / pair.sqlite)
        say("append round \(round + 1): one command a commit \(Int(single.last!))/s; 64 writers \(Int(pair.ours))/s, SQLite \(Int(pair.sqlite))/s")
    }
    report("append_single_per_s", median(single), atLeast: 1_000)
    report("group_commit_64_per_s", median(ours), atLeast: 20_000)
    report("group_commit_vs_sqlite_x", median(ratios), atLeast: 1.5)
}

// MARK: verify, rebuild and recovery at 1M events

let historyEvents = quick ? 20_000 : 1_000_000
let history = wanted("verify") || wanted("rebuild") || wanted("recovery") ? try await Fixtures.historyStore(events: historyEvents) : ""
if wanted("verify") {
    var options = Ledger.Options()
    options.readOnly = true
    let ledger = try Ledger(path: history, options: options)
    var rates: [Double] = []
    for _ in 0..<2 {
        let (verified, time) = try seconds { try ledger.verify() }
        precondition(verified.isValid, "the fixture does not verify: \(verified.problems)")
        rates.append(Double(verified.eventsVerified) / time)
    }
    ledger.close()
    say("verify: \(rates.map { Int($0) }) events/s")
    report("verify_1m_events_per_s", median(rates), atLeast: 1_000_000)
}
if wanted("rebuild") {
    let (path, done) = try copy(history)
    defer { done() }
    let ledger = try Ledger(path: path)
    let head = try ledger.headSeq()
    var rates: [Double] = []
    for _ in 0..<2 {
        let start = ContinuousClock.now
        _ = try await ledger.rebuild()
        rates.append(Double(head) / ((ContinuousClock.now - start) / .seconds(1)))
    }
    ledger.close()
    say("rebuild: \(rates.map { Int($0) }) events/s")
    report("rebuild_1m_events_per_s", median(rates), atLeast: 500_000)
}
if wanted("recovery") {
    var times: [Double] = []
    for _ in 0..<2 {
        let (path, done) = try copy(history)
        defer { done() }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        child.arguments = ["recovery-writer", path]
        let output = Pipe()
        child.standardOutput = output
        try child.run()
        _ = output.fileHandleForReading.availableData  // "ready"
        try await Task.sleep(for: .seconds(3))
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        var options = Ledger.Options()
        options.onRecovery = { notice in say("recovery: \(notice)") }
        let (ledger, time) = try seconds { try Ledger(path: path, options: options) }
        say("recovery after kill -9 of 64 writers on a \(historyEvents)-event log: opened at seq \(try ledger.headSeq()) in \(time) s")
        ledger.close()
        times.append(time)
    }
    report("recovery_after_kill_s", median(times), atMost: 1)
}

// MARK: time travel

if wanted("time-travel") {
    // Two phases, each querying both logs in one loop, alternating, so the machine's noise falls
    // on both: first one of the first few repositories, which both fixtures hold alike (the
    // growth goal: what differs is the log's length, not how many repositories the caches must
    // hold), then any repository (the latency goals, at 1M).
    let sizes = quick ? [10_000, 20_000] : [100_000, 1_000_000]
    var options = Ledger.Options()
    options.readOnly = true
    var ledgers: [Ledger] = []
    for events in sizes { ledgers.append(try Ledger(path: try await Fixtures.historyStore(events: events), options: options)) }
    let common = Fixtures.historyRepositories(events: sizes[0])
    var random = SystemRandomNumberGenerator()
    /// Latencies in ms per ledger, for states of a random repository among the first `pool(i)`.
    func measure(_ pool: (Int) -> Int) throws -> [[Double]] {
        var latencies = [[Double]](repeating: [], count: sizes.count)
        for query in 0..<(quick ? 100 : 1_000) {
            for (i, ledger) in ledgers.enumerated() {
                let repositories = UInt64(Fixtures.historyRepositories(events: sizes[i]))
                let seq = repositories + 1 + UInt64.random(in: 0..<(try ledger.headSeq() - repositories), using: &random)
                let repository = try Fixtures.historyRepository(Int.random(in: 0..<pool(i), using: &random))
                let (_, time) = try seconds { try ledger.state(at: .seq(seq), repository: repository) }
                if query >= 20 { latencies[i].append(time * 1000) }  // after a warm-up
            }
        }
        return latencies
    }
    let same = try measure { _ in common }
    let any = try measure { Fixtures.historyRepositories(events: sizes[$0]) }
    for ledger in ledgers { ledger.close() }
    for (i, events) in sizes.enumerated() {
        say("time travel at \(events) events: one of the first \(common) repositories p50 \(median(same[i])) ms, "
            + "p99 \(percentile(same[i], 0.99)) ms; any of \(Fixtures.historyRepositories(events: events)): "
            + "p50 \(median(any[i])) ms, p99 \(percentile(any[i], 0.99)) ms")
    }
    report("time_travel_p50_ms_1m", median(any[1]), atMost: 1)
    report("time_travel_p99_ms_1m", percentile(any[1], 0.99), atMost: 5)
    report("time_travel_growth_pct", 100 * median(same[1]) / median(same[0]) - 100, atMost: 0)
}

// MARK: paging

if wanted("paging") {
    let entries = quick ? 10_000 : 1_000_000
    var options = Ledger.Options()
    options.readOnly = true
    let ledger = try Ledger(path: try await Fixtures.pagingStore(entries: entries), options: options)
    let sqlite = try await SQLitePeer.database(entries: entries)
    var rawRatios: [Double] = []
    var sqliteRatios: [Double] = []
    for round in 0..<5 {
        var rates: (ours: Double, raw: Double, oursActive: Double, oursRead: Double, sqlite: Double) = (0, 0, 0, 0, 0)
        for turn in 0..<2 {
            if (turn == 0) == (round % 2 == 0) {
                let (scan, time) = try seconds { try ledger.rawListingScan(Fixtures.pagingRepository) }
                rates.raw = Double(scan.keys) / time
                let (walked, sqliteTime) = try seconds { try SQLitePeer.walk(sqlite, pageSize: 1000) }
                rates.sqlite = Double(walked.entries) / sqliteTime
            } else {
                let (all, time) = try seconds { try walkListImages(ledger, pageSize: 1000, filter: ImageFilter(imageStatus: .any)) }
                rates.ours = Double(all.entries) / time
                let (active, activeTime) = try seconds { try walkListImages(ledger, pageSize: 1000, filter: ImageFilter()) }
                rates.oursActive = Double(active.entries) / activeTime
                let (read, readTime) = try seconds { try walkListImages(ledger, pageSize: 1000, filter: ImageFilter(), readingEach: true) }
                rates.oursRead = Double(read.entries) / readTime
            }
        }
        rawRatios.append(100 * rates.ours / rates.raw)
        sqliteRatios.append(rates.oursActive / rates.sqlite)
        say("paging round \(round + 1): \(Int(rates.ours)) entries/s, raw scan \(Int(rates.raw)); active only \(Int(rates.oursActive)), "
            + "each read as an ImageEntry \(Int(rates.oursRead)), SQLite \(Int(rates.sqlite))")
    }
    ledger.close()
    report("paging_vs_raw_pct", median(rawRatios), atLeast: 50)
    report("paging_vs_sqlite_x", median(sqliteRatios), atLeast: 10)
}

// MARK: the server's memory

/// The `RssAnon` of process `pid` (resident memory outside mapped files, so outside LMDB's map), MiB.
func anonymousResidentMiB(_ pid: Int32) throws -> Double {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("RssAnon:") }),
          let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { throw CocoaError(.fileReadCorruptFile) }
    return kib / 1024
}

if wanted("memory"), let server = ProcessInfo.processInfo.environment["REGLEDGER_BIN"] {
    let entries = quick ? 10_000 : 1_000_000
    let data = try await Fixtures.pagingStore(entries: entries)
    let (key, secret) = ("AKIABENCHCHECK000000", "bench-check-secret-0123456789abcdefghijkl")
    let config = NSTemporaryDirectory() + "bench-check-config-\(UUID().uuidString).json"
    try Data(#"{"credentials": [{"accessKeyId": "\#(key)", "secretAccessKey": "\#(secret)", "principal": "bench"}]}"#.utf8)
        .write(to: URL(fileURLWithPath: config))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: server)
    process.arguments = ["serve", "--data", data, "--port", "0", "--config", config]
    process.environment = ProcessInfo.processInfo.environment.merging(["LOG_LEVEL": "warning"]) { _, new in new }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    var port: Int?
    var pending = ""
    while port == nil, let chunk = try output.fileHandleForReading.read(upToCount: 1), !chunk.isEmpty {
        pending += String(decoding: chunk, as: UTF8.self)
        if let range = pending.range(of: "http://127.0.0.1:"), let end = pending[range.upperBound...].firstIndex(where: { !$0.isNumber }) {
            port = Int(pending[range.upperBound..<end])
        }
    }
    guard let port else { fatalError("regledger serve did not start") }
    // ListImages pages under load, as http_paging.py drives it, then the server's memory.
    let client = Process()
    client.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        .appendingPathComponent("http-paging")
    client.arguments = ["--endpoint", "http://127.0.0.1:\(port)", "--access-key", key, "--secret", secret, "--seconds", "5",
                        "--connections", "4", "--max-results", "1000"]
    client.standardOutput = FileHandle.nullDevice
    try client.run()
    client.waitUntilExit()
    let rss = try anonymousResidentMiB(process.processIdentifier)
    process.terminate()
    process.waitUntilExit()
    try? FileManager.default.removeItem(atPath: config)
    say("server RssAnon after 5 s of ListImages pages over \(entries) entries: \(rss) MiB")
    report("server_rss_mb_1m", rss, atMost: 100)
} else if wanted("memory") {
    say("server_rss_mb_1m: set REGLEDGER_BIN to a release `regledger` (make bench-check does)")
}

// MARK: cluster mode (PostgreSQL primary and synchronous standby on this machine)

if wanted("cluster") {
    let bench = try await ClusterBench()
    _ = try await bench.round(count: quick ? 500 : 2_000)  // warm-up: connections, caches
    var rates: [Double] = []
    var lags: [Double] = []
    for round in 0..<rounds {
        let result = try await bench.round(count: quick ? 2_000 : 20_000)
        rates.append(result.perSecond)
        lags += result.lagsMs
        say("cluster round \(round + 1): 64 writers \(Int(result.perSecond))/s in groups of \(Int(result.commandsPerGroup)); follower lag p50 \(median(result.lagsMs)) ms, "
            + "p99 \(percentile(result.lagsMs, 0.99)) ms, max \(result.lagsMs.max() ?? 0) ms")
    }
    await bench.close()
    report("cluster_group_commit_per_s", median(rates), atLeast: 5_000)
    report("cluster_follower_lag_p99_ms", percentile(lags, 0.99), atMost: 100)
}

// MARK: registry API blobs, and HTTP at the server's own ceiling (Python drivers beside this package)

/// Runs `Benchmarks/<script>` (it prints its goal lines itself) with `environment` added.
func runDriver(_ script: String, _ environment: [String: String]) throws {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(script).path
    let python = Process()
    python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    python.arguments = ["python3", path]
    python.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    try python.run()
    python.waitUntilExit()
}

if wanted("registry") || wanted("http") {
    if ProcessInfo.processInfo.environment["REGLEDGER_BIN"] == nil {
        say("registry_*, http_*: set REGLEDGER_BIN to a release `regledger` (make bench-check does)")
    } else {
        // 256 MiB push and pull with curl against dd conv=fdatasync and docker-registry.
        if wanted("registry") { try runDriver("registry_blobs.py", quick ? ["REGLEDGER_BLOB_MB": "16", "REGLEDGER_BLOB_ROUNDS": "1"] : [:]) }
        let client = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("http-paging").path
        if wanted("http") { try runDriver("http_ceiling.py", ["HTTP_PAGING_BIN": client] .merging(quick ? ["REGLEDGER_HTTP_QUICK": "1"] : [:]) { a, _ in a }) }
    }
}
