import LMDB
/// Appends fields in the ledger's binary encoding: fixed big-endian integers, LEB128 varints,
/// length-prefixed UTF-8 strings and byte strings.
struct BinaryWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 128) { bytes.reserveCapacity(capacity) }

    /// Empties the writer, keeping its storage for the next use.
    mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }

    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func data(_ d: [UInt8]) { d.withUnsafeBytes { data($0) } }

    /// What `body` writes, behind its length (as ``data(_:)`` writes it), without a copy when
    /// it is under 128 bytes.
    mutating func data(_ body: (inout BinaryWriter) -> Void) {
        let start = bytes.count
        bytes.append(0)
        body(&self)
        let count = bytes.count - start - 1
        if count < 0x80 {
            bytes[start] = UInt8(count)
        } else {
            var length = BinaryWriter(capacity: 10)
            length.varint(UInt64(count))
            bytes.replaceSubrange(start..<start + 1, with: length.bytes)
        }
    }

    mutating func data(_ d: UnsafeRawBufferPointer) {
        varint(UInt64(d.count))
        bytes.append(contentsOf: d)
    }

    mutating func raw(_ d: [UInt8]) { bytes.append(contentsOf: d) }
    mutating func raw(_ d: UnsafeRawBufferPointer) { bytes.append(contentsOf: d) }
    /// A string's UTF-8 bytes without a length (the end of a key).
    mutating func utf8(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }
    mutating func digest(_ d: Digest) { d.appendRaw(to: &bytes) }
}

/// A malformed record: truncated, an unknown type or version, or a field out of range.
public struct DecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: String
    public var description: String { "malformed record: \(reason)" }
}

extension Error {
    /// Whether the error says stored bytes are malformed: a record's (``DecodingError``) or a
    /// table row's (the LMDB module's codecs).
    var isMalformedData: Bool { self is DecodingError || self is TableCodecError }
}

/// Reads fields written by ``BinaryWriter`` from a borrowed buffer, checking every length.
struct BinaryReader {
    let buffer: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    var isAtEnd: Bool { offset == buffer.count }
    var remaining: Int { buffer.count - offset }

    @inline(__always)
    private mutating func take(_ n: Int) throws(DecodingError) -> UnsafeRawBufferPointer {
        guard n >= 0, n <= remaining else { throw DecodingError(reason: "truncated at byte \(offset)") }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + n])
    }

    mutating func u8() throws(DecodingError) -> UInt8 { try take(1)[0] }

    mutating func bool() throws(DecodingError) -> Bool {
        switch try u8() {
        case 0: false
        case 1: true
        default: throw DecodingError(reason: "bad boolean at byte \(offset - 1)")
        }
    }

    mutating func u16() throws(DecodingError) -> UInt16 {
        UInt16(bigEndian: try take(2).loadUnaligned(as: UInt16.self))
    }

    mutating func u64() throws(DecodingError) -> UInt64 {
        UInt64(bigEndian: try take(8).loadUnaligned(as: UInt64.self))
    }

    mutating func varint() throws(DecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            guard shift < 64, !(shift == 63 && byte > 1) else { throw DecodingError(reason: "varint overflow") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    private mutating func length() throws(DecodingError) -> Int {
        let n = try varint()
        guard n <= UInt64(remaining) else { throw DecodingError(reason: "length \(n) past end at byte \(offset)") }
        return Int(n)
    }

    mutating func string() throws(DecodingError) -> String { try Self.string(try take(try length())) }

    /// `raw` as UTF-8. Names, tags and digests are ASCII: checking that in one pass skips the
    /// generic validating initializer (a quarter of a record's decoding time).
    static func string(_ raw: UnsafeRawBufferPointer) throws(DecodingError) -> String {
        if raw.allSatisfy({ $0 < 0x80 }) { return String(decoding: raw, as: UTF8.self) }
        guard let s = String(validating: raw, as: UTF8.self) else { throw DecodingError(reason: "invalid UTF-8") }
        return s
    }

    /// A media type: one of ``Manifest/mediaTypes`` costs no allocation.
    mutating func mediaType() throws(DecodingError) -> String {
        let start = offset
        if let known = Manifest.knownMediaType(try take(try length())) { return known }
        offset = start
        return try string()
    }

    mutating func data() throws(DecodingError) -> [UInt8] { Array(try take(try length())) }
    mutating func raw(_ n: Int) throws(DecodingError) -> [UInt8] { Array(try take(n)) }
    mutating func rawBuffer(_ n: Int) throws(DecodingError) -> UnsafeRawBufferPointer { try take(n) }
    /// A length-prefixed run of bytes, borrowed from the buffer.
    mutating func dataBuffer() throws(DecodingError) -> UnsafeRawBufferPointer { try take(try length()) }
    mutating func digest() throws(DecodingError) -> Digest { Digest(rawPointer: try take(32)) }
    /// Every byte not read yet.
    mutating func rest() -> UnsafeRawBufferPointer { try! take(remaining) }
    /// The bytes before the last `n`, leaving those. - Throws: when fewer than `n` remain.
    mutating func allBut(_ n: Int) throws(DecodingError) -> UnsafeRawBufferPointer { try take(remaining - n) }
    /// Throws unless every byte has been read.
    func end() throws(DecodingError) {
        guard isAtEnd else { throw DecodingError(reason: "\(remaining) bytes past the end") }
    }
}
