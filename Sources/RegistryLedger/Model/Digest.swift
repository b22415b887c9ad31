import Crypto

/// A SHA-256 content digest, `sha256:` + 64 lowercase hex digits, held as 32 raw bytes.
///
/// Compares in byte order, which is the order of its string form.
public struct Digest: Hashable, Comparable, Sendable, CustomStringConvertible {
    // Big-endian words: comparing them in order compares the bytes.
    let w0, w1, w2, w3: UInt64

    /// Parses `sha256:<64 lowercase hex>`.
    /// - Throws: `InvalidParameterException` for any other form.
    public init(_ string: String) throws(LedgerError) {
        let utf8 = Array(string.utf8)
        guard utf8.count == 71, utf8.starts(with: Array("sha256:".utf8)) else { throw Self.badForm }
        var words: [UInt64] = [0, 0, 0, 0]
        for i in 0..<64 {
            let c = utf8[7 + i]
            let nibble: UInt64
            switch c {
            case 0x30...0x39: nibble = UInt64(c - 0x30)
            case 0x61...0x66: nibble = UInt64(c - 0x61 + 10)
            default: throw Self.badForm
            }
            words[i / 16] = words[i / 16] << 4 | nibble
        }
        (w0, w1, w2, w3) = (words[0], words[1], words[2], words[3])
    }

    /// The digest of `bytes`.
    public init(of bytes: [UInt8]) {
        self.init(rawBytes: Array(SHA256.hash(data: bytes)))
    }

    /// From 32 raw bytes (as stored in keys and records, or a SHA-256 hasher's result).
    public init(rawBytes b: some Collection<UInt8>) {
        precondition(b.count == 32)
        var words: [UInt64] = [0, 0, 0, 0]
        for (i, byte) in b.enumerated() { words[i / 8] = words[i / 8] << 8 | UInt64(byte) }
        (w0, w1, w2, w3) = (words[0], words[1], words[2], words[3])
    }

    init(rawPointer p: UnsafeRawBufferPointer) {
        w0 = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        w1 = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        w2 = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        w3 = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    /// The 32 raw bytes.
    var rawBytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        appendRaw(to: &out)
        return out
    }

    func appendRaw(to out: inout [UInt8]) {
        withUnsafeBytes(of: (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian)) { out.append(contentsOf: $0) }
    }

    /// Appends ``description``'s UTF-8 (`sha256:` + hex) to `out` without making a String.
    public func appendDescription(to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 71) { buffer in
            var at = 0
            for byte in "sha256:".utf8 { buffer[at] = byte; at += 1 }
            func hex(_ w: UInt64) {
                var shift: UInt64 = 60
                for _ in 0..<16 {
                    let nibble = UInt8((w >> shift) & 0xF)
                    buffer[at] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
                    at += 1
                    shift &-= 4
                }
            }
            hex(w0); hex(w1); hex(w2); hex(w3)
            out.append(contentsOf: UnsafeBufferPointer(buffer))
        }
    }

    /// The 64 lowercase hex digits.
    public var hex: String { String(description.dropFirst(7)) }

    /// `sha256:` + hex.
    public var description: String {
        String(unsafeUninitializedCapacity: 71) { buf in
            let prefix = Array("sha256:".utf8)
            for i in 0..<7 { buf[i] = prefix[i] }
            let hex = Array("0123456789abcdef".utf8)
            var o = 7
            for w in [w0, w1, w2, w3] {
                var shift: UInt64 = 60
                for _ in 0..<16 {
                    buf[o] = hex[Int((w >> shift) & 0xF)]
                    o += 1
                    shift &-= 4
                }
            }
            return 71
        }
    }

    public static func < (a: Digest, b: Digest) -> Bool { (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3) }

    /// Hashes the first word only: a SHA-256 output is uniform already. The store computes every
    /// digest it keeps; digests a client names (at most 100 image ids a request) could share a
    /// first word, which costs that request's own small set some probes. Equality compares all
    /// 32 bytes.
    public func hash(into hasher: inout Hasher) { hasher.combine(w0) }

    private static let badForm = LedgerError.invalid(
        "Invalid parameter at 'imageDigest' failed to satisfy constraint: 'must be sha256: followed by 64 lowercase hex digits'")
}
