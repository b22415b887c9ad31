import LMDB

/// Takes projection rows one at a time, each encoded straight into the sink's own buffers.
protocol RowSink {
    mutating func row(_ table: ProjectionDatabases.Table, key: (inout BinaryWriter) -> Void, value: (inout BinaryWriter) -> Void) throws
}

extension RowSink {
    mutating func row(_ table: ProjectionDatabases.Table, key: [UInt8], value: [UInt8]) throws {
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

    mutating func row(_ table: ProjectionDatabases.Table, key: (inout BinaryWriter) -> Void, value: (inout BinaryWriter) -> Void) {
        let keyAt = lengthPrefixed(key)
        let valueAt = lengthPrefixed(value)
        chunk.bytes.withUnsafeBytes { all in
            digest.add(key: UnsafeRawBufferPointer(rebasing: all[keyAt]), value: UnsafeRawBufferPointer(rebasing: all[valueAt]))
        }
        if chunk.bytes.count >= Self.chunkSize { handOn() }
    }

    mutating func beginTable(_ table: ProjectionDatabases.Table) { digest.begin(table) }

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
    func write(into txn: Transaction, _ dbs: ProjectionDatabases) throws -> String {
        try digest(storingInto: (txn, dbs))
    }

    /// The state digest the projections would have.
    func stateDigest() throws -> String { try digest(storingInto: nil) }

    /// Rows are sorted, encoded and digested on a thread of their own while this one stores
    /// them (when `target` is given): the two halves of writing the projections on two cores.
    private func digest(storingInto target: (txn: Transaction, dbs: ProjectionDatabases)?) throws -> String {
        let tables = Table.allCases
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
                    try txn.withCursor(dbs[table]) { cursor in
                        try takeTable { rows in try rows.forEachRow { key, value in try cursor.put(key: key, value: value, flags: .append) } }
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
    func rows(of table: Table, into sink: inout some RowSink) throws {
        switch table {
        case .repos:
            for (key, ref) in repositories.keys.map({ (KeyLayout.repository($0), $0) }).sorted(by: { $0.0.lexicographicallyPrecedes($1.0) }) {
                try sink.row(table, key: key, value: repositories[ref]!.encoded())
            }
        case .images, .tags, .listing:
            for id in contents.keys.sorted() { try rowsOfContents(id, [table], into: &sink) }
        case .policies:
            for scope in sortedScopes(policies.keys) { try rowsOfPolicies(scope, into: &sink) }
        case .policyIndex:
            for (uuid, at) in policyIndex.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                try sink.row(table, key: Array(uuid.utf8), value: KeyLayout.scope(at.scope) + KeyLayout.u64(at.seq))
            }
        case .policyPatterns:
            for (key, uuid) in patternRows(of: nil) { try sink.row(table, key: key, value: Array(uuid.utf8)) }
        case .organizations:
            for (key, seq) in organizations.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                try sink.row(table, key: key, value: KeyLayout.u64(seq))
            }
        case .counters:
            if lastRepositoryId > 0 { try sink.row(table, key: LMDBProjections.nextRepoIdKey, value: KeyLayout.u64(lastRepositoryId)) }
        case .repoEvents:
            for (id, h) in sortedHistories() {
                for start in stride(from: 0, to: h.seqs.count, by: SeqRun.capacity) {
                    let run = h.seqs[start..<min(start + SeqRun.capacity, h.seqs.count)]
                    try sink.row(table, key: { $0.raw(id); $0.u64(run.first!) }, value: { SeqRun.encode(run, into: &$0) })
                }
            }
        case .tagEvents:
            for (id, h) in sortedHistories() {
                for (tag, seqs) in h.tagSeqs.sorted(by: { $0.key < $1.key }) {
                    for seq in seqs { try sink.row(table, key: { $0.raw(id); $0.utf8(tag); $0.u8(0); $0.u64(seq) }, value: { _ in }) }
                }
            }
        case .repoHistory:
            for (id, h) in sortedHistories() {
                if let key = h.repositoryKey { try sink.row(table, key: id, value: key) }
            }
        case .repoVersions:
            for (id, h) in sortedHistories() {
                for version in h.versions { try sink.row(table, key: { $0.raw(id); $0.u64(version.seq) }, value: { $0.raw(version.value) }) }
            }
        case .organizationVersions:
            for scope in sortedScopes(organizationVersions.keys) {
                let prefix = KeyLayout.scope(scope)
                // Versions came in seq order: by creation seq, then seq, is key order.
                for v in organizationVersions[scope]!.sorted(by: { ($0.createdSeq, $0.seq) < ($1.createdSeq, $1.seq) }) {
                    try sink.row(table, key: { $0.raw(prefix); $0.u64(v.createdSeq); $0.u64(v.seq) }, value: { $0.raw(v.value) })
                }
            }
        case .contentVersions:
            for id in contentVersions.keys.sorted() {
                try contentVersions[id]!.forEachRow(repoId: id) { key, value in try sink.row(table, key: key, value: { $0.raw(value) }) }
            }
        }
    }

    /// The rows of one repository in `tables` (of images, tags and listing, in that order), each
    /// table in key order. Listing rows follow from the images (``ListingEntries``).
    private func rowsOfContents(_ repoId: UInt64, _ tables: [Table], into sink: inout some RowSink) throws {
        guard let c = contents(repoId) else { return }
        // Sorted once for the images and listing rows both.
        var sortedImages: [(key: Digest, value: ImageRecord)] = []
        if tables.contains(.images) || tables.contains(.listing) { sortedImages = c.images.sorted { $0.key < $1.key } }
        for table in tables {
            switch table {
            case .images:
                for (digest, record) in sortedImages {
                    try sink.row(table, key: { KeyLayout.image(repoId, digest, into: &$0) }, value: { record.encode(into: &$0) })
                }
            case .tags:
                for (tag, record) in c.tags.sorted(by: { $0.key < $1.key }) {
                    try sink.row(table, key: { KeyLayout.tag(repoId, tag, into: &$0) }, value: { record.encode(into: &$0) })
                }
            case .listing:
                try ListingEntries.forEach(repoId: repoId, images: sortedImages) { key, status in
                    try sink.row(table, key: key, value: { $0.u8(status) })
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
        let prefix = KeyLayout.scope(scope)
        for (seq, policy) in sortedPolicies(scope) { try sink.row(.policies, key: prefix + KeyLayout.u64(seq), value: PolicyRecord.encode(policy)) }
    }

    /// The pattern rows of `scopes` (nil: every scope), in key order.
    private func patternRows(of scopes: Set<PolicyScope>?) -> [(key: [UInt8], uuid: String)] {
        policyPatterns.compactMap { entry -> (key: [UInt8], uuid: String)? in
            guard scopes?.contains(entry.key.scope) ?? true else { return nil }
            return (KeyLayout.policyPattern(entry.key.scope, entry.key.pattern), entry.value)
        }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    private func sortedScopes(_ scopes: some Collection<PolicyScope>) -> [PolicyScope] {
        scopes.map { (KeyLayout.scope($0), $0) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }.map(\.1)
    }

    private func sortedHistories() -> [(id: [UInt8], history: History)] {
        histories.values.map { ($0.id, $0) }.sorted { $0.id.lexicographicallyPrecedes($1.id) }
    }
}
