import Foundation

/// What opening a store did to bring its derived state up to the log.
public enum RecoveryNotice: Sendable, Equatable {
    /// The derived state is rebuilt from the log (`events` events), for `reason`.
    case rebuilding(reason: String, events: UInt64)
    /// Rebuild progress: `done` of `total` events.
    case progress(done: UInt64, total: UInt64)
    /// The derived state applied the `events` events the log holds after its recorded seq.
    case caughtUp(events: UInt64)
    /// The store was written by an earlier version with log and state in one environment: its
    /// log stays as it is, its old derived tables were dropped.
    case upgraded
    /// Cluster mode: the node's local copy of the log took the `records` records the cluster's
    /// log holds after it (all of them for a new node, the tail for one started on a copy).
    case followedSharedLog(records: UInt64)
    /// Cluster mode: the local copy of the log (committed without fsync) may be torn, for
    /// `reason`; it was removed with the derived state, and is copied again from the cluster's log.
    case discardedLocalCopy(reason: String)

    /// Writes a line for each notice to stderr; progress only when stderr is a terminal.
    public static let toStandardError: @Sendable (RecoveryNotice) -> Void = { notice in
        let line: String
        switch notice {
        case .rebuilding(let reason, let events): line = "regledger: rebuilding the derived state from the log (\(events) events): \(reason)\n"
        case .caughtUp(let events): line = "regledger: the derived state applied \(events) events from the log's tail\n"
        case .upgraded: line = "regledger: upgraded a store written by an earlier version: its log is kept as it is, its derived state is rebuilt\n"
        case .followedSharedLog(let records): line = "regledger: copied \(records) records from the cluster's log into the local copy\n"
        case .discardedLocalCopy(let reason):
            line = "regledger: the local copy of the cluster's log may be torn (\(reason)); copying it again from the cluster's log\n"
        case .progress(let done, let total):
            guard isatty(STDERR_FILENO) != 0 else { return }
            line = "\rrebuilt: \(done)/\(total)" + (done == total ? "\n" : "")
        }
        FileHandle.standardError.write(Data(line.utf8))
    }
}
