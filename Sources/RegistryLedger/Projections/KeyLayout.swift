import Foundation
import Crypto

/// Every projection key layout, in one place. Integers are big-endian so keys sort numerically;
/// long names go behind a repository id so that keys stay under LMDB's 511-byte limit.
///
/// | database      | key                                              | value          |
/// |---------------|--------------------------------------------------|----------------|
/// | repos         | registry(12) name                                | RepoRecord     |
/// | images        | repoId(8) digest(32)                             | ImageRecord    |
/// | tags          | repoId(8) tag                                    | TagRecord      |
/// | listing       | repoId(8) kind(1: 0 tagged, 1 untagged) digest(32) [tag] | status(1) |
/// | policies      | scope key, createdSeq(8)                         | PolicyRecord   |
/// | policyIndex   | uuid                                             | scope key, createdSeq(8) |
/// | policyPatterns| scope key, sha256(pattern)(32)                   | uuid           |
/// | organizations | registry(12) name                                | firstSeq(8)    |
/// | counters      | name                                             | u64            |
enum KeyLayout {
    static func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }

    static func readU64(_ p: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt64 {
        UInt64(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    static func repository(_ ref: RepositoryRef) -> [UInt8] {
        Array(ref.registryId.value.utf8) + Array(ref.name.value.utf8)
    }

    /// Prefix of every repository key of `registry` whose name starts with `namePrefix`.
    static func repositoryPrefix(_ registry: RegistryId, namePrefix: String) -> [UInt8] {
        Array(registry.value.utf8) + Array(namePrefix.utf8)
    }

    static func image(_ repoId: UInt64, _ digest: Digest) -> [UInt8] { build(40) { image(repoId, digest, into: &$0) } }

    static func image(_ repoId: UInt64, _ digest: Digest, into w: inout BinaryWriter) { w.u64(repoId); w.digest(digest) }

    static func tag(_ repoId: UInt64, _ tag: String) -> [UInt8] { build(8 + tag.utf8.count) { self.tag(repoId, tag, into: &$0) } }

    static func tag(_ repoId: UInt64, _ tag: String, into w: inout BinaryWriter) { w.u64(repoId); w.utf8(tag) }

    enum ListingKind: UInt8 { case tagged = 0, untagged = 1 }

    static func listing(_ repoId: UInt64, _ digest: Digest, tag: String?) -> [UInt8] {
        build(41 + (tag?.utf8.count ?? 0)) { listing(repoId, digest, tag: tag, into: &$0) }
    }

    static func listing(_ repoId: UInt64, _ digest: Digest, tag: String?, into w: inout BinaryWriter) {
        w.u64(repoId)
        w.u8(tag == nil ? ListingKind.untagged.rawValue : ListingKind.tagged.rawValue)
        w.digest(digest)
        if let tag { w.utf8(tag) }
    }

    private static func build(_ capacity: Int, _ body: (inout BinaryWriter) -> Void) -> [UInt8] {
        var w = BinaryWriter(capacity: capacity)
        body(&w)
        return w.bytes
    }

    static func listingPrefix(_ repoId: UInt64, _ kind: ListingKind) -> [UInt8] { u64(repoId) + [kind.rawValue] }

    static func scope(_ s: PolicyScope) -> [UInt8] {
        switch s {
        case .organization(let r, let org): [0] + Array(r.value.utf8) + Array(org.utf8) + [0]
        case .repository(let r, let name): [1] + Array(r.value.utf8) + Array(name.value.utf8) + [0]
        }
    }

    /// The scope a ``scope(_:)`` key names.
    static func scope(decoding key: UnsafeRawBufferPointer) throws(DecodingError) -> PolicyScope {
        guard key.count >= 15, key[key.count - 1] == 0, key[0] <= 1 else { throw DecodingError(reason: "malformed policy scope key") }
        let registry = RegistryId(unchecked: try BinaryReader.string(UnsafeRawBufferPointer(rebasing: key[1..<13])))
        let name = try BinaryReader.string(UnsafeRawBufferPointer(rebasing: key[13..<(key.count - 1)]))
        return key[0] == 0 ? .organization(registry, name) : .repository(registry, RepositoryName(unchecked: name))
    }

    static func policyPattern(_ s: PolicyScope, _ pattern: String) -> [UInt8] {
        scope(s) + Array(SHA256.hash(data: Array(pattern.utf8)))
    }

    static func organization(_ registry: RegistryId, _ name: String) -> [UInt8] {
        Array(registry.value.utf8) + Array(name.utf8)
    }

    // MARK: decoding (each layout's other half, so that no reader elsewhere counts bytes)

    /// The repository a ``repository(_:)`` key names.
    static func repository(decoding key: some Collection<UInt8>) -> RepositoryRef {
        RepositoryRef(registryId: RegistryId(unchecked: String(decoding: key.prefix(12), as: UTF8.self)),
                      name: RepositoryName(unchecked: String(decoding: key.dropFirst(12), as: UTF8.self)))
    }

    /// The organization an ``organization(_:_:)`` key names.
    static func organization(decoding key: some Collection<UInt8>) -> (RegistryId, String) {
        (RegistryId(unchecked: String(decoding: key.prefix(12), as: UTF8.self)), String(decoding: key.dropFirst(12), as: UTF8.self))
    }

    /// The tag a ``tag(_:_:)`` key names.
    static func tagName(decoding key: UnsafeRawBufferPointer) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: key[8...]), as: UTF8.self)
    }

    /// The digest an ``image(_:_:)`` key names.
    static func imageDigest(decoding key: UnsafeRawBufferPointer) -> Digest {
        Digest(rawPointer: UnsafeRawBufferPointer(rebasing: key[8..<40]))
    }

    /// The entry a ``listing(_:_:tag:)`` key names.
    @inline(__always)
    static func listingEntry(decoding key: UnsafeRawBufferPointer) -> (digest: Digest, tag: String?) {
        let digest = Digest(rawPointer: UnsafeRawBufferPointer(rebasing: key[9..<41]))
        let tag = key[8] == ListingKind.tagged.rawValue ? String(decoding: UnsafeRawBufferPointer(rebasing: key[41...]), as: UTF8.self) : nil
        return (digest, tag)
    }

    /// The creation seq a `policies` key (scope key, createdSeq(8)) ends with.
    static func policySeq(decoding key: UnsafeRawBufferPointer) -> UInt64 { readU64(key, at: key.count - 8) }

    /// LMDB's largest key (the default build's `mdb_env_get_maxkeysize`).
    static let maxKeyLength = 511

    /// Whether `a` sorts before `b` as LMDB orders keys: bytewise, a prefix before its extensions.
    static func sortsBefore(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool { compare(a, b) < 0 }

    /// Negative, zero or positive as `a` sorts before, with or after `b` in LMDB's order.
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        let c = n == 0 ? 0 : Int(memcmp(a.baseAddress!, b.baseAddress!, n))
        return c != 0 ? c : a.count - b.count
    }

    /// Whether `key` starts with `prefix`.
    static func hasPrefix(_ key: UnsafeRawBufferPointer, _ prefix: [UInt8]) -> Bool {
        guard key.count >= prefix.count else { return false }
        return prefix.withUnsafeBytes { p in p.isEmpty || memcmp(key.baseAddress!, p.baseAddress!, p.count) == 0 }
    }
}
