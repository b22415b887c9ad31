import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// An LMDB environment: one memory-mapped file holding named databases.
///
/// Threading rules (see ENGINEERING.md): the environment is opened with `MDB_NOTLS`, so a
/// read transaction may run on any thread; a write transaction begins and ends inside one
/// synchronous ``write(_:)`` call and therefore on one thread. Run all writes from a single
/// thread. The map grows on demand, up to ``Options/maxMapSize``.
public final class Environment: @unchecked Sendable {
    /// How to open an environment.
    public struct Options: Sendable {
        /// Initial map size in bytes; the map doubles when full.
        public var mapSize: Int = 64 << 20
        /// Largest map size growth may reach; past it writes fail with ``LMDBError/mapFull``.
        public var maxMapSize: Int = 1 << 40
        public var maxDatabases: UInt32 = 32
        public var maxReaders: UInt32 = 256
        /// Open read-only (the audit tool); writes fail.
        public var readOnly: Bool = false
        /// Fsync on every commit. Off means `MDB_NOSYNC`: fast, but a crash of the machine can lose
        /// the latest commits (never the file's consistency).
        public var durable: Bool = true
        /// The path names a file, not a directory (`MDB_NOSUBDIR`).
        public var noSubdirectory: Bool = false
        /// Commits write their pages in place in the map instead of copying them out with a write
        /// call each (`MDB_WRITEMAP`): far fewer system calls per commit. The data file is then as
        /// large as the map and allocated up front (at open and at every growth), so a full disk
        /// fails the growth with ``LMDBError/noSpace`` instead of a `SIGBUS` when a new page is
        /// first touched. Read-only opens ignore it.
        public var writeMap: Bool = false

        public init() {}
    }

    let env: OpaquePointer
    /// The directory (or file, with ``Options/noSubdirectory``) the environment lives in.
    public let path: String
    /// The options this environment was opened with.
    public let options: Options
    private let staleReaders = ReaderSlotCounter()
    private let resizeLock = ReadWriteLock()
    /// Set under the exclusive lock by ``close()``; read under the shared lock.
    private var isClosed = false

    /// Opens (creating if needed, unless read-only) the environment at `path`.
    ///
    /// - Throws: ``LMDBError`` (for example `ENOENT` when a read-only path does not exist).
    public init(path: String, options: Options = Options()) throws {
        var handle: OpaquePointer?
        try check(mdb_env_create(&handle))
        guard let handle else { throw LMDBError(code: EINVAL) }
        do {
            try check(mdb_env_set_maxdbs(handle, options.maxDatabases))
            try check(mdb_env_set_maxreaders(handle, options.maxReaders))
            var mapSize = options.mapSize
            var flags = UInt32(MDB_NOTLS)
            if options.readOnly { flags |= UInt32(MDB_RDONLY) }
            if !options.durable { flags |= UInt32(MDB_NOSYNC) }
            if options.noSubdirectory { flags |= UInt32(MDB_NOSUBDIR) }
            let writeMap = options.writeMap && !options.readOnly
            if writeMap {
                flags |= UInt32(MDB_WRITEMAP)
                if access(Self.dataFile(path, options), F_OK) == 0 { mapSize = max(mapSize, try Self.allocatedMapSize(path, options)) }
            }
            try check(mdb_env_set_mapsize(handle, mapSize))
            if !options.readOnly {
                // LMDB sizes a new lock file with ftruncate and writes it through a shared map: on a
                // full filesystem that write is a SIGBUS, not an error. Refuse before it happens.
                let lockFile = options.noSubdirectory ? path + "-lock" : path + "/lock.mdb"
                let directory = !options.noSubdirectory ? path : path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
                if access(lockFile, F_OK) != 0, let free = Self.freeBytes(at: directory.isEmpty ? "/" : directory),
                   free < Self.newEnvironmentMinimum {
                    throw LMDBError.noSpace
                }
            }
            try Self.checkWrite(mdb_env_open(handle, path, flags, 0o600), path: path)
            if writeMap {
                var info = MDB_envinfo()
                try check(mdb_env_info(handle, &info))
                try Self.allocate(handle, bytes: info.me_mapsize)
            }
            var dead: Int32 = 0
            try check(mdb_reader_check(handle, &dead))
            staleReaders.add(Int(dead))
        } catch {
            mdb_env_close(handle)
            throw error
        }
        self.env = handle
        self.path = path
        self.options = options
    }

