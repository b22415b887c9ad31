import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// An LMDB transaction, opaque outside this module.
public struct TransactionHandle {
    @usableFromInline let txn: OpaquePointer
    @usableFromInline init(_ txn: OpaquePointer) { self.txn = txn }
}

/// What both kinds of transaction offer: reading tables. Lent to a closure by
/// ``Environment/read(_:)`` (a ``ReadTransaction``) or ``Environment/write(_:)`` (a
/// ``WriteTransaction``, usable wherever a reading one is asked for) and valid only inside it.
public protocol ReadingTransaction {
    var handle: TransactionHandle { get }
}

/// A read-only transaction: a consistent snapshot of the environment.
public struct ReadTransaction: ReadingTransaction {
    public let handle: TransactionHandle
    @usableFromInline init(_ handle: TransactionHandle) { self.handle = handle }
}

/// A read-write transaction: reads see its own writes. It begins and ends on one thread inside
/// ``Environment/write(_:)``.
public struct WriteTransaction: ReadingTransaction {
    public let handle: TransactionHandle
    @usableFromInline init(_ handle: TransactionHandle) { self.handle = handle }

    /// The same transaction seen as a reading one (to hand to code that only reads).
    @inlinable public var reading: ReadTransaction { ReadTransaction(handle) }
}

extension ReadingTransaction {
    /// The value stored under `key`, or nil.
    @inlinable
    public func get<K, V>(_ table: Table<K, V>, _ key: K.Item) throws -> V.Item? {
        try K.encode(key).withUnsafeBytes { k in try handle.withValue(table.database, key: k) { try $0.map(V.decode) } }
    }

    /// The value of `setting`, or nil when it was never set.
    @inlinable
    public func get<V>(_ setting: Setting<V>) throws -> V.Item? { try get(setting.table, setting.name) }

    /// Whether `key` is present.
    @inlinable
    public func contains<K, V>(_ table: Table<K, V>, _ key: K.Item) throws -> Bool {
        try K.encode(key).withUnsafeBytes { k in try handle.withValue(table.database, key: k) { $0 != nil } }
    }

    /// Number of rows of `table`.
    public func count<K, V>(_ table: Table<K, V>) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(handle.txn, table.database.dbi, &stat))
        return stat.ms_entries
    }

    /// Runs `body` with a cursor over `table`; the cursor is closed when `body` returns.
    @inlinable
    public func withCursor<K, V, R>(_ table: Table<K, V>, _ body: (inout Cursor<K, V>) throws -> R) throws -> R {
        let c = try handle.openCursor(table.database)
        defer { Cursor<K, V>.close(c) }
        var cursor = Cursor<K, V>(c)
        return try body(&cursor)
    }

    /// Visits, in key order, the rows whose key starts with `prefix` (bytes a key codec built;
    /// empty: every row), from the first key at or after `start` (default: the prefix) on,
    /// until `body` returns false.
    @inlinable
    public func forEach<K, V>(_ table: Table<K, V>, prefix: [UInt8] = [], from start: [UInt8]? = nil,
                              _ body: (Table<K, V>.Entry) throws -> Bool) throws {
        try withCursor(table) { c in
            let from = start ?? prefix
            var entry = from.isEmpty ? try c.first() : try c.seek(atOrAfterBytes: from)
            while let e = entry, e.keyHasPrefix(prefix) {
                guard try body(e) else { return }
                entry = try c.next()
            }
        }
    }
}

extension WriteTransaction {
    /// Stores `value` under `key`.
    @inlinable
    public func put<K, V>(_ table: Table<K, V>, _ key: K.Item, _ value: V.Item, flags: PutFlags = []) throws {
        try K.encode(key).withUnsafeBytes { k in
            try V.encode(value).withUnsafeBytes { v in try handle.put(table.database, key: k, value: v, flags: flags) }
        }
    }

    /// Sets `setting` to `value`.
    @inlinable
    public func put<V>(_ setting: Setting<V>, _ value: V.Item) throws { try put(setting.table, setting.name, value) }

    /// Deletes `key`; returns whether it was present.
    @inlinable @discardableResult
    public func delete<K, V>(_ table: Table<K, V>, _ key: K.Item) throws -> Bool {
        try K.encode(key).withUnsafeBytes { k in try handle.delete(table.database, key: k) }
    }

    /// Forgets `setting`; returns whether it was set.
    @inlinable @discardableResult
    public func delete<V>(_ setting: Setting<V>) throws -> Bool { try delete(setting.table, setting.name) }

    /// Removes every row of `table` (the table itself stays).
    public func clear<K, V>(_ table: Table<K, V>) throws {
        try check(mdb_drop(handle.txn, table.database.dbi, 0))
    }

    /// Deletes `table` itself, with its rows; its handle is invalid afterwards.
    public func drop<K, V>(_ table: Table<K, V>) throws {
        try check(mdb_drop(handle.txn, table.database.dbi, 1))
    }
}

// MARK: the byte level, for the typed layer above

extension TransactionHandle {
    @usableFromInline
    func withValue<R>(_ db: Database, key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(txn, db.dbi, &k, &v)
        if rc == MDB_NOTFOUND { return try body(nil) }
        try check(rc)
        return try body(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    @usableFromInline
    func put(_ db: Database, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: PutFlags) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_put(txn, db.dbi, &k, &v, flags.rawValue))
    }

    @usableFromInline
    func delete(_ db: Database, key: UnsafeRawBufferPointer) throws -> Bool {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        let rc = mdb_del(txn, db.dbi, &k, nil)
        if rc == MDB_NOTFOUND { return false }
        try check(rc)
        return true
    }

    @usableFromInline
    func openCursor(_ db: Database) throws -> OpaquePointer {
        var handle: OpaquePointer?
        try check(mdb_cursor_open(txn, db.dbi, &handle))
        guard let handle else { throw LMDBError(code: MDB_INVALID) }
        return handle
    }

    func openDatabase(_ name: String, flags: UInt32) throws -> Database {
        var dbi: MDB_dbi = 0
        try check(mdb_dbi_open(txn, name, flags, &dbi))
        return Database(dbi: dbi, name: name)
    }
}
