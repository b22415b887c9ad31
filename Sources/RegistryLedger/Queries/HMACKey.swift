import Crypto

/// An HMAC-SHA256 key prepared once (RFC 2104): the hash states after the key's padded inner and
/// outer blocks, so that each code costs its message and one outer block instead of deriving
/// both from the key again — page tokens and request signatures are checked on every request.
package struct HMACKey: @unchecked Sendable {
    // Unchecked: the two states are never mutated after init; every code works on copies, and
    // `SHA256` copies its context before a copy's first write.
    private let inner: SHA256
    private let outer: SHA256

    package init(_ key: some Sequence<UInt8>) {
        var block = Array(key)
        if block.count > 64 { block = Array(SHA256.hash(data: block)) }
        block += [UInt8](repeating: 0, count: 64 - block.count)
        var inner = SHA256()
        inner.update(data: block.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(data: block.map { $0 ^ 0x5c })
        (self.inner, self.outer) = (inner, outer)
    }

    /// HMAC-SHA256 of the bytes `message` feeds into the hash it is lent.
    package func code(_ message: (inout SHA256) -> Void) -> SHA256.Digest {
        var hash = inner
        message(&hash)
        var outerHash = outer
        hash.finalize().withUnsafeBytes { outerHash.update(bufferPointer: $0) }
        return outerHash.finalize()
    }

    /// HMAC-SHA256 of `message`.
    package func code(_ message: [UInt8]) -> SHA256.Digest {
        code { hash in message.withUnsafeBytes { hash.update(bufferPointer: $0) } }
    }
}