    deinit { close() }

    /// Closes the environment; later transactions fail with ``LMDBError/closed``. Waits for open
    /// transactions to end. Idempotent.
    public func close() {
        resizeLock.withExclusive {
            if !isClosed { mdb_env_close(env) }
            isClosed = true
        }
    }

    /// Forces every committed transaction to disk: with ``Options/durable`` off, commits reach the
    /// file only when this runs (or when the kernel writes the pages back on its own).
    public func sync() throws {
        try resizeLock.withShared { () throws -> Void in
            guard !isClosed else { throw LMDBError.closed }
            try checkWrite(mdb_env_sync(env, 1))
        }
    }

    /// Whether the data file is shorter than the pages its last commit uses (it was truncated
    /// behind LMDB's back): reading those pages through the map would be a SIGBUS. (With
    /// ``Options/writeMap`` the open itself refuses a file shorter than its map as corrupted.)
    public func isTruncated() -> Bool {
        var info = MDB_envinfo()
        var pages = MDB_stat()
        guard mdb_env_info(env, &info) == 0, mdb_env_stat(env, &pages) == 0 else { return true }
        var attributes = Glibc.stat()
        guard lstat(Self.dataFile(path, options), &attributes) == 0 else { return true }
        return Int(attributes.st_size) < (info.me_last_pgno + 1) * Int(pages.ms_psize)
    }

    /// The current map size in bytes.
    public var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    /// The bytes of the pages the last commit uses.
    public var usedBytes: Int {
        var info = MDB_envinfo()
        var pages = MDB_stat()
        mdb_env_info(env, &info)
        mdb_env_stat(env, &pages)
        return (info.me_last_pgno + 1) * Int(pages.ms_psize)
    }

    /// The bytes of the pages LMDB's freelist holds: pages earlier commits freed, which later
    /// commits take before they extend the file. Read from the freelist (LMDB's database 0) as
    /// `mdb_stat -f` reads it: each record lists freed page numbers after their count.
    public func freeListBytes() throws -> Int {
        try resizeLock.withShared { () throws -> Int in
            guard !isClosed else { throw LMDBError.closed }
            let txn = try begin(flags: UInt32(MDB_RDONLY))
            defer { mdb_txn_abort(txn) }
            var cursor: OpaquePointer?
            try check(mdb_cursor_open(txn, 0, &cursor))
            defer { mdb_cursor_close(cursor) }
            var key = MDB_val(), value = MDB_val()
            var pages = 0
            var rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
            while rc == 0, let record = value.mv_data, value.mv_size >= MemoryLayout<Int>.size {
                pages += record.loadUnaligned(as: Int.self)
                rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
            }
            if rc != MDB_NOTFOUND { try check(rc) }
            var stats = MDB_stat()
            try check(mdb_env_stat(env, &stats))
            return pages * Int(stats.ms_psize)
        }
    }

    /// Grows the map until `bytes` more than ``usedBytes`` fit (up to ``Options/maxMapSize``), so
    /// that a large write does not fill it and start over: by doubling, or with
    /// ``Options/writeMap`` (whose file holds the whole map) to just that, in whole MiB. Waits for
    /// open transactions to end.
    public func reserve(_ bytes: Int) throws {
        try resizeLock.withExclusive { () in
            guard !isClosed else { throw LMDBError.closed }
            let wanted = usedBytes + bytes
            var next = mapSize
            if writesThroughMap {
                next = max(next, min(Self.wholeMiB(wanted), options.maxMapSize))
            } else {
                while next < wanted && next < options.maxMapSize { next = min(next * 2, options.maxMapSize) }
            }
            if next > mapSize { try resize(to: next) }
        }
    }

    /// Opens the table named `name`, creating it when `create` is set and the environment is
    /// writable. - Throws: ``LMDBError/notFound`` for a table that does not exist and is not created.
    public func openTable<K, V>(named name: String, create: Bool = true) throws -> Table<K, V> {
        Table(try openDatabase(named: name, create: create))
    }

