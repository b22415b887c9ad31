import Crypto
import LMDB

/// Indexes that make history cheap to read, maintained by ``ProjectionWriter`` as events apply:
///
/// | database    | key                                         | value |
/// |-------------|---------------------------------------------|-------|
/// | repoEvents  | history id(16), first seq(8)                | later seqs (``SeqRun``) |
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
/// about a quarter of reading the state itself. A checkpoint holds images and tags but no listing
/// entries, which follow from the images, so a quarter of its rows is about half its images: two
/// thirds of format 2's replay bound (BENCHMARKS.md, formats 3–5). The rule depends only on the
/// log, so a rebuild reproduces every checkpoint exactly; changing it changes
/// ``Ledger/projectionFormat``.
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
    static func index(_ record: EventRecord, historyId hid: [UInt8]?, _ store: some ProjectionStore) throws {
        let seq = record.seq
        if let ref = record.event.repository, let hid {
            try store.indexRepositoryEvent(historyId: hid, seq: seq)
            if let tag = record.event.tag { try store.indexTagEvent(historyId: hid, tag: tag, seq: seq) }
            if case .repositoryDeleted = record.event, let repo = try store.repository(ref) {
                for tag in try store.tagNames(repo.repoId) { try store.indexTagEvent(historyId: hid, tag: tag, seq: seq) }
            }
        }
        switch record.event {
        case .policyCreated(let s, _), .policyUpdated(let s, _), .policyDeleted(let s, _):
            if case .organization = s { try store.indexOrganizationEvent(s, seq: seq) }
        case .repositoryCreated(let ref, _):
            // The first repository of a namespace makes its organization known.
            if let org = ref.name.namespace { try store.indexOrganizationEvent(.organization(ref.registryId, org), seq: seq) }
        default: break
        }
    }

    /// Counts the event towards its repository's next checkpoint and takes it when due; runs
    /// after the event is applied, so the checkpoint is the state as of `record.seq`.
    static func checkpointIfDue(_ record: EventRecord, historyId: [UInt8]?, _ store: some ProjectionStore) throws {
        guard let ref = record.event.repository, let hid = historyId else { return }
        var (since, interval) = try store.checkpointSchedule(historyId: hid) ?? (0, minimumInterval)
        since += 1
        if since >= interval, try store.repository(ref) != nil {
            let rows = try store.checkpoint(ref, historyId: hid, seq: record.seq)
            (since, interval) = (0, max(minimumInterval, UInt64(rows) / rowsPerEvent))
        }
        try store.setCheckpointSchedule(historyId: hid, since: since, interval: interval, ref)
    }

    /// The value of a ``repoHistory`` row.
    static func schedule(since: UInt64, interval: UInt64, _ ref: RepositoryRef) -> [UInt8] {
        KeyLayout.u64(since) + KeyLayout.u64(interval) + KeyLayout.repository(ref)
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
/// apply that repository's later events, and ``ProjectionReader`` to read its state, except the
/// listing entries, which follow from the images (an image's tags, each with its status, or one
/// untagged entry) and are derived when a checkpoint is restored. Rows are encoded as they are
/// captured, straight from the map: a large repository's checkpoint never holds a copy of each row.
struct Checkpoint: RowSink {
    /// Rows appended so far.
    private(set) var rowCount = 0
    /// Each row as (database index in ``ProjectionDatabases/all``, key, value).
    private var body = BinaryWriter(capacity: 4096)

    /// Adds a row of `table`.
    mutating func append(_ table: ProjectionDatabases.Table, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        body.u8(table.rawValue); body.data(key); body.data(value)
        rowCount += 1
    }

    mutating func row(_ table: ProjectionDatabases.Table, key: (inout BinaryWriter) -> Void, value: (inout BinaryWriter) -> Void) {
        body.u8(table.rawValue); body.data(key); body.data(value)
        rowCount += 1
    }

    /// The rows of `ref` in ``LMDBProjections``' databases, straight from the map, in this order:
    /// its `repos` row; its images and tags; its policies, their patterns and their index rows
    /// (in creation order). ``MemoryProjections`` captures the same rows.
    static func capture(_ ref: RepositoryRef, _ reader: ProjectionReader) throws -> Checkpoint {
        let dbs = reader.dbs
        var out = Checkpoint()
        guard let repo = try reader.repository(ref) else { return out }
        func copy(_ table: ProjectionDatabases.Table, prefix: [UInt8]) throws {
            try reader.scan(dbs[table], prefix: prefix) { e in
                out.append(table, key: e.key, value: e.value)
                return true
            }
        }
        try out.row(.repos, key: KeyLayout.repository(ref), value: repo.encoded())
        let id = KeyLayout.u64(repo.repoId)
        for table in [ProjectionDatabases.Table.images, .tags] { try copy(table, prefix: id) }
        let scope = PolicyScope.repository(ref.registryId, ref.name)
        try copy(.policies, prefix: KeyLayout.scope(scope))
        try copy(.policyPatterns, prefix: KeyLayout.scope(scope))
        for (key, policy) in try reader.policies(scope) { try out.row(.policyIndex, key: Array(policy.uuid.utf8), value: key) }
        return out
    }

    /// Writes the rows of an encoded checkpoint, borrowed from the map, into `dbs` (an empty
    /// scratch generation), with the listing rows that follow from its images. Rows come in key
    /// order within each database (as captured), so they are appended; a row out of order is put
    /// normally.
    static func restore(_ encoded: UnsafeRawBufferPointer, into txn: Transaction, _ dbs: ProjectionDatabases) throws {
        let all = dbs.all
        let (images, listing) = (Int(ProjectionDatabases.Table.images.rawValue), Int(ProjectionDatabases.Table.listing.rawValue))
        var lastKeys = [UnsafeRawBufferPointer?](repeating: nil, count: all.count)
        var imageRecords: [(key: Digest, value: ImageRecord)] = []
        var repoId: UInt64?
        var r = BinaryReader(encoded)
        let count = try r.varint()
        // One cursor per database: appending through it needs no search from the root.
        try txn.withCursors(all) { cursors in
            for _ in 0..<count {
                let index = Int(try r.u8())
                guard index < all.count, index != listing else { throw DecodingError(reason: "checkpoint names database \(index)") }
                let key = try r.dataBuffer(), value = try r.dataBuffer()
                guard (1...KeyLayout.maxKeyLength).contains(key.count) else {
                    throw DecodingError(reason: "checkpoint key of \(key.count) bytes")
                }
                let ordered = lastKeys[index].map { KeyLayout.sortsBefore($0, key) } ?? true
                try cursors[index].put(key: key, value: value, flags: ordered ? .append : [])
                if ordered { lastKeys[index] = key }
                if index == images {
                    guard key.count == 40 else { throw DecodingError(reason: "checkpoint image key of \(key.count) bytes") }
                    let id = KeyLayout.readU64(key)
                    guard repoId == nil || repoId == id else { throw DecodingError(reason: "checkpoint images of two repositories") }
                    repoId = id
                    imageRecords.append((Digest(rawPointer: UnsafeRawBufferPointer(rebasing: key[8...])), try ImageRecord(value, mediaType: false)))
                }
            }
            guard let repoId else { return }
            if !imageRecords.isSorted(by: { $0.key < $1.key }) { imageRecords.sort { $0.key < $1.key } }
            try ListingEntries.forEach(repoId: repoId, images: imageRecords) { key, status in
                var k = BinaryWriter(capacity: 64)
                key(&k)
                try k.bytes.withUnsafeBytes { k in try withUnsafeBytes(of: status) { try cursors[listing].put(key: k, value: $0, flags: .append) } }
            }
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
