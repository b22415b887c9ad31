import Prometheus
import RegistryLedger
import Synchronization

/// The server's Prometheus metrics: requests and latencies per API and operation, the store's
/// durable commits and group-commit sizes, and the log head, exposed at `GET /metrics`.
public final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let commits: Counter
    private let committedCommands: Counter
    private let batchSizes: ValueHistogram
    private let headSeq: Gauge
    private let readerSlotsInUse: Gauge
    private let readerSlotCapacity: Gauge
    private let staleReadersReleased: Counter
    /// The store's released-slot total at the last exposition, to turn it into counter increments.
    private let staleReleasedSeen = Mutex(0)
    private let clusterWriter: Gauge
    private let clusterLag: Gauge
    private let leaseChanges: Counter
    private let leaseChangesSeen = Mutex(0)
    /// Each (API, operation, status)'s request counter and latency histogram, made once: the
    /// registry's own lookup builds its names and label lists again on every request.
    private let requestMetrics = Mutex<[RequestKey: (count: Counter, latency: DurationHistogram)]>([:])

    private struct RequestKey: Hashable {
        let api: String
        let operation: String
        let status: Int
    }

    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
    ]

    public init() {
        commits = registry.makeCounter(descriptor: .init(namespace: "regledger", metricName: "commits", unitName: "total",
                                                         helpText: "Durable commits of the store's writer."))
        committedCommands = registry.makeCounter(descriptor: .init(namespace: "regledger", metricName: "committed_commands", unitName: "total",
                                                                   helpText: "Commands answered by durable commits."))
        batchSizes = registry.makeValueHistogram(
            descriptor: .init(namespace: "regledger", metricName: "commit_batch", unitName: "commands",
                              helpText: "Commands per group commit."),
            labels: [], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
        headSeq = registry.makeGauge(descriptor: .init(namespace: "regledger", metricName: "log_head", unitName: "seq",
                                                       helpText: "The seq of the last event in the log."))
        readerSlotsInUse = registry.makeGauge(descriptor: .init(namespace: "regledger", metricName: "lmdb_reader_slots_in_use",
                                                                helpText: "LMDB reader slots held now, by every process that has the store open."))
        readerSlotCapacity = registry.makeGauge(descriptor: .init(namespace: "regledger", metricName: "lmdb_reader_slots",
                                                                  helpText: "The size of the store's LMDB reader table."))
        clusterWriter = registry.makeGauge(descriptor: .init(namespace: "regledger", metricName: "cluster_writer",
                                                             helpText: "1 while this cluster node holds the writer lease, else 0."))
        clusterLag = registry.makeGauge(descriptor: .init(namespace: "regledger", metricName: "cluster_replication_lag", unitName: "records",
                                                          helpText: "Records of the shared log this node's state has not applied yet."))
        leaseChanges = registry.makeCounter(descriptor: .init(namespace: "regledger", metricName: "cluster_lease_changes", unitName: "total",
                                                              helpText: "Times this node took or lost the writer lease."))
        staleReadersReleased = registry.makeCounter(
            descriptor: .init(namespace: "regledger", metricName: "lmdb_stale_readers_released", unitName: "total",
                              helpText: "Reader slots of processes that died inside a read transaction, freed by this server."))
    }

    /// Counts one answered request and its latency.
    func recordRequest(api: String, operation: String, status: Int, duration: Duration) {
        let key = RequestKey(api: api, operation: operation, status: status)
        let metrics = requestMetrics.withLock { known in
            if let found = known[key] { return found }
            let made = (count: registry.makeCounter(descriptor: .init(namespace: "regledger", metricName: "http_requests", unitName: "total",
                                                                     helpText: "HTTP requests answered, by API, operation and status."),
                                                   labels: [("api", api), ("operation", operation), ("status", String(status))]),
                        latency: registry.makeDurationHistogram(descriptor: .init(namespace: "regledger", metricName: "http_request_duration",
                                                                                  unitName: "seconds",
                                                                                  helpText: "Time to answer HTTP requests, by API and operation."),
                                                                labels: [("api", api), ("operation", operation)], buckets: Self.latencyBuckets))
            known[key] = made
            return made
        }
        metrics.count.increment()
        metrics.latency.record(duration)
    }

    /// Records one durable commit of `commands` commands (the store's commit observer).
    public func recordCommit(commands: Int) {
        commits.increment()
        committedCommands.increment(by: Int64(commands))
        batchSizes.record(Double(commands))
    }

    /// The exposition text, with the log head and the reader table read now.
    func exposition(headSeq seq: UInt64, readerSlots: ReaderSlotStats, appliedSeq: UInt64, role: any NodeRole) -> [UInt8] {
        headSeq.set(Int64(clamping: seq))
        if let cluster = role.cluster {
            clusterWriter.set(Int64(role.acceptsWrites ? 1 : 0))
            clusterLag.set(Int64(clamping: cluster.sharedHead > appliedSeq ? cluster.sharedHead - appliedSeq : 0))
            let changes = leaseChangesSeen.withLock { seen in
                defer { seen = max(seen, cluster.leaseChanges) }
                return cluster.leaseChanges - seen
            }
            if changes > 0 { leaseChanges.increment(by: Int64(changes)) }
        }
        readerSlotsInUse.set(Int64(readerSlots.inUse))
        readerSlotCapacity.set(Int64(readerSlots.capacity))
        let released = staleReleasedSeen.withLock { seen in
            defer { seen = max(seen, readerSlots.staleReleased) }
            return readerSlots.staleReleased - seen
        }
        if released > 0 { staleReadersReleased.increment(by: Int64(released)) }
        return registry.emitToBuffer()
    }
}
