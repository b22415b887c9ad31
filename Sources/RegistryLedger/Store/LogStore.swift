import LMDB

/// What one group commit appends to the log: its records (chained on the head), the manifests
/// they name, and the refusals its commands met.
struct LogGroup: Sendable {
    var records: [EventRecord] = []
    /// The manifests its records are the first to name, in seq order: each stored once, under the
    /// seq of the `image.pushed` event that first names it.
    var manifests: [Manifest] = []
    /// Refusals, numbered on from the log's last denial.
    var denials: [(number: UInt64, denial: Denial)] = []

    var isEmpty: Bool { records.isEmpty && denials.isEmpty }

    /// A manifest and the seq of the first event that names it.
    struct Manifest: Sendable {
        let seq: UInt64
        let digest: Digest
        let bytes: [UInt8]
    }
}

/// The log can not tell whether an append happened: a remote log whose connection broke during
/// its commit. The caller reads ``LogStore/head()`` before deciding anything again.
@_spi(Cluster) public struct LogAppendOutcomeUnknown: Error, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "the log could not confirm the append: \(reason)" }
}

/// The log boundary (SPEC §3): append a group durably, read the head. Everything above it —
/// commands, derived state, queries, history — is the same whichever log is behind it. Records
/// are read from the store's local LMDB log, which every mode keeps (a cluster node copies the
/// shared log into it).
protocol LogStore: AnyObject, Sendable {
    /// The last record, where the next group chains on.
    func head() throws -> LogHead
    /// The number of the last refusal in the denial log (0 when none).
    func lastDenial() throws -> UInt64
    /// Appends `group` durably, all or nothing: once it returns, the group survives a crash of
    /// the process and of the machine. Its first record continues ``head()``.
    ///
    /// - Throws: ``LogAppendOutcomeUnknown`` when whether it happened is unknown; any other error
    ///   means it did not happen.
    func append(_ group: LogGroup) throws
    /// Brings the local log up to the log's head (a shared log's records appended by other
    /// nodes); returns the local log's head and last denial.
    func follow() throws -> (head: LogHead, lastDenial: UInt64)
}

/// The embedded log: the log tables in the store directory's LMDB environment, each append one
/// durable write transaction that touches only the tails of the log, its manifests and denials.
/// A cluster node's local copy is the same tables committed without fsync, under a `flusher`.
final class LMDBLogStore: LogStore {
    let env: Environment
    let tables: LogTables
    let flusher: StateFlusher?

    init(env: Environment, tables: LogTables, flusher: StateFlusher? = nil) {
        self.env = env
        self.tables = tables
        self.flusher = flusher
    }

    func head() throws -> LogHead {
        try env.read { txn in try Self.head(txn, tables) }
    }

    /// A cluster node's copy keeps manifests by digest, as earlier versions did
    /// (``LogTables/manifests``): following the shared log, it copies the manifests it does not
    /// hold, which it finds by digest. Unsynced, it pays nothing for the random pages.
    private var keepsManifestsByDigest: Bool { flusher != nil }

    static func head(_ txn: ReadTransaction, _ tables: LogTables) throws -> LogHead {
        try txn.withCursor(tables.log) { c in
            guard let last = try c.last() else { return LogHead() }
            let record = try EventRecord.decode(last.rawValue, verifyHash: false)
            return LogHead(seq: record.seq, hash: record.hash, timestamp: record.timestamp)
        }
    }

    func lastDenial() throws -> UInt64 {
        try env.read { txn in try txn.withCursor(tables.denials) { c in try c.last()?.key() ?? 0 } }
    }

    /// The local log is the log: there is nothing to follow.
    func follow() throws -> (head: LogHead, lastDenial: UInt64) { (try head(), try lastDenial()) }

    func append(_ group: LogGroup) throws {
        guard !group.isEmpty else { return }
        if let flusher { try flusher.committing { try write(group) } } else { try write(group) }
    }

    private func write(_ group: LogGroup) throws {
        try env.write { txn in
            if !keepsManifestsByDigest {
                for manifest in group.manifests { try txn.put(tables.manifestLog!, manifest.seq, manifest.bytes, flags: .append) }
            } else {
                for manifest in group.manifests where try !txn.contains(tables.manifests, manifest.digest) {
                    try txn.put(tables.manifests, manifest.digest, manifest.bytes)
                }
            }
            for record in group.records { try txn.put(tables.log, record.seq, record, flags: .append) }
            for (number, denial) in group.denials { try txn.put(tables.denials, number, denial, flags: .append) }
        }
    }
}
