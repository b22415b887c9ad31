import LMDB

/// A repository's projected state.
struct RepoRecord: Equatable {
    var repoId: UInt64
    var createdAt: UInt64
    var mutability: TagMutability
    var settings = RepositorySettings.default
    /// Sorted by key.
    var resourceTags: [ResourceTag] = []
    /// The lifecycle policy's text, as it was put.
    var lifecyclePolicy: String?

    func encoded() -> [UInt8] {
        var w = BinaryWriter()
        encode(into: &w)
        return w.bytes
    }

    func encode(into w: inout BinaryWriter) {
        w.u64(repoId); w.u64(createdAt)
        w.u8(UInt8(TagMutability.Mode.allCases.firstIndex(of: mutability.mode)!))
        w.varint(UInt64(mutability.filters.count))
        for f in mutability.filters { w.string(f.filter) }
        EventCodec.settings(settings, &w)
        EventCodec.resourceTags(resourceTags, &w)
        EventCodec.optionalString(lifecyclePolicy, &w)
    }

    init(repoId: UInt64, createdAt: UInt64, mutability: TagMutability) {
        self.repoId = repoId; self.createdAt = createdAt; self.mutability = mutability
    }

    init(_ p: UnsafeRawBufferPointer) throws(DecodingError) {
        var r = BinaryReader(p)
        repoId = try r.u64(); createdAt = try r.u64()
        let mode = TagMutability.Mode.allCases[Int(try r.u8()) % 4]
        var filters: [WildcardFilter] = []
        for _ in 0..<(try r.varint()) { filters.append(WildcardFilter(unchecked: try r.string())) }
        mutability = TagMutability(uncheckedMode: mode, filters: filters)
        settings = try EventCodec.settings(&r)
        resourceTags = try EventCodec.resourceTags(&r)
        lifecyclePolicy = try EventCodec.optionalString(&r)
    }
}

/// An image's projected state; `tags` sorted. Stored as: media type (a one-byte code, or 0 and
/// the name), size (flag, varint), status code, push time, tags.
struct ImageRecord: Equatable {
    /// The media types stored as a code: position + 1. Append only — codes are stored.
    static let mediaTypeCodes = [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    ]

    var mediaType: String
    var size: Int64?
    var status: ImageStatus
    var pushedAt: UInt64
    var tags: [String]
    /// The image this one refers to (an OCI 1.1 referrer), if any.
    var subject: Digest?

    func encoded() -> [UInt8] {
        var w = BinaryWriter()
        encode(into: &w)
        return w.bytes
    }

    func encode(into w: inout BinaryWriter) {
        if let code = Self.mediaTypeCodes.firstIndex(of: mediaType) { w.u8(UInt8(code + 1)) } else { w.u8(0); w.string(mediaType) }
        if let size { w.u8(1); w.varint(UInt64(size)) } else { w.u8(0) }
        w.u8(EventCodec.statusCode(status)); w.u64(pushedAt)
        w.varint(UInt64(tags.count))
        for t in tags { w.string(t) }
        if let subject { w.u8(1); w.digest(subject) } else { w.u8(0) }
    }

    init(mediaType: String, size: Int64?, status: ImageStatus, pushedAt: UInt64, tags: [String], subject: Digest? = nil) {
        self.mediaType = mediaType; self.size = size; self.status = status; self.pushedAt = pushedAt; self.tags = tags
        self.subject = subject
    }

    /// Decodes a stored record; without `mediaType`, leaves it empty (reading state that does
    /// not show it costs a string less per image).
    init(_ p: UnsafeRawBufferPointer, mediaType withMediaType: Bool = true) throws(DecodingError) {
        var r = BinaryReader(p)
        let code = Int(try r.u8())
        if code == 0 {
            if withMediaType { mediaType = try r.string() } else { _ = try r.dataBuffer(); mediaType = "" }
        } else {
            guard code <= Self.mediaTypeCodes.count else { throw DecodingError(reason: "unknown media type code \(code)") }
            mediaType = withMediaType ? Self.mediaTypeCodes[code - 1] : ""
        }
        size = try r.bool() ? Int64(bitPattern: try r.varint()) : nil
        status = try EventCodec.status(code: try r.u8())
        pushedAt = try r.u64()
        tags = []
        for _ in 0..<(try r.varint()) { tags.append(try r.string()) }
        subject = try r.bool() ? try r.digest() : nil
    }
}

