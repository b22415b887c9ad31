import Foundation
import Crypto
import LMDB

/// A codec that writes straight into a ``BinaryWriter`` (rows are built into shared buffers when
/// a whole state is written out); its `encode` to bytes follows from that.
protocol WriterCodec: TableCodec {
    static func encode(_ item: Item, into w: inout BinaryWriter)
}

extension WriterCodec {
    static func encode(_ item: Item) -> [UInt8] {
        var w = BinaryWriter(capacity: 64)
        encode(item, into: &w)
        return w.bytes
    }
}

// Key layouts: integers are big-endian so that keys sort numerically; long names go behind a
// repository id or a history id so that keys stay under LMDB's 511-byte limit
// (``KeyOrder/maxKeyLength``). Each table's declaration names its codecs:
// ``ProjectionTables``, ``LogTables``, ``StateTables``.

/// registry(12) name: a repository (`repos`) or, with the value codec's role, `repoHistory`'s value.
enum RepositoryKey: WriterCodec {
    static func encode(_ ref: RepositoryRef, into w: inout BinaryWriter) { w.utf8(ref.registryId.value); w.utf8(ref.name.value) }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> RepositoryRef {
        let (registry, name) = try OrganizationKey.decode(bytes)
        return RepositoryRef(registryId: registry, name: RepositoryName(unchecked: name))
    }

    /// The keys of `registry`'s repositories whose name starts with `namePrefix`.
    static func prefix(_ registry: RegistryId, namePrefix: String = "") -> [UInt8] {
        OrganizationKey.encode((registry, namePrefix))
    }
}

/// registry(12) name: an organization (`organizations`).
enum OrganizationKey: WriterCodec {
    static func encode(_ item: (registry: RegistryId, name: String), into w: inout BinaryWriter) {
        w.utf8(item.registry.value); w.utf8(item.name)
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> (registry: RegistryId, name: String) {
        var r = BinaryReader(bytes)
        let registry = RegistryId(unchecked: try BinaryReader.string(try r.rawBuffer(12)))
        return (registry, try BinaryReader.string(r.rest()))
    }
}

/// repoId(8) digest(32): an image (`images`).
enum ImageKey: WriterCodec {
    static func encode(_ item: (repoId: UInt64, digest: Digest), into w: inout BinaryWriter) { w.u64(item.repoId); w.digest(item.digest) }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> (repoId: UInt64, digest: Digest) {
        var r = BinaryReader(bytes)
        let item = (try r.u64(), try r.digest())
        try r.end()
        return item
    }

    /// Every image key of one repository.
    static func prefix(_ repoId: UInt64) -> [UInt8] { BigEndianU64.encode(repoId) }
}

/// repoId(8) subject(32) referrer(32): an image that refers to another (`referrers`).
enum ReferrerKey: WriterCodec {
    static func encode(_ item: (repoId: UInt64, subject: Digest, referrer: Digest), into w: inout BinaryWriter) {
        w.u64(item.repoId); w.digest(item.subject); w.digest(item.referrer)
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> (repoId: UInt64, subject: Digest, referrer: Digest) {
        var r = BinaryReader(bytes)
        let item = (try r.u64(), try r.digest(), try r.digest())
        try r.end()
        return item
    }

    /// Every referrer key of one subject.
    static func prefix(_ repoId: UInt64, _ subject: Digest) -> [UInt8] { BigEndianU64.encode(repoId) + subject.rawBytes }
}

/// repoId(8) tag: a tag (`tags`).
enum TagKey: WriterCodec {
    static func encode(_ item: (repoId: UInt64, tag: String), into w: inout BinaryWriter) { w.u64(item.repoId); w.utf8(item.tag) }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> (repoId: UInt64, tag: String) {
        var r = BinaryReader(bytes)
        return (try r.u64(), try BinaryReader.string(r.rest()))
    }

    /// The tag's UTF-8 in a key, without copying it.
    static func name(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> UnsafeRawBufferPointer {
        guard bytes.count > 8 else { throw DecodingError(reason: "tag key of \(bytes.count) bytes") }
        return UnsafeRawBufferPointer(rebasing: bytes[8...])
    }

    /// Every tag key of one repository.
    static func prefix(_ repoId: UInt64) -> [UInt8] { BigEndianU64.encode(repoId) }

    /// The smallest key after `tag`'s: the same bytes followed by a zero byte.
    static func after(_ repoId: UInt64, _ tag: String) -> [UInt8] { encode((repoId, tag)) + [0] }
}

/// repoId(8) kind(1: 0 tagged, 1 untagged) digest(32) [tag]: one ListImages entry (`listing`).
/// Tagged entries sort before untagged ones, each by digest, then tag.
enum ListingKey: WriterCodec {
    enum Kind: UInt8 { case tagged = 0, untagged = 1 }

