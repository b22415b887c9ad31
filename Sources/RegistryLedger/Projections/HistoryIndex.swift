import Crypto
import LMDB

/// Indexes that make history cheap to read, maintained by ``ProjectionWriter`` as events apply:
///
/// | database    | key                                         | value |
/// |-------------|---------------------------------------------|-------|
/// | repoEvents  | history id(16), seq(8)                      | –     |
/// | tagEvents   | history id(16), tag, 0, seq(8)              | –     |
/// | scopeEvents | organization scope key, seq(8)              | –     |
/// | repoHistory | history id(16)                              | eventsSinceCheckpoint(8), interval(8), repository key |
/// | checkpoints | history id(16), seq(8)                      | ``Checkpoint`` rows |
///
/// The *history id* of a repository is SHA-256(registry, 0, name) cut to 16 bytes: fixed-size
/// (a 256-character name and a 300-character tag would pass LMDB's 511-byte key limit) and the
/// same across a deletion and re-creation, so one tag's history spans both.
///
/// A repository is checkpointed (its projection rows copied) after the event that makes its
/// count of events since the last checkpoint reach its interval; the interval is the larger of
/// ``minimumInterval`` and a quarter of the checkpoint's row count (``rowsPerEvent``), so copying
/// stays amortized O(1) per event (about four rows) and replaying from a checkpoint costs at most
/// about a quarter of reading the state itself. The rule depends only on the log, so a rebuild
/// reproduces every checkpoint exactly; changing it changes ``Ledger/projectionFormat``.
enum HistoryIndex {
    static let minimumInterval: UInt64 = 256
    /// Rows of a checkpoint per event of the interval that follows it.
    static let rowsPerEvent: UInt64 = 4

    static func repoPrefix(_ ref: RepositoryRef) -> [UInt8] {
        Array(SHA256.hash(data: Array(ref.registryId.value.utf8) + [0] + Array(ref.name.value.utf8)).prefix(16))
    }

    static func tagPrefix(_ ref: RepositoryRef, _ tag: String) -> [UInt8] { tagPrefix(historyId: repoPrefix(ref), tag) }
    static func tagPrefix(historyId: [UInt8], _ tag: String) -> [UInt8] { historyId + Array(tag.utf8) + [0] }

    /// Records `record` in the indexes; runs before the event is applied. A repository deletion
    /// is indexed under every tag it removes, so each tag's history shows it.
    /// `historyId` is ``repoPrefix(_:)`` of the event's repository, computed once by the caller.
    static func index(_ record: EventRecord, historyId hid: [UInt8]?, _ writer: ProjectionWriter) throws {
        let txn = writer.txn, dbs = writer.dbs
        let seq = KeyLayout.u64(record.seq)
        if let ref = record.event.repository, let hid {
            try txn.put(dbs.repoEvents, key: hid + seq, value: [])
            if let tag = record.event.tag {
                try txn.put(dbs.tagEvents, key: tagPrefix(historyId: hid, tag) + seq, value: [])
            }
            if case .repositoryDeleted = record.event, let repo = try writer.reader.repository(ref) {
                for (tag, _) in try writer.reader.tags(repo.repoId) {
                    try txn.put(dbs.tagEvents, key: tagPrefix(historyId: hid, tag) + seq, value: [])
                }
            }
        }
        switch record.event {
        case .policyCreated(let s, _), .policyUpdated(let s, _), .policyDeleted(let s, _):
            if case .organization = s { try txn.put(dbs.scopeEvents, key: KeyLayout.scope(s) + seq, value: []) }
        case .repositoryCreated(let ref, _):
            // The first repository of a namespace makes its organization known.
            if let org = ref.name.namespace {
                try txn.put(dbs.scopeEvents, key: KeyLayout.scope(.organization(ref.registryId, org)) + seq, value: [])
            }
        default: break
        }
    }