    func openDatabase(named name: String, create: Bool) throws -> Database {
        if options.readOnly || !create {
            // A handle opened in a transaction survives only if that transaction commits.
            return try resizeLock.withShared { () throws -> Database in
                let txn = try begin(flags: UInt32(MDB_RDONLY))
                do {
                    let db = try TransactionHandle(txn).openDatabase(name, flags: 0)
                    try check(mdb_txn_commit(txn))
                    return db
                } catch {
                    mdb_txn_abort(txn)
                    throw error
                }
            }
        }
        return try write { txn in try txn.handle.openDatabase(name, flags: UInt32(MDB_CREATE)) }
    }

    /// Runs `body` in a read transaction and returns its result.
    ///
    /// Values lent by the transaction are valid only inside `body`. Keep it short and never
    /// suspend inside it: an open read transaction pins old pages.
    public func read<R>(_ body: (ReadTransaction) throws -> R) throws -> R {
        try resizeLock.withShared { () throws -> R in
            let txn = try begin(flags: UInt32(MDB_RDONLY))
            defer { mdb_txn_abort(txn) }
            return try body(ReadTransaction(TransactionHandle(txn)))
        }
    }

    /// Runs `body` in a write transaction and commits it when `body` returns.
    ///
    /// When the map is full the transaction is aborted, the map doubled, and `body` run again
    /// from the start: `body` must be a function of the database state only. An error thrown
    /// by `body` aborts the transaction and is rethrown.
    public func write<R>(_ body: (WriteTransaction) throws -> R) throws -> R {
        try transact(commit: true, body)
    }

    /// Runs `body` in a write transaction that is always aborted: scratch work that must leave
    /// nothing behind (and costs no disk writes). Grows the map and reruns `body` when it is full.
    public func discardedWrite<R>(_ body: (WriteTransaction) throws -> R) throws -> R {
        try transact(commit: false, body)
    }

    private func transact<R>(commit: Bool, _ body: (WriteTransaction) throws -> R) throws -> R {
        while true {
            do {
                return try resizeLock.withShared { () throws -> R in
                    let txn = try begin(flags: 0)
                    let result: R
                    do {
                        result = try body(WriteTransaction(TransactionHandle(txn)))
                    } catch {
                        mdb_txn_abort(txn)
                        throw error
                    }
                    if commit { try checkWrite(mdb_txn_commit(txn)) } else { mdb_txn_abort(txn) }
                    return result
                }
            } catch LMDBError.mapFull {
                try grow()
            }
        }
    }

    /// Grows the map, up to ``Options/maxMapSize``: doubles it, or with ``Options/writeMap`` (whose
    /// file holds the whole map, used or not) adds a quarter, at least 1 MiB, in whole MiB.
    private func grow() throws {
        try resizeLock.withExclusive { () in
            guard !isClosed else { throw LMDBError.closed }
            let current = mapSize
            guard current < options.maxMapSize else { throw LMDBError.mapFull }
            let next = writesThroughMap ? Self.wholeMiB(current + max(current / 4, 1 << 20)) : current * 2
            try resize(to: min(next, options.maxMapSize))
        }
    }

    private var writesThroughMap: Bool { options.writeMap && !options.readOnly }

    /// `bytes` rounded up to whole MiB.
    private static func wholeMiB(_ bytes: Int) -> Int { (bytes + (1 << 20) - 1) & ~((1 << 20) - 1) }

    /// Sets the map's size; with ``Options/writeMap``, allocates the file to it first. Call with
    /// the exclusive lock held.
    private func resize(to bytes: Int) throws {
        if writesThroughMap { try Self.allocate(env, bytes: bytes) }
        try check(mdb_env_set_mapsize(env, bytes))
    }

    /// Allocates the data file's blocks up to `bytes` (extending it), so that no page of a
    /// writable map of that size can meet a full disk when it is first written.
    private static func allocate(_ env: OpaquePointer, bytes: Int) throws {
        var fd: Int32 = -1
        try check(mdb_env_get_fd(env, &fd))
        try check(posix_fallocate(fd, 0, off_t(bytes)))  // ENOSPC: LMDBError.noSpace
    }

    /// The map size the last commit of the writable-map environment at `path` recorded, which
    /// its file was allocated to; opened at least that large, the file never shrinks below it.
    /// - Throws: ``LMDBError/corrupted`` when the file is shorter: it was cut behind LMDB's back,
    ///   and a writable map would extend it with zeros where a read must fail.
    private static func allocatedMapSize(_ path: String, _ options: Options) throws -> Int {
        var plain = options
        plain.writeMap = false
        plain.mapSize = 0  // LMDB then maps what the last commit recorded
        let probe = try Environment(path: path, options: plain)
        defer { probe.close() }
        var attributes = Glibc.stat()
        guard lstat(dataFile(path, options), &attributes) == 0 else { throw LMDBError(code: errno) }
        guard Int(attributes.st_size) >= probe.mapSize else { throw LMDBError.corrupted }
        return probe.mapSize
    }

