import Benchmark
import BenchSupport
import Foundation
import RegistryLedger

// Rebuild: replay the whole log, verifying every record's hash and chain link, into fresh
// projections (and history indexes), switched in one commit. At 100k and 1M events.

let eventsPerSecond = BenchmarkMetric.custom("events/s", polarity: .prefersLarger, useScalingFactor: false)

let sizes = Fixtures.quick ? [20_000] : [100_000, 1_000_000]

let benchmarks: @Sendable () -> Void = {
    for events in sizes {
        let slot = Slot<Ledger>()
        Benchmark("Rebuild with hash verification, \(events) events",
                  configuration: .init(metrics: [.wallClock, eventsPerSecond, .peakMemoryResident], timeUnits: .milliseconds,
                                       warmupIterations: 0, maxDuration: .seconds(Fixtures.quick ? 2 : 30), maxIterations: 5)) { benchmark, ledger in
            let head = try ledger.headSeq()
            let start = ContinuousClock.now
            benchmark.startMeasurement()
            blackHole(try await ledger.rebuild())
            benchmark.stopMeasurement()
            benchmark.measurement(eventsPerSecond, Int(Double(head) / ((ContinuousClock.now - start) / .seconds(1))))
        } setup: {
            slot.keep(try Ledger(path: try await Fixtures.historyStore(events: events)))
        } teardown: {
            slot.value?.close()
        }
    }
}
