import Benchmark
import BenchSupport
import Peers
import Foundation
import GRDB
@_spi(Benchmarks) import RegistryLedger

// In-process ListImages paging over repositories of 10k, 100k and 1M entries, beside a raw LMDB
// cursor scan over the same keys and SQLite keyset paging over the same entries, in one run.
// One iteration walks the whole repository; `entries/s` and `pages/s` are per walk.

let sizes = Fixtures.quick ? [10_000] : [10_000, 100_000, 1_000_000]

let entriesPerSecond = BenchmarkMetric.custom("entries/s", polarity: .prefersLarger, useScalingFactor: false)
let pagesPerSecond = BenchmarkMetric.custom("pages/s", polarity: .prefersLarger, useScalingFactor: false)

/// One ledger per fixture for the whole process (a store opens once per process).
final class Stores: @unchecked Sendable {
    static let shared = Stores()
    private let lock = NSLock()
    private var ledgers: [Int: Ledger] = [:]

    func ledger(entries: Int) async throws -> Ledger {
        if let open = lock.withLock({ ledgers[entries] }) { return open }
        let path = try await Fixtures.pagingStore(entries: entries)
        var options = Ledger.Options()
        options.readOnly = true
        let ledger = try Ledger(path: path, options: options)
        lock.withLock { ledgers[entries] = ledger }
        return ledger
    }
}

/// Times `body` (which returns entries and pages seen) and records the rates.
func measureWalk(_ benchmark: Benchmark, _ body: () throws -> (entries: Int, pages: Int)) throws {
    let start = ContinuousClock.now
    benchmark.startMeasurement()
    let (entries, pages) = try body()
    benchmark.stopMeasurement()
    let seconds = (ContinuousClock.now - start) / .seconds(1)
    benchmark.measurement(entriesPerSecond, Int(Double(entries) / seconds))
    benchmark.measurement(pagesPerSecond, Int(Double(pages) / seconds))
    blackHole(entries)
}

let ratioPercent = BenchmarkMetric.custom("ours / raw scan (%)", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    let ratioConfiguration = Benchmark.Configuration(
        metrics: [ratioPercent], timeUnits: .milliseconds, warmupIterations: 1, maxDuration: .seconds(Fixtures.quick ? 2 : 10),
        maxIterations: 20)
    let walkConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, entriesPerSecond, pagesPerSecond],
        timeUnits: .milliseconds, warmupIterations: 1, maxDuration: .seconds(Fixtures.quick ? 2 : 10), maxIterations: 30)
    for size in sizes {
        for pageSize in [100, 1000] {
            Benchmark("ListImages \(size) entries, maxResults \(pageSize)", configuration: walkConfiguration) { benchmark in
                let ledger = try await Stores.shared.ledger(entries: size)
                try measureWalk(benchmark) { try walkListImages(ledger, pageSize: pageSize, filter: ImageFilter()) }
            }
        }
        Benchmark("ListImages \(size) entries, maxResults 1000, tagStatus TAGGED + imageStatus ANY", configuration: walkConfiguration) { benchmark in
            let ledger = try await Stores.shared.ledger(entries: size)
            try measureWalk(benchmark) {
                try walkListImages(ledger, pageSize: 1000, filter: ImageFilter(tagStatus: .tagged, imageStatus: .any))
            }
        }
        Benchmark("Raw LMDB cursor scan \(size) entries", configuration: walkConfiguration) { benchmark in
            let ledger = try await Stores.shared.ledger(entries: size)
            try measureWalk(benchmark) {
                let scan = try ledger.rawListingScan(Fixtures.pagingRepository)
                blackHole(scan.checksum)
                return (scan.keys, 1)
            }
        }
        // The goal's ratio measured in one iteration: a raw scan and a ListImages walk back to back,
        // so both see the same state of a noisy machine (separate suites minutes apart do not).
        Benchmark("ListImages / raw scan, \(size) entries, maxResults 1000", configuration: ratioConfiguration) { benchmark in
            let ledger = try await Stores.shared.ledger(entries: size)
            for iteration in benchmark.scaledIterations {
                func timed<R>(_ body: () throws -> R) rethrows -> (R, Double) {
                    let start = ContinuousClock.now
                    let result = try body()
                    return (result, (ContinuousClock.now - start) / .seconds(1))
                }
                // Alternate which goes first, so that neither always finds the other's pages cached.
                let rawFirst = iteration % 2 == 0
                var raw: (keys: Int, seconds: Double) = (0, 0), ours: (entries: Int, seconds: Double) = (0, 0)
                for turn in 0..<2 {
                    if (turn == 0) == rawFirst {
                        let (scan, seconds) = try timed { try ledger.rawListingScan(Fixtures.pagingRepository) }
                        raw = (scan.keys, seconds)
                    } else {
                        let (walked, seconds) = try timed { try walkListImages(ledger, pageSize: 1000, filter: ImageFilter(imageStatus: .any)) }
                        ours = (walked.entries, seconds)
                    }
                }
                // Entries per second, ours over raw, in percent (both walk every listing entry).
                benchmark.measurement(ratioPercent, Int(100 * (Double(ours.entries) / ours.seconds) / (Double(raw.keys) / raw.seconds)))
            }
        }
        Benchmark("SQLite keyset paging \(size) entries, maxResults 1000", configuration: walkConfiguration) { benchmark in
            let sqlite = try await SQLitePeer.database(entries: size)
            try measureWalk(benchmark) { try SQLitePeer.walk(sqlite, pageSize: 1000) }
        }
    }
}
