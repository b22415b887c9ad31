// The cluster goals of SPEC §5 (§7): 64 writers through one node whose log is PostgreSQL with a
// synchronous standby, both durable and on this machine, and a second node following that log.
import BenchSupport
import Foundation
import Logging
import PostgresFixture
@_spi(Cluster) import RegistryLedger
@_spi(Cluster) import RegistryLedgerPostgres

/// One round's figures: the writer node's commands/s and, for every acknowledged write, how long
/// after its acknowledgement the follower had applied it (ms).
struct ClusterRound {
    let perSecond: Double
    let lagsMs: [Double]
    /// Commands per group the writer node committed (appended to PostgreSQL in one statement).
    let commandsPerGroup: Double
}

/// A writer node and a follower node over one primary with a synchronous standby; each round
/// pushes `count` images from 64 tasks into the writer and watches the follower apply them.
final class ClusterBench {
    let primary: PostgresServer
    let standby: PostgresServer
    let logs: [PostgresLog]
    let writer: Ledger
    let follower: Ledger
    let nodes: [Task<Void, Never>]
    let paths: [String]
    let ref = try! RepositoryRef("bench/cluster")
    private var pushed = 0
    private let groups = Counter()

    init() async throws {
        primary = try PostgresServer.start(durable: true, synchronousStandby: true)
        standby = try primary.startSynchronousStandby()
        logs = [try PostgresLog(url: primary.url), try PostgresLog(url: primary.url)]
        paths = (0..<2).map { _ in NSTemporaryDirectory() + "regledger-bench-cluster-\(UUID().uuidString)" }
        var ledgers: [Ledger] = []
        var tasks: [Task<Void, Never>] = []
        let logger = Logger(label: "bench-cluster")
        for (i, log) in logs.enumerated() {
            var options = Ledger.Options()
            options.sharedLog = log
            if i == 0 { options.onCommit = { [groups] commands in groups.add(commands) } }
            let ledger = try Ledger(path: paths[i], options: options)
            let node = ClusterNode(log: log, name: "bench-\(i)")
            node.advertise("http://127.0.0.1:\(i + 1)")
            ledgers.append(ledger)
            tasks.append(Task { await node.run(ledger: ledger, logger: logger) })
            // The first node takes the lease before the second starts looking.
            while i == 0, node.role != .writer { try await Task.sleep(for: .milliseconds(50)) }
        }
        (writer, follower, nodes) = (ledgers[0], ledgers[1], tasks)
        _ = try await writer.createRepository(ref, context: Fixtures.context)
    }

    /// Pushes `count` new images from `writers` concurrent tasks into the writer node. A monitor
    /// polls the follower's applied seq every millisecond; a write's lag is the time from its
    /// acknowledgement to the first poll that finds the follower at or past the writer's applied
    /// seq read right after the acknowledgement (at least the write's own seq, so an upper bound).
    func round(count: Int, writers: Int = 64) async throws -> ClusterRound {
        let offset = pushed
        pushed += count
        let manifests = (0..<count).map { Fixtures.manifest(20_000_000 + offset + $0) }
        let acks = Acknowledgements(count)
        let before = groups.value
        let monitor = Task.detached { [follower] in
            var timeline: [(seq: UInt64, at: ContinuousClock.Instant)] = []
            while !Task.isCancelled {
                let seq = try follower.appliedSeq()
                if seq != timeline.last?.seq { timeline.append((seq, .now)) }
                try? await Task.sleep(for: .milliseconds(1))
            }
            return timeline
        }
        let (writer, ref) = (self.writer, self.ref)
        let start = ContinuousClock.now
        try await Fixtures.concurrently(count, parallel: writers) { i in
            _ = try await writer.putImage(ref, manifest: manifests[i], tag: try Tag("c\(offset + i)"), context: Fixtures.context)
            acks.record(i, seq: try writer.appliedSeq(), at: .now)
        }
        let elapsed = (ContinuousClock.now - start) / .seconds(1)
        // Let the follower finish (at most 10 s), then read the timeline.
        let head = try writer.appliedSeq()
        let deadline = ContinuousClock.now + .seconds(10)
        while try follower.appliedSeq() < head, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(5))
        monitor.cancel()
        let timeline = try await monitor.value
        let lags = acks.all.map { ack -> Double in
            guard let applied = timeline.first(where: { $0.seq >= ack.seq }) else { return 10_000 }  // never: counted as 10 s
            return max(0, (applied.at - ack.at) / .milliseconds(1))
        }
        let after = groups.value
        return ClusterRound(perSecond: Double(count) / elapsed, lagsMs: lags,
                            commandsPerGroup: Double(after.commands - before.commands) / Double(max(1, after.groups - before.groups)))
    }

    func close() async {
        for node in nodes { node.cancel() }
        for node in nodes { await node.value }
        writer.close()
        follower.close()
        for log in logs { log.shutdown() }
        standby.stop()
        primary.stop()
        for path in paths { try? FileManager.default.removeItem(atPath: path) }
    }
}

/// Acknowledgements recorded by concurrent writers.
final class Acknowledgements: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var acks: [(seq: UInt64, at: ContinuousClock.Instant)]

    init(_ count: Int) { acks = Array(repeating: (0, .now), count: count) }

    func record(_ i: Int, seq: UInt64, at instant: ContinuousClock.Instant) { lock.withLock { acks[i] = (seq, instant) } }

    var all: [(seq: UInt64, at: ContinuousClock.Instant)] { lock.withLock { acks } }
}

/// Groups and commands the writer committed.
final class Counter: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var counts = (groups: 0, commands: 0)

    func add(_ commands: Int) { lock.withLock { counts = (counts.groups + 1, counts.commands + commands) } }

    var value: (groups: Int, commands: Int) { lock.withLock { counts } }
}
