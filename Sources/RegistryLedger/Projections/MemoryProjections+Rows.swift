import LMDB

/// Takes projection rows one at a time, each encoded straight into the sink's own buffers.
protocol RowSink {
    mutating func row(_ table: ProjectionTables.Name, key: (inout BinaryWriter) -> Void, value: (inout BinaryWriter) -> Void) throws
}

extension RowSink {
    mutating func row(_ table: ProjectionTables.Name, key: [UInt8], value: [UInt8]) throws {
        try row(table, key: { $0.raw(key) }, value: { $0.raw(value) })
    }
}

/// Encodes rows into chunks of (length, key, length, value) runs, feeding each row to a state
/// digest, and hands each chunk on: one thread produces and digests rows while another stores
/// them.
struct ChunkingRowSink: RowSink {
    /// What the producing thread hands to the storing one, table by table.
    enum Item {
        case rows(EncodedRows)
        /// Every row of the current table has been handed on.
        case tableEnd
        /// The digest of every table's rows, after the last table.
        case digest(StateDigest)
        case failed(any Error)
    }

    let handoff: Handoff<Item>
    var digest = StateDigest()
    private var chunk = BinaryWriter(capacity: Self.chunkSize + 4096)
    private static let chunkSize = 1 << 18

    init(_ handoff: Handoff<Item>) { self.handoff = handoff }

    mutating func row(_ table: ProjectionTables.Name, key: (inout BinaryWriter) -> Void, value: (inout BinaryWriter) -> Void) {
        let keyAt = lengthPrefixed(key)
        let valueAt = lengthPrefixed(value)
        chunk.bytes.withUnsafeBytes { all in
            digest.add(key: UnsafeRawBufferPointer(rebasing: all[keyAt]), value: UnsafeRawBufferPointer(rebasing: all[valueAt]))
        }
        if chunk.bytes.count >= Self.chunkSize { handOn() }
    }

    mutating func beginTable(_ table: ProjectionTables.Name) { digest.begin(table) }

    /// Hands on what is buffered, then the end of the table.
    mutating func endTable() {
        handOn()
        handoff.put(.tableEnd)
    }

    /// Writes what `body` writes behind its length; returns where it lies in the chunk.
    private mutating func lengthPrefixed(_ body: (inout BinaryWriter) -> Void) -> Range<Int> {
        let start = chunk.bytes.count
        chunk.u32(0)
        body(&chunk)
        let count = UInt32(chunk.bytes.count - start - 4).bigEndian
        withUnsafeBytes(of: count) { chunk.bytes.replaceSubrange(start..<start + 4, with: $0) }
        return start + 4..<chunk.bytes.count
    }

    private mutating func handOn() {
        guard !chunk.bytes.isEmpty else { return }
        handoff.put(.rows(EncodedRows(bytes: chunk.bytes)))
        chunk = BinaryWriter(capacity: Self.chunkSize + 4096)
    }
}

/// Rows as ``ChunkingRowSink`` encodes them.
struct EncodedRows {
    let bytes: [UInt8]

