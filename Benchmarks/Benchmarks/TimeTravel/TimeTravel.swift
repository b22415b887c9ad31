import Benchmark
import BenchSupport
import Foundation
import RegistryLedger

// State of one repository (2,500 pushes, so ~2,250 tags at the end) at a random point of a
// 100k- and a 1M-event log: the cost should not grow with the log. Tag history and diff too.
// Random points come from a fixed seed, so every run asks the same questions.

let sizes = Fixtures.quick ? [20_000] : [100_000, 1_000_000]

/// An open history fixture and the fixed-seed questions asked of it.
final class History: @unchecked Sendable {
    let ledger: Ledger
    let repositories: Int
    let head: UInt64
    var random = SplitMix(seed: 42)

    init(events: Int) async throws {
        var options = Ledger.Options()
        options.readOnly = true
        ledger = try Ledger(path: try await Fixtures.historyStore(events: events), options: options)
        repositories = Fixtures.historyRepositories(events: events)
        head = try ledger.headSeq()
    }

    func point() -> UInt64 { UInt64(repositories) + 1 + random.next() % (head - UInt64(repositories)) }
    func repository() -> RepositoryRef { try! Fixtures.historyRepository(Int(random.next() % UInt64(repositories))) }
}

/// A small fixed-seed generator (the same sequence on every run).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(metrics: [.wallClock], timeUnits: .microseconds, warmupIterations: 5,
                                                maxDuration: .seconds(Fixtures.quick ? 2 : 10), maxIterations: 1_000)
    for events in sizes {
        let slot = Slot<History>()
        Benchmark("State of one repository at a random point, \(events)-event log", configuration: configuration) { benchmark, history in
            for _ in benchmark.scaledIterations {
                let (seq, ref) = (history.point(), history.repository())
                benchmark.startMeasurement()
                blackHole(try history.ledger.state(at: .seq(seq), repository: ref))
                benchmark.stopMeasurement()
            }
        } setup: {
            slot.keep(try await History(events: events))
        } teardown: {
            slot.value?.ledger.close()
        }

        Benchmark("Tag history of a random tag, \(events)-event log", configuration: configuration) { benchmark, history in
            for _ in benchmark.scaledIterations {
                let ref = history.repository()
                let tag = "t\(history.random.next() % 2_500)"
                benchmark.startMeasurement()
                blackHole(try history.ledger.tagHistory(ref, tag: tag))
                benchmark.stopMeasurement()
            }
        } setup: {
            slot.keep(try await History(events: events))
        } teardown: {
            slot.value?.ledger.close()
        }

        Benchmark("Diff over 1,000 events at a random point, \(events)-event log", configuration: configuration) { benchmark, history in
            for _ in benchmark.scaledIterations {
                let from = min(history.point(), history.head - 1_000)
                benchmark.startMeasurement()
                blackHole(try history.ledger.diff(from: .seq(from), to: .seq(from + 1_000)))
                benchmark.stopMeasurement()
            }
        } setup: {
            slot.keep(try await History(events: events))
        } teardown: {
            slot.value?.ledger.close()
        }
    }
}
