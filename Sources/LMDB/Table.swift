#if canImport(Glibc)
import Glibc
#endif

/// A named LMDB database with the layout of its keys and values (heed's `Database<KC, DC>`):
/// transactions read and write `Key.Item`s and `Value.Item`s, never bytes.
///
/// Declare each table once, where its environment's tables are listed. Handles are plain
/// values, valid for the life of the environment that opened them.
public struct Table<Key: TableCodec, Value: TableCodec>: Sendable, Hashable {
    @usableFromInline let database: Database

    @usableFromInline init(_ database: Database) { self.database = database }

    /// The database's name in its environment.
    public var name: String { database.name }

    /// The same database read and written as bytes: for code that digests, copies or damages
    /// rows whatever their layout (state digests, rebuilds, tests of damage).
    public var raw: Table<RawBytes, RawBytes> { Table<RawBytes, RawBytes>(database) }

    /// One row, lent from the map: valid until the next move or write of its cursor or
    /// transaction. Decoding is lazy: a walk decodes only what it looks at.
    public struct Entry {
        /// The key's bytes, for the key codec's partial decoders (and hashing).
        public let rawKey: UnsafeRawBufferPointer
        /// The value's bytes, for the value codec's partial decoders (and hashing).
        public let rawValue: UnsafeRawBufferPointer

        @inlinable init(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
            (rawKey, rawValue) = (key, value)
        }

        /// The decoded key. - Throws: what the key codec throws for malformed bytes.
        @inlinable public func key() throws -> Key.Item { try Key.decode(rawKey) }
        /// The decoded value. - Throws: what the value codec throws for malformed bytes.
        @inlinable public func value() throws -> Value.Item { try Value.decode(rawValue) }

        /// Whether the key starts with `prefix` (bytes a key codec built).
        @inlinable public func keyHasPrefix(_ prefix: [UInt8]) -> Bool { prefix.withUnsafeBytes { rawKey.hasPrefix($0) } }
        /// Whether the key starts with `prefix`, borrowed for a walk's duration.
        @inlinable public func keyHasPrefix(_ prefix: UnsafeRawBufferPointer) -> Bool { rawKey.hasPrefix(prefix) }
    }
}

/// One named value of a table keyed by name — a setting, a counter — with its own value codec.
public struct Setting<Value: TableCodec>: Sendable {
    @usableFromInline let table: Table<UTF8Text, Value>
    /// The key it is stored under.
    public let name: String

    /// The value named `name` in `table` (whose other values may have other layouts).
    public init<V>(_ name: String, in table: Table<UTF8Text, V>) {
        self.table = Table(table.database)
        self.name = name
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes start with `prefix`.
    @inlinable func hasPrefix(_ prefix: UnsafeRawBufferPointer) -> Bool {
        guard count >= prefix.count else { return false }
        guard prefix.count >= 8 else { return prefix.isEmpty || memcmp(baseAddress!, prefix.baseAddress!, prefix.count) == 0 }
        // Most prefixes are an id (8 bytes) and a kind: one word compared, then the rest.
        guard loadUnaligned(as: UInt64.self) == prefix.loadUnaligned(as: UInt64.self) else { return false }
        return prefix.count == 8 || memcmp(baseAddress! + 8, prefix.baseAddress! + 8, prefix.count - 8) == 0
    }
}
