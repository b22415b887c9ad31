import CLMDB

/// A position in one database, lent by ``Transaction/withCursor(_:_:)``.
///
/// Each move returns the entry it lands on as buffers into the map (valid until the next
/// move or write), or nil past either end.
public struct Cursor {
    /// One key/value pair, borrowed from the map.
    public typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    let handle: OpaquePointer

    private func move(_ op: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil) throws -> Entry? {
        var k = MDB_val(mv_size: key?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: key?.baseAddress))
        var v = MDB_val()
        let rc = mdb_cursor_get(handle, &k, &v, op)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc)
        return (UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    public mutating func first() throws -> Entry? { try move(MDB_FIRST) }
    public mutating func last() throws -> Entry? { try move(MDB_LAST) }
    public mutating func next() throws -> Entry? { try move(MDB_NEXT) }
    public mutating func previous() throws -> Entry? { try move(MDB_PREV) }

    /// Moves to the first key greater than or equal to `key`.
    public mutating func seek(atOrAfter key: UnsafeRawBufferPointer) throws -> Entry? {
        try move(MDB_SET_RANGE, key: key)
    }

    /// Moves to the first key greater than or equal to `key`.
    public mutating func seek(atOrAfter key: [UInt8]) throws -> Entry? {
        try key.withUnsafeBytes { k in try seek(atOrAfter: k) }
    }

    /// Deletes the entry under the cursor.
    public mutating func deleteCurrent() throws {
        try check(mdb_cursor_del(handle, 0))
    }

    /// Stores `value` under `key` and moves the cursor there. With ``PutFlags/append`` this is
    /// the cheapest way to fill a database in key order: no search from the root per entry.
    public mutating func put(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: PutFlags = []) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_cursor_put(handle, &k, &v, flags.rawValue))
    }
}