    /// Visits every row; the buffers are valid only during the call.
    func forEachRow(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { all in
            var at = 0
            func next() -> UnsafeRawBufferPointer {
                let count = Int(UInt32(bigEndian: all.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                defer { at += 4 + count }
                return UnsafeRawBufferPointer(rebasing: all[(at + 4)..<(at + 4 + count)])
            }
            while at < all.count {
                let key = next()
                try body(key, next())
            }
        }
    }
}

// MARK: rows in key order

extension MemoryProjections {
    /// Stores every row into `dbs`, whose tables must be empty, appending each table in key
    /// order. Returns the state digest.
    func write(into txn: WriteTransaction, _ dbs: ProjectionTables) throws -> String {
        try digest(storingInto: (txn, dbs))
    }

    /// The state digest the projections would have.
    func stateDigest() throws -> String { try digest(storingInto: nil) }

    /// Rows are sorted, encoded and digested on a thread of their own while this one stores
    /// them (when `target` is given): the two halves of writing the projections on two cores.
    private func digest(storingInto target: (txn: WriteTransaction, dbs: ProjectionTables)?) throws -> String {
        let tables = TableName.allCases
        // Until it returns, the producer alone uses this store; this thread only writes `txn`.
        let store = Unchecked(value: self)
        var digest = try Handoff<ChunkingRowSink.Item>.pipeline(capacity: 8, name: "regledger-rows", produce: { handoff in
            var sink = ChunkingRowSink(handoff)
            do {
                for table in tables where !handoff.isCancelled {
                    sink.beginTable(table)
                    try store.value.rows(of: table, into: &sink)
                    sink.endTable()
                }
                handoff.put(.digest(sink.digest))
            } catch {
                handoff.put(.failed(error))
            }
        }, consume: { handoff in
            /// Takes one table's rows, up to its end.
            func takeTable(_ each: (EncodedRows) throws -> Void) throws {
                while let item = handoff.take() {
                    switch item {
                    case .rows(let rows): try each(rows)
                    case .tableEnd: return
                    case .digest: preconditionFailure("the digest before the last table")
                    case .failed(let error): throw error
                    }
                }
                preconditionFailure("a table's rows ended without their end")
            }
            for table in tables {
                if let (txn, dbs) = target {
                    try txn.withCursor(dbs[raw: table]) { cursor in
                        try takeTable { rows in try rows.forEachRow { key, value in try cursor.put(rawKey: key, rawValue: value, flags: .append) } }
                    }
                } else {
                    try takeTable { _ in }
                }
            }
            guard case .digest(let digest) = handoff.take() else { preconditionFailure("no digest after the last table") }
            return digest
        })
        return digest.finalize()
    }

    /// Every row of `table` in key order.
    func rows(of table: TableName, into sink: inout some RowSink) throws {
        switch table {
        case .repos:
            for (key, ref) in repositories.keys.map({ (RepositoryKey.encode($0), $0) }).sorted(by: { $0.0.lexicographicallyPrecedes($1.0) }) {
                try sink.row(table, key: key, value: repositories[ref]!.encoded())
            }
        case .images, .tags, .listing, .blobs, .referrers:
            for id in contents.keys.sorted() { try rowsOfContents(id, [table], into: &sink) }
        case .policies:
            for scope in sortedScopes(policies.keys) { try rowsOfPolicies(scope, into: &sink) }
        case .policyIndex:
            for (uuid, at) in policyIndex.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                try sink.row(table, key: UTF8Text.encode(uuid), value: ThenSeq<PolicyScopeKey>.encode((at.scope, at.seq)))
            }
        case .policyPatterns:
            for (key, uuid) in patternRows(of: nil) { try sink.row(table, key: key, value: Array(uuid.utf8)) }
        case .organizations:
            for (key, seq) in organizations.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                try sink.row(table, key: key, value: BigEndianU64.encode(seq))
            }
        case .counters:
            if lastRepositoryId > 0 { try sink.row(table, key: UTF8Text.encode(ProjectionTables.nextRepoIdName), value: BigEndianU64.encode(lastRepositoryId)) }
        case .repoEvents:
            for (id, h) in sortedHistories() {
                for start in stride(from: 0, to: h.seqs.count, by: SeqRun.capacity) {
                    let run = h.seqs[start..<min(start + SeqRun.capacity, h.seqs.count)]
                    try sink.row(table, key: { ThenSeq<HistoryIdKey>.encode((id, run.first!), into: &$0) }, value: { SeqRun.encode(run, into: &$0) })
                }
            }
        case .tagEvents:
            for (id, h) in sortedHistories() {
                for (tag, seqs) in h.tagSeqs.sorted(by: { $0.key < $1.key }) {
                    for seq in seqs { try sink.row(table, key: { ThenSeq<HistoryTagKey>.encode(((id, tag), seq), into: &$0) }, value: { _ in }) }
                }
            }
        case .repoHistory:
            for (id, h) in sortedHistories() {
                if let key = h.repositoryKey { try sink.row(table, key: id, value: key) }
            }
        case .repoVersions:
            for (id, h) in sortedHistories() {
                for version in h.versions { try sink.row(table, key: { ThenSeq<HistoryIdKey>.encode((id, version.seq), into: &$0) }, value: { $0.raw(version.value) }) }
            }
        case .organizationVersions:
            for scope in sortedScopes(organizationVersions.keys) {
                // Versions came in seq order: by creation seq, then seq, is key order.
                for v in organizationVersions[scope]!.sorted(by: { ($0.createdSeq, $0.seq) < ($1.createdSeq, $1.seq) }) {
                    try sink.row(table, key: ThenSeq<ThenSeq<PolicyScopeKey>>.encode(((scope, v.createdSeq), v.seq)), value: v.value)
                }
            }
        case .contentVersions:
            for id in contentVersions.keys.sorted() {
                try contentVersions[id]!.forEachRow { key, value in try sink.row(table, key: key, value: { $0.raw(value) }) }
            }
        }
    }

