import CLMDB

/// A transaction lent to a closure by ``Environment/read(_:)`` or ``Environment/write(_:)``.
///
/// Valid only inside that closure. Buffers it lends (`withValue`, cursors) point into the map
/// and are valid only until the next write in this transaction or the closure's end.
public struct Transaction {
    let txn: OpaquePointer
    /// Whether writes are allowed.
    public let writable: Bool

    func openDatabase(_ name: String, flags: UInt32) throws -> Database {
        var dbi: MDB_dbi = 0
        try check(mdb_dbi_open(txn, name, flags, &dbi))
        return Database(dbi: dbi, name: name)
    }

    /// Lends the value stored under `key` (nil when absent) to `body`.
    public func withValue<R>(
        _ db: Database, key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) throws -> R
    ) throws -> R {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(txn, db.dbi, &k, &v)
        if rc == MDB_NOTFOUND { return try body(nil) }
        try check(rc)
        return try body(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    /// Lends the value stored under `key` (nil when absent) to `body`.
    public func withValue<R>(_ db: Database, key: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        try key.withUnsafeBytes { k in try withValue(db, key: k, body) }
    }

    /// A copy of the value stored under `key`, or nil.
    public func get(_ db: Database, key: [UInt8]) throws -> [UInt8]? {
        try key.withUnsafeBytes { k in try withValue(db, key: k) { $0.map { Array($0) } } }
    }

    /// Whether `key` is present.
    public func contains(_ db: Database, key: [UInt8]) throws -> Bool {
        try key.withUnsafeBytes { k in try withValue(db, key: k) { $0 != nil } }
    }

    /// Stores `value` under `key`.
    public func put(_ db: Database, key: [UInt8], value: [UInt8], flags: PutFlags = []) throws {
        try key.withUnsafeBytes { k in
            try value.withUnsafeBytes { v in
                try put(db, key: k, value: v, flags: flags)
            }
        }
    }

    /// Stores `value` under `key` from borrowed buffers.
    public func put(
        _ db: Database, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: PutFlags = []
    ) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_put(txn, db.dbi, &k, &v, flags.rawValue))
    }

    /// Deletes `key`; returns whether it was present.
    @discardableResult
    public func delete(_ db: Database, key: [UInt8]) throws -> Bool {
        try key.withUnsafeBytes { kb throws(LMDBError) -> Bool in
            var k = MDB_val(mv_size: kb.count, mv_data: UnsafeMutableRawPointer(mutating: kb.baseAddress))
            let rc = mdb_del(txn, db.dbi, &k, nil)
            if rc == MDB_NOTFOUND { return false }
            try check(rc)
            return true
        }
    }

    /// Removes every entry of `db` (the database itself stays).
    public func clear(_ db: Database) throws {
        try check(mdb_drop(txn, db.dbi, 0))
    }

    /// Deletes `db` itself, with its entries; its handle is invalid afterwards.
    public func deleteDatabase(_ db: Database) throws {
        try check(mdb_drop(txn, db.dbi, 1))
    }

    /// Number of entries in `db`.
    public func count(_ db: Database) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(txn, db.dbi, &stat))
        return stat.ms_entries
    }

    /// Runs `body` with one cursor over each of `dbs`, in that order; they are closed when
    /// `body` returns.
    public func withCursors<R>(_ dbs: [Database], _ body: (inout [Cursor]) throws -> R) throws -> R {
        var cursors: [Cursor] = []
        defer { for c in cursors { mdb_cursor_close(c.handle) } }
        for db in dbs {
            var handle: OpaquePointer?
            try check(mdb_cursor_open(txn, db.dbi, &handle))
            guard let handle else { throw LMDBError(code: MDB_INVALID) }
            cursors.append(Cursor(handle: handle))
        }
        return try body(&cursors)
    }

    /// Runs `body` with a cursor over `db`; the cursor is closed when `body` returns.
    public func withCursor<R>(_ db: Database, _ body: (inout Cursor) throws -> R) throws -> R {
        var handle: OpaquePointer?
        try check(mdb_cursor_open(txn, db.dbi, &handle))
        guard let handle else { throw LMDBError(code: MDB_INVALID) }
        defer { mdb_cursor_close(handle) }
        var cursor = Cursor(handle: handle)
        return try body(&cursor)
    }
}