    /// The data file of the environment at `path`.
    private static func dataFile(_ path: String, _ options: Options) -> String {
        options.noSubdirectory ? path : path + "/data.mdb"
    }

    private func begin(flags: UInt32) throws -> OpaquePointer {
        guard !isClosed else { throw LMDBError.closed }
        var txn: OpaquePointer?
        var rc = mdb_txn_begin(env, nil, flags, &txn)
        if rc == MDB_MAP_RESIZED {
            // Another process grew the map: adopt its size and try once more.
            mdb_env_set_mapsize(env, 0)
            rc = mdb_txn_begin(env, nil, flags, &txn)
        }
        if rc == MDB_READERS_FULL, releaseStaleReaders() > 0 {
            // Slots held by processes that died inside a read transaction: freed, try once more.
            rc = mdb_txn_begin(env, nil, flags, &txn)
        }
        try check(rc)
        guard let txn else { throw LMDBError(code: EINVAL) }
        return txn
    }

    /// A commit's or write's result, with a short write on a full filesystem reported as
    /// ``LMDBError/noSpace``: LMDB turns a write that stored fewer bytes than asked into `EIO`.
    private func checkWrite(_ rc: Int32) throws(LMDBError) {
        try Self.checkWrite(rc, path: path)
    }

    private static func checkWrite(_ rc: Int32, path: String) throws(LMDBError) {
        if rc == EIO, let free = freeBytes(at: path), free < fullDiskThreshold { throw LMDBError.noSpace }
        try check(rc)
    }

    /// Below this many free bytes an `EIO` from a write means the filesystem filled up.
    static let fullDiskThreshold = 64 << 20
    /// Free bytes a new environment needs before LMDB creates its lock table and meta pages.
    static let newEnvironmentMinimum = 1 << 20

    /// Bytes an unprivileged writer can still allocate on the filesystem holding `path`.
    private static func freeBytes(at path: String) -> Int? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        return Int(stats.f_bavail) * Int(stats.f_frsize)
    }

    // MARK: reader slots

    /// Frees the reader slots of processes that died inside a read transaction (a `kill -9`d
    /// audit), so they stop pinning old pages and stop filling the reader table. Cheap: it
    /// scans the table once. - Returns: how many slots it freed.
    @discardableResult
    public func releaseStaleReaders() -> Int {
        resizeLock.withShared {
            var dead: Int32 = 0
            guard !isClosed, mdb_reader_check(env, &dead) == 0 else { return 0 }
            staleReaders.add(Int(dead))
            return Int(dead)
        }
    }

    /// Reader slots in use now, by every process that has the environment open.
    public func readerSlotsInUse() -> Int {
        var count = 0
        resizeLock.withShared {
            guard !isClosed else { return }
            withUnsafeMutablePointer(to: &count) { counter in
                _ = mdb_reader_list(env, { message, context in
                    // One line a slot in use: "<pid> <thread> <txnid>", the pid right-aligned; the
                    // header line and "(no active readers)" are not slots.
                    guard var byte = message, let context else { return 0 }
                    while byte.pointee == 0x20 { byte += 1 }
                    if byte.pointee >= 0x30 && byte.pointee <= 0x39 { context.assumingMemoryBound(to: Int.self).pointee += 1 }
                    return 0
                }, counter)
            }
        }
        return count
    }

    /// The size of the reader table (set by whichever process created the lock file).
    public var readerCapacity: Int {
        var readers: UInt32 = 0
        mdb_env_get_maxreaders(env, &readers)
        return Int(readers)
    }

    /// Slots freed by ``releaseStaleReaders()`` (and at open) since this environment was opened.
    public var staleReadersReleased: Int { staleReaders.total }
}

/// A running total shared by threads.
final class ReaderSlotCounter: @unchecked Sendable {
    private let lock = ReadWriteLock()
    private var count = 0

    func add(_ n: Int) { lock.withExclusive { count += n } }
    var total: Int { lock.withShared { count } }
}
