/// How one side of a table — its keys or its values — is laid out in bytes (heed's
/// `BytesEncode`/`BytesDecode` pair). Each table layout is one codec pair, declared once; no code
/// outside a codec reads a byte offset.
public protocol TableCodec {
    /// What the bytes stand for.
    associatedtype Item
    /// The bytes of `item`.
    static func encode(_ item: Item) -> [UInt8]
    /// The item `bytes` hold. - Throws: when they are malformed.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> Item
}

/// Bytes as they are: for tables whose bytes are opaque (a content store) and for raw views of a
/// table (``Table/raw``) that digests, copies or damages rows without knowing their layout.
public enum RawBytes: TableCodec {
    @inlinable public static func encode(_ item: [UInt8]) -> [UInt8] { item }
    @inlinable public static func decode(_ bytes: UnsafeRawBufferPointer) -> [UInt8] { Array(bytes) }
}

/// UTF-8 text (names of settings, ids).
public enum UTF8Text: TableCodec {
    @inlinable public static func encode(_ item: String) -> [UInt8] { Array(item.utf8) }
    @inlinable public static func decode(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes, as: UTF8.self) }
}

/// An unsigned 64-bit integer, big-endian so that keys sort numerically (sequence numbers).
public enum BigEndianU64: TableCodec {
    @inlinable public static func encode(_ item: UInt64) -> [UInt8] { withUnsafeBytes(of: item.bigEndian) { Array($0) } }

    @inlinable public static func decode(_ bytes: UnsafeRawBufferPointer) throws(TableCodecError) -> UInt64 {
        guard bytes.count == 8 else { throw TableCodecError("an 8-byte integer of \(bytes.count) bytes") }
        return read(bytes, at: 0)
    }

    /// The integer stored at `offset` of `bytes`, which must hold 8 bytes there.
    @inlinable public static func read(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

/// One byte (a format number, a generation).
public enum SingleByte: TableCodec {
    @inlinable public static func encode(_ item: UInt8) -> [UInt8] { [item] }

    @inlinable public static func decode(_ bytes: UnsafeRawBufferPointer) throws(TableCodecError) -> UInt8 {
        guard bytes.count == 1 else { throw TableCodecError("a one-byte value of \(bytes.count) bytes") }
        return bytes[0]
    }
}

/// No bytes at all: index tables whose keys say everything.
public enum NoValue: TableCodec {
    @inlinable public static func encode(_ item: Void) -> [UInt8] { [] }
    @inlinable public static func decode(_ bytes: UnsafeRawBufferPointer) throws(TableCodecError) {
        guard bytes.isEmpty else { throw TableCodecError("an empty value of \(bytes.count) bytes") }
    }
}

/// A value or nothing, nothing stored as no bytes: the versions of a temporal index, where an
/// entity that was deleted at a seq has an empty version there. `Wrapped` never encodes empty.
public enum EmptyMeansNone<Wrapped: TableCodec>: TableCodec {
    @inlinable public static func encode(_ item: Wrapped.Item?) -> [UInt8] { item.map(Wrapped.encode) ?? [] }
    @inlinable public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> Wrapped.Item? {
        bytes.isEmpty ? nil : try Wrapped.decode(bytes)
    }
}

/// Bytes that do not hold what their codec lays out.
public struct TableCodecError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    @inlinable public init(_ reason: String) { self.reason = reason }
    public var description: String { "malformed row: \(reason)" }
}