    static func encode(_ item: (repoId: UInt64, digest: Digest, tag: String?), into w: inout BinaryWriter) {
        w.u64(item.repoId)
        w.u8(item.tag == nil ? Kind.untagged.rawValue : Kind.tagged.rawValue)
        w.digest(item.digest)
        if let tag = item.tag { w.utf8(tag) }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> (repoId: UInt64, digest: Digest, tag: String?) {
        let (digest, tag) = entry(tail: try tail(bytes))
        return (BigEndianU64.read(bytes, at: 0), digest, tag.isEmpty ? nil : String(decoding: tag, as: UTF8.self))
    }

    /// The entry a key names, without its repository, as the key holds it: the digest's 32 raw
    /// bytes, then the tag's UTF-8 (none for an untagged image). Checked, not decoded: ListImages
    /// copies it into its page as it is (``ImageEntries``).
    @inline(__always)
    static func tail(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> UnsafeRawBufferPointer {
        switch bytes.count > 8 ? bytes[8] : nil {
        case Kind.tagged.rawValue where bytes.count > 41, Kind.untagged.rawValue where bytes.count == 41:
            return UnsafeRawBufferPointer(rebasing: bytes[9...])
        default: throw DecodingError(reason: "listing key of \(bytes.count) bytes, kind \(bytes.count > 8 ? Int(bytes[8]) : -1)")
        }
    }

    /// The digest and the tag's UTF-8 (empty when untagged) of a key's ``tail(_:)``.
    @inline(__always)
    static func entry(tail: UnsafeRawBufferPointer) -> (digest: Digest, tag: UnsafeRawBufferPointer) {
        (Digest(rawPointer: UnsafeRawBufferPointer(rebasing: tail[..<32])), UnsafeRawBufferPointer(rebasing: tail[32...]))
    }

    /// Every listing key of one repository, or of one kind of its entries.
    static func prefix(_ repoId: UInt64, _ kind: Kind? = nil) -> [UInt8] {
        BigEndianU64.encode(repoId) + (kind.map { [$0.rawValue] } ?? [])
    }
}

/// kind(1: 0 organization, 1 repository) registry(12) name 0: a policy scope.
enum PolicyScopeKey: WriterCodec {
    static func encode(_ scope: PolicyScope, into w: inout BinaryWriter) {
        switch scope {
        case .organization(let r, let org): w.u8(0); w.utf8(r.value); w.utf8(org)
        case .repository(let r, let name): w.u8(1); w.utf8(r.value); w.utf8(name.value)
        }
        w.u8(0)
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> PolicyScope {
        var r = BinaryReader(bytes)
        let kind = try r.u8()
        let registry = RegistryId(unchecked: try BinaryReader.string(try r.rawBuffer(12)))
        let name = try BinaryReader.string(try r.allBut(1))
        guard kind <= 1, try r.u8() == 0 else { throw DecodingError(reason: "malformed policy scope key") }
        return kind == 0 ? .organization(registry, name) : .repository(registry, RepositoryName(unchecked: name))
    }
}

/// scope key, sha256(pattern)(32): which policy of a scope holds a pattern (`policyPatterns`).
enum PolicyPatternKey: WriterCodec {
    struct Item: Equatable {
        let scope: PolicyScope
        let patternHash: Digest

        init(_ scope: PolicyScope, pattern: String) {
            self.scope = scope
            patternHash = SHA256.hash(data: Array(pattern.utf8)).withUnsafeBytes { Digest(rawPointer: $0) }
        }

        fileprivate init(scope: PolicyScope, patternHash: Digest) { (self.scope, self.patternHash) = (scope, patternHash) }
    }

    static func encode(_ item: Item, into w: inout BinaryWriter) { PolicyScopeKey.encode(item.scope, into: &w); w.digest(item.patternHash) }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> Item {
        var r = BinaryReader(bytes)
        let scope = try PolicyScopeKey.decode(try r.allBut(32))
        return Item(scope: scope, patternHash: try r.digest())
    }
}

/// A repository's history id (16): SHA-256(registry, 0, name) cut short, the same across its
/// deletion and re-creation (``HistoryIndex``).
enum HistoryIdKey: WriterCodec {
    static let length = 16

    static func of(_ ref: RepositoryRef) -> [UInt8] {
        Array(SHA256.hash(data: Array(ref.registryId.value.utf8) + [0] + Array(ref.name.value.utf8)).prefix(length))
    }

    static func encode(_ id: [UInt8], into w: inout BinaryWriter) { w.raw(id) }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> [UInt8] {
        guard bytes.count == length else { throw DecodingError(reason: "history id of \(bytes.count) bytes") }
        return Array(bytes)
    }
}

/// history id(16) tag 0: one tag of a repository's history (tags hold no 0, so one tag's rows
/// never interleave with a longer tag's).
enum HistoryTagKey: WriterCodec {
    static func encode(_ item: (historyId: [UInt8], tag: String), into w: inout BinaryWriter) {
        w.raw(item.historyId); w.utf8(item.tag); w.u8(0)
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> (historyId: [UInt8], tag: String) {
        var r = BinaryReader(bytes)
        let id = try r.raw(HistoryIdKey.length)
        let tag = try BinaryReader.string(try r.allBut(1))
        guard try r.u8() == 0 else { throw DecodingError(reason: "history tag key without its end") }
        return (id, tag)
    }
}

/// repoId(8) kind(1) entity: what a content version is about — an image (digest(32)), a
/// repository-scope policy (creation seq(8)) or a tag (its bytes and a 0).
enum ContentEntityKey: WriterCodec {
    enum Entity: Equatable {
        case image(Digest)
        case policy(createdSeq: UInt64)
        case tag(String)
    }

    static let imageKind: UInt8 = 0, policyKind: UInt8 = 1, tagKind: UInt8 = 2

    static func encode(_ item: (repoId: UInt64, entity: Entity), into w: inout BinaryWriter) {
        w.u64(item.repoId)
        switch item.entity {
        case .image(let d): w.u8(imageKind); w.digest(d)
        case .policy(let seq): w.u8(policyKind); w.u64(seq)
        case .tag(let t): w.u8(tagKind); w.utf8(t); w.u8(0)
        }
    }

    /// Time travel decodes one of these per version it reads: fixed offsets, no reader.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> (repoId: UInt64, entity: Entity) {
        guard bytes.count >= 9 else { throw DecodingError(reason: "content key of \(bytes.count) bytes") }
        let body = UnsafeRawBufferPointer(rebasing: bytes[9...])
        let entity: Entity
        switch bytes[8] {
        case imageKind where body.count == 32: entity = .image(Digest(rawPointer: body))
        case policyKind where body.count == 8: entity = .policy(createdSeq: BigEndianU64.read(body, at: 0))
        case tagKind where body.count > 1 && body[body.count - 1] == 0:
            entity = .tag(try BinaryReader.string(UnsafeRawBufferPointer(rebasing: body[..<(body.count - 1)])))
        case let kind: throw DecodingError(reason: "content key of kind \(kind) and \(bytes.count) bytes")
        }
        return (BigEndianU64.read(bytes, at: 0), entity)
    }

    /// Every content key of one repository.
    static func prefix(_ repoId: UInt64) -> [UInt8] { BigEndianU64.encode(repoId) }
}

/// `Head`'s key, then seq(8): rows ordered by seq under one head — a policy by creation seq,
/// an index of events, every version of one entity.
enum ThenSeq<Head: WriterCodec>: WriterCodec {
    static func encode(_ item: (head: Head.Item, seq: UInt64), into w: inout BinaryWriter) { Head.encode(item.head, into: &w); w.u64(item.seq) }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> (head: Head.Item, seq: UInt64) {
        (try Head.decode(try head(of: bytes)), try seq(of: bytes))
    }

    /// Every key under `head`.
    static func prefix(_ head: Head.Item) -> [UInt8] { Head.encode(head) }

    /// The seq a key ends with.
    @inline(__always)
    static func seq(of key: UnsafeRawBufferPointer) throws(DecodingError) -> UInt64 {
        guard key.count >= 8 else { throw DecodingError(reason: "a seq key of \(key.count) bytes") }
        return BigEndianU64.read(key, at: key.count - 8)
    }

    /// The head's bytes of a key: all but its seq.
    @inline(__always)
    static func head(of key: UnsafeRawBufferPointer) throws(DecodingError) -> UnsafeRawBufferPointer {
        guard key.count >= 8 else { throw DecodingError(reason: "a seq key of \(key.count) bytes") }
        return UnsafeRawBufferPointer(rebasing: key[..<(key.count - 8)])
    }

    /// The key of the row at `seq` under the head whose bytes are `head`.
    static func key(head: UnsafeRawBufferPointer, seq: UInt64) -> [UInt8] {
        var w = BinaryWriter(capacity: head.count + 8)
        encode(head: head, seq: seq, into: &w)
        return w.bytes
    }

    static func encode(head: UnsafeRawBufferPointer, seq: UInt64, into w: inout BinaryWriter) { w.raw(head); w.u64(seq) }
}

/// How LMDB orders keys, for code that sorts rows before writing them in key order.
enum KeyOrder {
    /// LMDB's largest key (the default build's `mdb_env_get_maxkeysize`).
    static let maxKeyLength = 511

    /// Negative, zero or positive as `a` sorts before, with or after `b` in LMDB's order.
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        let c = n == 0 ? 0 : Int(memcmp(a.baseAddress!, b.baseAddress!, n))
        return c != 0 ? c : a.count - b.count
    }
}