    /// The rows of one repository in `tables` (of images, tags, listing, blobs and referrers), each
    /// table in key order. Listing rows follow from the images (``ListingEntries``).
    private func rowsOfContents(_ repoId: UInt64, _ tables: [TableName], into sink: inout some RowSink) throws {
        guard let c = contents(repoId) else { return }
        // Sorted once for the images and listing rows both.
        var sortedImages: [(key: Digest, value: ImageRecord)] = []
        if tables.contains(.images) || tables.contains(.listing) { sortedImages = c.images.sorted { $0.key < $1.key } }
        for table in tables {
            switch table {
            case .images:
                for (digest, record) in sortedImages {
                    try sink.row(table, key: { ImageKey.encode((repoId, digest), into: &$0) }, value: { record.encode(into: &$0) })
                }
            case .tags:
                for (tag, record) in c.tags.sorted(by: { $0.key < $1.key }) {
                    try sink.row(table, key: { TagKey.encode((repoId, tag), into: &$0) }, value: { record.encode(into: &$0) })
                }
            case .listing:
                try ListingEntries.forEach(repoId: repoId, images: sortedImages) { key, status in
                    try sink.row(table, key: key, value: { $0.u8(status) })
                }
            case .blobs:
                for (digest, record) in c.blobs.sorted(by: { $0.key < $1.key }) {
                    try sink.row(table, key: { ImageKey.encode((repoId, digest), into: &$0) }, value: { BlobRecord.encode(record, into: &$0) })
                }
            case .referrers:
                for (subject, referrers) in c.referrers.sorted(by: { $0.key < $1.key }) {
                    for referrer in referrers.sorted() {
                        try sink.row(table, key: { ReferrerKey.encode((repoId, subject, referrer), into: &$0) }, value: { _ in })
                    }
                }
            default:
                preconditionFailure("\(table) is not a repository's contents")
            }
        }
    }

    func sortedPolicies(_ scope: PolicyScope) -> [(seq: UInt64, policy: Policy)] {
        (policies[scope] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    private func rowsOfPolicies(_ scope: PolicyScope, into sink: inout some RowSink) throws {
        for (seq, policy) in sortedPolicies(scope) {
            try sink.row(.policies, key: ThenSeq<PolicyScopeKey>.encode((scope, seq)), value: PolicyRecord.encode(policy))
        }
    }

    /// The pattern rows of `scopes` (nil: every scope), in key order.
    private func patternRows(of scopes: Set<PolicyScope>?) -> [(key: [UInt8], uuid: String)] {
        policyPatterns.compactMap { entry -> (key: [UInt8], uuid: String)? in
            guard scopes?.contains(entry.key.scope) ?? true else { return nil }
            return (PolicyPatternKey.encode(.init(entry.key.scope, pattern: entry.key.pattern)), entry.value)
        }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    private func sortedScopes(_ scopes: some Collection<PolicyScope>) -> [PolicyScope] {
        scopes.map { (PolicyScopeKey.encode($0), $0) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }.map(\.1)
    }

    private func sortedHistories() -> [(id: [UInt8], history: History)] {
        histories.values.map { ($0.id, $0) }.sorted { $0.id.lexicographicallyPrecedes($1.id) }
    }
}
