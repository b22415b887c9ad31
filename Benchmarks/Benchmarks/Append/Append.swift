import Benchmark
import BenchSupport
import Foundation
import RegistryLedger

// Durable appends (fsync per commit): one command per commit, then group commit with 1, 8 and
// 64 concurrent writers, and 64 writers once more without fsync to separate the writer's own
// cost from the disk's. Each benchmark writes into a fresh store, deleted afterwards.

let commandsPerSecond = BenchmarkMetric.custom("commands/s", polarity: .prefersLarger, useScalingFactor: false)
let commandLatency = BenchmarkMetric.custom("command latency (µs)", polarity: .prefersSmaller, useScalingFactor: false)

/// A fresh store (durable unless told) with one repository; `next` numbers the pushed images.
final class AppendStore: @unchecked Sendable {
    let ledger: Ledger
    let path: String
    let ref = try! RepositoryRef("bench/append")
    private let lock = NSLock()
    private var counter = 0

    /// - Parameter policies: Quay policies to create in the repository's organization first.
    init(durable: Bool = true, policies: Int = 0) async throws {
        path = NSTemporaryDirectory() + "regledger-append-\(UUID().uuidString)"
        var options = Ledger.Options()
        options.durable = durable
        ledger = try Ledger(path: path, options: options)
        _ = try await ledger.createRepository(ref, context: Fixtures.context)
        let org = PolicyScope.organization(ref.registryId, "bench")
        try await Fixtures.concurrently(policies) { [ledger] i in
            _ = try await ledger.createPolicy(org, tagPattern: "p\(i)-[0-9]+", context: Fixtures.context)
        }
    }

    func next() -> Int { lock.withLock { counter += 1; return counter } }

    /// Pushes one new tagged image, durably.
    func push() async throws {
        let n = next()
        _ = try await ledger.putImage(ref, manifest: Fixtures.manifest(n), tag: try Tag("t\(n)"), context: Fixtures.context)
    }

    func close() {
        ledger.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}

let benchmarks: @Sendable () -> Void = {
    let slot = Slot<AppendStore>()
    Benchmark("Durable append, one command per commit",
              configuration: .init(metrics: [.wallClock, .throughput], timeUnits: .microseconds, warmupIterations: 10,
                                   maxDuration: .seconds(Fixtures.quick ? 2 : 10), maxIterations: 5_000)) { benchmark, store in
        for _ in benchmark.scaledIterations { try await store.push() }
    } setup: {
        slot.keep(try await AppendStore())
    } teardown: {
        slot.value?.close()
    }

    Benchmark("Push decided against 10,000 policies in its organization (not fsynced)",
              configuration: .init(metrics: [.wallClock, .throughput], timeUnits: .microseconds, warmupIterations: 10,
                                   maxDuration: .seconds(Fixtures.quick ? 2 : 5), maxIterations: 2_000)) { benchmark, store in
        for _ in benchmark.scaledIterations { try await store.push() }
    } setup: {
        slot.keep(try await AppendStore(durable: false, policies: Fixtures.quick ? 1_000 : 10_000))
    } teardown: {
        slot.value?.close()
    }

    // The last one without fsync: what the writer's CPU and page writes allow, apart from the disk.
    for (writers, durable) in [(1, true), (8, true), (64, true), (64, false)] {
        let perWriter = writers == 64 ? 50 : 200
        Benchmark("Group commit, \(writers) concurrent writers\(durable ? "" : ", not fsynced") (\(writers * perWriter) commands an iteration)",
                  configuration: .init(metrics: [.wallClock, commandsPerSecond, commandLatency], timeUnits: .milliseconds,
                                       warmupIterations: 1, maxDuration: .seconds(Fixtures.quick ? 2 : 10), maxIterations: 50)) { benchmark, store in
            let start = ContinuousClock.now
            let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
                for _ in 0..<writers {
                    group.addTask {
                        var own: [Duration] = []
                        for _ in 0..<perWriter {
                            let t = ContinuousClock.now
                            try await store.push()
                            own.append(ContinuousClock.now - t)
                        }
                        return own
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            benchmark.measurement(commandsPerSecond, Int(Double(writers * perWriter) / seconds))
            for latency in latencies { benchmark.measurement(commandLatency, Int(latency / .microseconds(1))) }
        } setup: {
            slot.keep(try await AppendStore(durable: durable))
        } teardown: {
            slot.value?.close()
        }
    }
}
