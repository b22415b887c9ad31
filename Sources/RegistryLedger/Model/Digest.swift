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
        self.init(sha256: SHA256.hash(data: bytes))
    }

    /// The digest of the bytes `buffer` lends.
    init(of buffer: UnsafeRawBufferPointer) {
        self.init(sha256: SHA256.hash(data: buffer))
    }

    /// A SHA-256 hasher's result, read in place.
    public init(sha256: SHA256Digest) {
        self = sha256.withUnsafeBytes { Digest(rawPointer: $0) }
    }

    /// From 32 raw bytes (as stored in keys and records, or a SHA-256 hasher's result).
    public init(rawBytes b: some Collection<UInt8>) {
        precondition(b.count == 32)
        self = Array(b).withUnsafeBytes { Digest(rawPointer: $0) }
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
        // Written on the stack, appended in one copy (no shared buffer: its reference count
        // would be contended by every thread writing answers).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 71) { buffer in
            writeDescription(into: UnsafeMutableRawBufferPointer(buffer))
            out.append(contentsOf: UnsafeBufferPointer(buffer))
        }
    }

    /// Writes `sha256:` and the 64 lowercase hex digits into the 71 bytes of `buffer`, eight
    /// digits at a time (every listing page writes a hundred digests).
    @inline(__always)
    private func writeDescription(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= 71)
        buffer.storeBytes(of: Self.prefixBytes, toByteOffset: 0, as: UInt64.self)  // "sha256:" and a byte overwritten next
        @inline(__always) func write(_ word: UInt64, at offset: Int) {
            buffer.storeBytes(of: Self.eightDigits(word >> 32).bigEndian, toByteOffset: offset, as: UInt64.self)
            buffer.storeBytes(of: Self.eightDigits(word & 0xFFFF_FFFF).bigEndian, toByteOffset: offset + 8, as: UInt64.self)
        }
        write(w0, at: 7)
        write(w1, at: 23)
        write(w2, at: 39)
        write(w3, at: 55)
    }

    /// "sha256:" in memory order, padded to a word.
    private static let prefixBytes = UInt64(littleEndian: 0x003A_3635_3261_6873)

    /// The 8 lowercase hex digits of a 32-bit value, the first in the top byte.
    @inline(__always)
    private static func eightDigits(_ value: UInt64) -> UInt64 {
        // Spread the 8 nibbles into 8 bytes ...
        var x = ((value & 0xFFFF_0000) << 16) | (value & 0x0000_FFFF)
        x = ((x & 0x0000_FF00_0000_FF00) << 8) | (x & 0x0000_00FF_0000_00FF)
        x = ((x & 0x00F0_00F0_00F0_00F0) << 4) | (x & 0x000F_000F_000F_000F)
        // ... then '0' + n, and 39 more for n ≥ 10 (n + 6 carries into bit 4 exactly then).
        let letters = ((x &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        return x &+ 0x3030_3030_3030_3030 &+ letters &* 0x27
    }

    /// The 64 lowercase hex digits.
    public var hex: String { String(description.dropFirst(7)) }

    /// `sha256:` + hex.
    public var description: String {
        String(unsafeUninitializedCapacity: 71) { buffer in
            writeDescription(into: UnsafeMutableRawBufferPointer(buffer))
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