/// What a repository holding a blob records: its size and when it was linked.
struct BlobRecord: Equatable {
    var size: Int64
    var linkedAt: UInt64
}

extension BlobRecord: WriterCodec {
    static func encode(_ record: BlobRecord, into w: inout BinaryWriter) { w.varint(UInt64(record.size)); w.u64(record.linkedAt) }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> BlobRecord {
        var r = BinaryReader(bytes)
        let record = BlobRecord(size: Int64(bitPattern: try r.varint()), linkedAt: try r.u64())
        try r.end()
        return record
    }
}

/// A tag's projected state.
struct TagRecord: Equatable {
    var digest: Digest
    var immutable: Bool
    var lastModified: UInt64

    func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: 41)
        encode(into: &w)
        return w.bytes
    }

    func encode(into w: inout BinaryWriter) { w.digest(digest); w.bool(immutable); w.u64(lastModified) }

    init(digest: Digest, immutable: Bool, lastModified: UInt64) {
        self.digest = digest; self.immutable = immutable; self.lastModified = lastModified
    }

    init(_ p: UnsafeRawBufferPointer) throws(DecodingError) {
        var r = BinaryReader(p)
        digest = try r.digest(); immutable = try r.bool(); lastModified = try r.u64()
    }
}

/// A policy as stored in its scope.
enum PolicyRecord {
    static func encode(_ p: Policy) -> [UInt8] {
        var w = BinaryWriter()
        w.string(p.uuid); w.string(p.tagPattern); w.bool(p.tagPatternMatches)
        return w.bytes
    }

    static func decode(_ b: UnsafeRawBufferPointer) throws(DecodingError) -> Policy {
        var r = BinaryReader(b)
        return Policy(uuid: try r.string(), tagPattern: try r.string(), tagPatternMatches: try r.bool())
    }
}

// MARK: value codecs (the tables that hold them: ``ProjectionTables``)

extension RepoRecord: WriterCodec {
    static func encode(_ record: RepoRecord, into w: inout BinaryWriter) { record.encode(into: &w) }
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> RepoRecord { try RepoRecord(bytes) }
}

extension ImageRecord: WriterCodec {
    static func encode(_ record: ImageRecord, into w: inout BinaryWriter) { record.encode(into: &w) }
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> ImageRecord { try ImageRecord(bytes) }
}

extension TagRecord: WriterCodec {
    static func encode(_ record: TagRecord, into w: inout BinaryWriter) { record.encode(into: &w) }
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> TagRecord { try TagRecord(bytes) }
}

extension PolicyRecord: TableCodec {}

/// An image's status as one byte: a `listing` value, an image's content version.
enum ImageStatusCode: TableCodec {
    static func encode(_ status: ImageStatus) -> [UInt8] { [EventCodec.statusCode(status)] }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> ImageStatus {
        guard bytes.count == 1 else { throw DecodingError(reason: "an image status of \(bytes.count) bytes") }
        return try EventCodec.status(code: bytes[0])
    }

    /// Whether `bytes` hold `status`, without decoding them: a listing walk's filter.
    @inline(__always)
    static func holds(_ bytes: UnsafeRawBufferPointer, _ status: ImageStatus) -> Bool {
        bytes.count == 1 && bytes[0] == EventCodec.statusCode(status)
    }
}

/// digest(32) immutable(1): a tag's content version.
enum TagVersionValue: WriterCodec {
    static func encode(_ item: (digest: Digest, immutable: Bool), into w: inout BinaryWriter) { w.digest(item.digest); w.bool(item.immutable) }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> (digest: Digest, immutable: Bool) {
        var r = BinaryReader(bytes)
        let item = (try r.digest(), try r.bool())
        try r.end()
        return item
    }
}
