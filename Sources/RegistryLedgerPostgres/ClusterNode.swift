import Foundation
import Logging
import PostgresNIO
@_spi(Cluster) import RegistryLedger

/// One node of a cluster (SPEC §7): it holds or waits for the writer lease — a session-level
/// advisory lock in PostgreSQL, released by the database when the holder's session ends, so a
/// dead writer's lease moves on within a polling interval — and follows the shared log into its
/// store, on each notification of an append and by polling.
///
/// A node acts as writer only while it holds the lease; the shared log's compare-and-append
/// fences a stale writer in any case.
@_spi(Cluster) public final class ClusterNode: @unchecked Sendable {  // state is guarded by `lock`
    public enum Role: String, Sendable { case writer, follower }

    public let name: String
    private let log: PostgresLog
    private let lock = NSLock()
    private var _role = Role.follower
    private var _leaseChanges = 0
    private var _address: String?
    private var _writerAddress: String?
    private var _sharedHead: UInt64 = 0
    private var _lastContact = ContinuousClock.now
    private var _onTakingLease: (@Sendable () -> Void)?

    /// The advisory lock key of the writer lease.
    static let leaseKey: Int64 = 0x7265_676C_6467_7201

    public init(log: PostgresLog, name: String) {
        self.log = log
        self.name = name
    }

    /// Whether this node is the writer now.
    public var role: Role { lock.withLock { _role } }
    /// How many times this node took or lost the lease.
    public var leaseChanges: Int { lock.withLock { _leaseChanges } }
    /// The shared log's head seq when the node last looked (each polling interval).
    public var sharedHead: UInt64 { lock.withLock { _sharedHead } }
    /// Whether the node has not reached the cluster's database for a while (3 polling
    /// intervals): it serves reads from state that may be behind.
    public var isStale: Bool { lock.withLock { ContinuousClock.now - _lastContact > .seconds(3) } }
    /// Where the writer takes forwarded writes (`http://HOST:PORT`), as it published it; nil
    /// while unknown, and when it is this node's own (a writer that lost its lease must not send
    /// writes to itself).
    public var writerAddress: String? { lock.withLock { _writerAddress == _address ? nil : _writerAddress } }

    /// Runs each time this node takes the writer lease, once it has followed the log to its
    /// head (the server resumes the work only the writer does, such as completing restores).
    public func onTakingLease(_ body: @escaping @Sendable () -> Void) { lock.withLock { _onTakingLease = body } }

    /// Where this node listens (`http://HOST:PORT`): it publishes it when it holds the lease.
    /// The node does not take the lease before it knows it.
    public func advertise(_ address: String) { lock.withLock { _address = address } }

    /// Follows the log until this node's state has applied `seq` (a write forwarded to the
    /// writer: its answer must show on this node), for at most `timeout`.
    public func waitUntilApplied(_ seq: UInt64, ledger: Ledger, timeout: Duration = .seconds(5)) async {
        let deadline = ContinuousClock.now + timeout
        while (try? ledger.appliedSeq()) ?? 0 < seq, ContinuousClock.now < deadline {
            _ = try? await ledger.followSharedLog()
            if (try? ledger.appliedSeq()) ?? 0 < seq { try? await Task.sleep(for: .milliseconds(10)) }
        }
    }

    private func set(_ role: Role) {
        lock.withLock {
            if _role != role { _leaseChanges += 1 }
            _role = role
        }
    }

