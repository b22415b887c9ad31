import CLMDB

/// A position in one table, lent by ``ReadingTransaction/withCursor(_:_:)``.
///
/// Each move returns the row it lands on (lent from the map: valid until the next move or
/// write), or nil past either end.
public struct Cursor<Key: TableCodec, Value: TableCodec> {
    public typealias Entry = Table<Key, Value>.Entry

    @usableFromInline let handle: OpaquePointer

    @usableFromInline init(_ handle: OpaquePointer) { self.handle = handle }

    @usableFromInline static func close(_ handle: OpaquePointer) { mdb_cursor_close(handle) }

    @inlinable
    func move(_ op: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil) throws -> Entry? {
        var k = MDB_val(mv_size: key?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: key?.baseAddress))
        var v = MDB_val()
        let rc = mdb_cursor_get(handle, &k, &v, op)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc)
        return Entry(UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                     UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    @inlinable public mutating func first() throws -> Entry? { try move(MDB_FIRST) }
    @inlinable public mutating func last() throws -> Entry? { try move(MDB_LAST) }
    @inlinable public mutating func next() throws -> Entry? { try move(MDB_NEXT) }
    @inlinable public mutating func previous() throws -> Entry? { try move(MDB_PREV) }

    /// Moves to the first row whose key is `key` or sorts after it.
    @inlinable public mutating func seek(atOrAfter key: Key.Item) throws -> Entry? {
        try seek(atOrAfterBytes: Key.encode(key))
    }

    /// Moves to the first row whose key is or sorts after `bytes` (a key or a prefix a key
    /// codec built).
    @inlinable public mutating func seek(atOrAfterBytes bytes: [UInt8]) throws -> Entry? {
        try bytes.withUnsafeBytes { k in try move(MDB_SET_RANGE, key: k) }
    }

    /// Moves to the last row whose key sorts before `bytes` (a prefix a key codec built): the
    /// latest version before a seq, the last row of a range.
    @inlinable public mutating func seek(beforeBytes bytes: [UInt8]) throws -> Entry? {
        try seek(atOrAfterBytes: bytes) == nil ? try last() : try previous()
    }

    /// Deletes the row under the cursor.
    public mutating func deleteCurrent() throws {
        try check(mdb_cursor_del(handle, 0))
    }

    /// Stores `value` under `key` and moves the cursor there (in a write transaction).
    @inlinable public mutating func put(_ key: Key.Item, _ value: Value.Item, flags: PutFlags = []) throws {
        try Key.encode(key).withUnsafeBytes { k in try Value.encode(value).withUnsafeBytes { v in try put(rawKey: k, rawValue: v, flags: flags) } }
    }

    /// Stores bytes a codec laid out and moves the cursor there (in a write transaction). With
    /// ``PutFlags/append`` this is the cheapest way to fill a table in key order: no search from
    /// the root per row.
    public mutating func put(rawKey key: UnsafeRawBufferPointer, rawValue value: UnsafeRawBufferPointer, flags: PutFlags = []) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_cursor_put(handle, &k, &v, flags.rawValue))
    }
}
