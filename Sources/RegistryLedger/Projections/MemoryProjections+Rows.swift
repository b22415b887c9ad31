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

/// Encodes rows into chunks of (length, key, length, value) runs — the layout a
/// ``TableDigest`` hashes, so each chunk is digested as it is — and hands each chunk on: threads
/// produce and digest rows while another stores them. One sink makes one table at a time.
struct ChunkingRowSink: RowSink {
    /// What a producing thread hands to the storing one.
    enum Item {
        /// Rows of a table, in key order after the ones handed on before.
        case rows(ProjectionTables.Name, EncodedRows)
        /// Every row of the table has been handed on; the digest of its rows.
        case tableEnd(ProjectionTables.Name, digest: [UInt8])
        case failed(any Error)
    }

    let handoff: Handoff<Item>
    private var table: ProjectionTables.Name?
    private var digest = TableDigest()
    private var chunk = BinaryWriter(capacity: Self.chunkSize + 4096)
    private static let chunkSize = 1 << 18

    init(_ handoff: Handoff<Item>) { self.handoff = handoff }

    mutating func row(_ table: ProjectionTables.Name, key: (inout BinaryWriter) -> Void, value: (inout BinaryWriter) -> Void) {
        precondition(self.table == nil || self.table == table, "rows of \(table) before the end of \(self.table!)")
        self.table = table
        lengthPrefixed(key)
        lengthPrefixed(value)
        if chunk.bytes.count >= Self.chunkSize { handOn() }
    }

    /// Hands on what is buffered, then the end of `table` (which may have had no rows) with its digest.
    mutating func endTable(_ table: ProjectionTables.Name) {
        handOn()
        handoff.put(.tableEnd(table, digest: digest.finalize()))
        (self.table, digest) = (nil, TableDigest())
    }

    /// Writes what `body` writes behind its length.
    private mutating func lengthPrefixed(_ body: (inout BinaryWriter) -> Void) {
        let start = chunk.bytes.count
        chunk.u32(0)
        body(&chunk)
        let count = UInt32(chunk.bytes.count - start - 4).bigEndian
        chunk.bytes.withUnsafeMutableBytes { $0.storeBytes(of: count, toByteOffset: start, as: UInt32.self) }
    }

    private mutating func handOn() {
        guard !chunk.bytes.isEmpty else { return }
        chunk.bytes.withUnsafeBytes { digest.add(rows: $0) }
        handoff.put(.rows(table!, EncodedRows(bytes: chunk.bytes)))
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
    /// The rows of one repository in `table` (images, tags, listing, blobs or referrers), in key
    /// order. Listing rows follow from the images (``ListingEntries``).
    func rowsOfContents(_ repoId: UInt64, _ table: TableName, into sink: inout some RowSink) throws {
        guard let c = contents[repoId] else { return }
        // Dictionary positions in key order: sorting positions moves no records (and their arrays).
        var sortedImages: LazyMapCollection<[Dictionary<Digest, ImageRecord>.Index], (key: Digest, value: ImageRecord)> {
            c.imagesInKeyOrder.lazy.map { c.images[$0] }
        }
        switch table {
        case .images:
            for (digest, record) in sortedImages {
                try sink.row(table, key: { ImageKey.encode((repoId, digest), into: &$0) }, value: { record.encode(into: &$0) })
            }
        case .tags:
            for position in Self.tagOrder(c.tags) {
                let (tag, record) = c.tags[position]
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

    /// The positions of `dictionary`'s entries, in key order: keys sorted with their positions,
    /// so that neither comparing nor moving touches a value.
    static func keyOrder<Key: Comparable, Value>(_ dictionary: [Key: Value]) -> [Dictionary<Key, Value>.Index] {
        zip(dictionary.keys, dictionary.indices).sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// ``keyOrder(_:)`` for tags, which ``TagOrder`` sorts with few string comparisons.
    static func tagOrder<Value>(_ tags: [String: Value]) -> [Dictionary<String, Value>.Index] {
        zip(tags.keys, tags.indices).map { (TagOrder(tag: $0), $1) }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    func sortedPolicies(_ scope: PolicyScope) -> [(seq: UInt64, policy: Policy)] {
        (policies[scope] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    func rowsOfPolicies(_ scope: PolicyScope, into sink: inout some RowSink) throws {
        for (seq, policy) in sortedPolicies(scope) {
            try sink.row(.policies, key: ThenSeq<PolicyScopeKey>.encode((scope, seq)), value: PolicyRecord.encode(policy))
        }
    }

    /// The pattern rows of `scopes` (nil: every scope), in key order.
    func patternRows(of scopes: Set<PolicyScope>?) -> [(key: [UInt8], uuid: String)] {
        policyPatterns.compactMap { entry -> (key: [UInt8], uuid: String)? in
            guard scopes?.contains(entry.key.scope) ?? true else { return nil }
            return (PolicyPatternKey.encode(.init(entry.key.scope, pattern: entry.key.pattern)), entry.value)
        }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }
}

/// A tag as a sort key. Tags are ASCII (validated when decoded), so their `String` order is
/// their bytes' order: the first eight bytes as one big-endian number (zeros after a shorter
/// tag) decide almost every comparison, and only tags sharing those compare as strings.
struct TagOrder: Comparable {
    let prefix: UInt64
    let tag: String

    init(tag: String) {
        var word: UInt64 = 0
        for (i, byte) in tag.utf8.prefix(8).enumerated() { word |= UInt64(byte) << (56 - 8 * UInt64(i)) }
        (prefix, self.tag) = (word, tag)
    }

    static func < (a: TagOrder, b: TagOrder) -> Bool { a.prefix != b.prefix ? a.prefix < b.prefix : a.tag < b.tag }
}