    /// Runs until cancelled: every `interval` the node checks or tries the lease and (as a
    /// follower) follows the log; it also follows at once on each append's notification.
    public func run(ledger: Ledger, logger: Logger, interval: Duration = .seconds(1)) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.holdLease(ledger: ledger, logger: logger, interval: interval) }
            group.addTask { await self.listen(ledger: ledger, logger: logger, retry: interval) }
            group.addTask {
                while !Task.isCancelled {
                    if self.role == .follower { await self.follow(ledger, logger) }
                    try? await Task.sleep(for: interval)
                }
            }
            await group.waitForAll()
        }
        set(.follower)
    }

    private func follow(_ ledger: Ledger, _ logger: Logger) async {
        do { try await ledger.followSharedLog() } catch {
            logger.warning("cannot follow the cluster's log now; retrying", metadata: ["reason": "\(error)"])
        }
    }

    /// Takes the lease when it is free (after following the log to its head) and keeps checking
    /// the session that holds it; a lost session is a lost lease. While the database cannot be
    /// reached it retries with backoff (`interval`, doubling, at most 4 × `interval`), saying so.
    private func holdLease(ledger: Ledger, logger: Logger, interval: Duration) async {
        var session: PostgresConnection?
        var failures = 0
        while !Task.isCancelled {
            var wait = interval
            do {
                let connection: PostgresConnection
                if let session { connection = session } else { connection = try await log.openConnection() }
                session = connection
                if role == .writer {
                    _ = try await PostgresLog.rows("SELECT 1", on: connection, logger: logger)
                } else if let address = lock.withLock({ _address }) {
                    let rows = try await PostgresLog.rows("SELECT pg_try_advisory_lock(\(Self.leaseKey))", on: connection, logger: logger)
                    if try rows.first?.decode(Bool.self) == true {
                        try await ledger.followSharedLog()
                        // Published on the lease's own session: only the holder writes the row.
                        _ = try await PostgresLog.rows("""
                            INSERT INTO regledger_writer (singleton, node, address, since) VALUES (true, \(name), \(address), now())
                            ON CONFLICT (singleton) DO UPDATE SET node = EXCLUDED.node, address = EXCLUDED.address, since = now()
                            """, on: connection, logger: logger)
                        set(.writer)
                        lock.withLock { _onTakingLease }?()
                        logger.notice("took the writer lease", metadata: ["node": "\(name)", "appliedSeq": "\((try? ledger.appliedSeq()) ?? 0)"])
                    }
                }
                let writer = try await PostgresLog.rows("SELECT address FROM regledger_writer", on: connection, logger: logger)
                let published = try writer.first?.decode(String.self)
                let head = try await PostgresLog.rows("SELECT coalesce(max(seq), 0) FROM regledger_log", on: connection, logger: logger)
                let headSeq = UInt64(try head.first?.decode(Int64.self) ?? 0)
                lock.withLock { (_writerAddress, _sharedHead, _lastContact) = (published, headSeq, ContinuousClock.now) }
                if failures > 0 {
                    logger.notice("reached the cluster's database again", metadata: ["failedAttempts": "\(failures)"])
                    failures = 0
                }
            } catch {
                if role == .writer { logger.error("lost the writer lease: its session failed", metadata: ["reason": "\(error)"]) }
                failures += 1
                wait = Self.retryDelay(afterFailures: failures, interval: interval)
                logger.warning("cannot reach the cluster's database; reads are served from this node's state, writes get 503",
                               metadata: ["reason": "\(error)", "attempt": "\(failures)", "retryingInSeconds": "\(wait.components.seconds)"])
                set(.follower)
                lock.withLock { _writerAddress = nil }
                try? await session?.close()
                session = nil
            }
            try? await Task.sleep(for: wait)
        }
        try? await session?.close()
    }

    /// How long to wait before the next attempt after `failures` failed ones in a row:
    /// `interval`, then doubling, at most 4 × `interval`.
    static func retryDelay(afterFailures failures: Int, interval: Duration) -> Duration {
        interval * (1 << min(max(failures, 1) - 1, 2))
    }

    /// Follows the log on each notification of an append (LISTEN works on the primary only;
    /// polling covers the rest).
    private func listen(ledger: Ledger, logger: Logger, retry: Duration) async {
        while !Task.isCancelled {
            do {
                let connection = try await log.openConnection()
                defer { Task { try? await connection.close() } }
                try await connection.listen(on: PostgresSchema.notifyChannel) { notifications in
                    for try await _ in notifications where role == .follower { await follow(ledger, logger) }
                }
            } catch {
                logger.debug("LISTEN ended; polling meanwhile", metadata: ["reason": "\(error)"])
            }
            try? await Task.sleep(for: retry)
        }
    }
}