    /// Counts the event towards its repository's next checkpoint and takes it when due; runs
    /// after the event is applied, so the checkpoint is the state as of `record.seq`.
    static func checkpointIfDue(_ record: EventRecord, historyId: [UInt8]?, _ writer: ProjectionWriter) throws {
        guard let ref = record.event.repository, let key = historyId else { return }
        let seq = record.seq
        let txn = writer.txn, dbs = writer.dbs
        var (since, interval) = try txn.get(dbs.repoHistory, key: key).map { v in
            v.withUnsafeBytes { (KeyLayout.readU64($0), KeyLayout.readU64($0, at: 8)) }
        } ?? (0, minimumInterval)
        since += 1
        if since >= interval, try writer.reader.repository(ref) != nil {
            let rows = try Checkpoint.capture(ref, writer.reader)
            try txn.put(dbs.checkpoints, key: key + KeyLayout.u64(seq), value: rows.encoded())
            (since, interval) = (0, max(minimumInterval, UInt64(rows.rowCount) / rowsPerEvent))
        }
        try txn.put(dbs.repoHistory, key: key, value: KeyLayout.u64(since) + KeyLayout.u64(interval) + KeyLayout.repository(ref))
    }
}

extension Event {
    /// The tag the event concerns, if it concerns one.
    public var tag: String? {
        switch self {
        case .tagSet(_, let t, _, _), .tagRemoved(_, let t, _), .tagFlagChanged(_, let t, _, _): t.value
        default: nil
        }
    }
}

/// The projection rows of one repository at one seq: everything ``ProjectionWriter`` needs to
/// apply that repository's later events, and ``ProjectionReader`` to read its state. Rows are
/// encoded as they are captured, straight from the map: a large repository's checkpoint never
/// holds a copy of each row.
struct Checkpoint {
    /// Rows appended so far.
    private(set) var rowCount = 0
    /// Each row as (database index in ``ProjectionDatabases/all``, key, value).
    private var body = BinaryWriter(capacity: 4096)

    /// Adds a row of the database at `db` in ``ProjectionDatabases/all``.
    mutating func append(db: UInt8, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        body.u8(db); body.data(key); body.data(value)
        rowCount += 1
    }

    static func capture(_ ref: RepositoryRef, _ reader: ProjectionReader) throws -> Checkpoint {
        let dbs = reader.dbs
        var out = Checkpoint()
        guard let repo = try reader.repository(ref) else { return out }
        func index(_ db: Database) -> UInt8 { UInt8(dbs.all.firstIndex(of: db)!) }
        func copy(_ db: Database, prefix: [UInt8]) throws {
            let db8 = index(db)
            try reader.scan(db, prefix: prefix) { e in
                out.append(db: db8, key: e.key, value: e.value)
                return true
            }
        }
        KeyLayout.repository(ref).withUnsafeBytes { key in
            repo.encoded().withUnsafeBytes { out.append(db: index(dbs.repos), key: key, value: $0) }
        }
        let id = KeyLayout.u64(repo.repoId)
        for db in [dbs.images, dbs.tags, dbs.listing] { try copy(db, prefix: id) }
        let scope = PolicyScope.repository(ref.registryId, ref.name)
        try copy(dbs.policies, prefix: KeyLayout.scope(scope))
        try copy(dbs.policyPatterns, prefix: KeyLayout.scope(scope))
        for (_, policy) in try reader.policies(scope) { try copy(dbs.policyIndex, prefix: Array(policy.uuid.utf8)) }
        return out
    }

    /// Writes the rows of an encoded checkpoint, borrowed from the map, into `dbs` (an empty
    /// scratch generation). Rows come in key order within each database (as captured), so they
    /// are appended; a row out of order is put normally.
    static func restore(_ encoded: UnsafeRawBufferPointer, into txn: Transaction, _ dbs: ProjectionDatabases) throws {
        let all = dbs.all
        var lastKeys = [UnsafeRawBufferPointer?](repeating: nil, count: all.count)
        var r = BinaryReader(encoded)
        let count = try r.varint()
        for _ in 0..<count {
            let index = Int(try r.u8())
            guard index < all.count else { throw DecodingError(reason: "checkpoint names database \(index)") }
            let key = try r.dataBuffer(), value = try r.dataBuffer()
            guard (1...KeyLayout.maxKeyLength).contains(key.count) else {
                throw DecodingError(reason: "checkpoint key of \(key.count) bytes")
            }
            let ordered = lastKeys[index].map { KeyLayout.sortsBefore($0, key) } ?? true
            try txn.put(all[index], key: key, value: value, flags: ordered ? .append : [])
            if ordered { lastKeys[index] = key }
        }
    }

    /// The row count, then the rows.
    func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: body.bytes.count + 10)
        w.varint(UInt64(rowCount))
        w.raw(body.bytes)
        return w.bytes
    }
}
