import Foundation
import LMDB

/// The embeddable registry metadata store: an event-sourced, hash-chained log in LMDB with
/// projections of current state.
///
/// Commands (`createRepository`, `putImage`, …) are `async`: they queue for the single writer
/// thread, are group-committed with concurrent commands, and return once durable. Queries are
/// synchronous reads of the projections. One `Ledger` per data directory per process.
public final class Ledger: Sendable {
    /// How to open a store.
    public struct Options: Sendable {
        /// Registry used when a request names none. A writable open records it in the store, so
        /// that later opens without one (the audit tool) use the same; `nil` uses the recorded one,
        /// or `000000000000` in a store that has none.
        public var defaultRegistryId: RegistryId?
        /// Fsync every commit (default). Off trades crash durability for speed (tests, seeding).
        public var durable = true
        /// Initial LMDB map size; the map doubles on demand up to ``maxMapSize``.
        public var mapSize = 64 << 20
        /// Past this size writes fail with a storage error and change nothing.
        public var maxMapSize = 1 << 40
        /// Open for reading only (the audit tool): commands fail.
        public var readOnly = false
        /// Open a store whose projections an older version built (see ``Ledger/projectionFormat``),
        /// so that ``Ledger/rebuild()`` can bring them up to date; queries may be wrong until then.
        public var acceptOutdatedProjections = false
        /// Called on the writer thread after each durable commit with the number of commands
        /// it answered. Keep it cheap: it delays the next group.
        public var onCommit: (@Sendable (_ commands: Int) -> Void)?
        /// Seconds between checks for reader slots held by dead processes (writable opens; 0: only
        /// when the reader table is full). See ``Ledger/readerSlots``.
        public var staleReaderCheckInterval: Double = 1
        /// Set by ``Ledger/importing(into:options:_:)`` only: open a directory marked as an import under way.
        var acceptsIncompleteImport = false

        public init() {}
    }

    let env: Environment
    let stores: StoreDatabases
    let writer: Writer?
    let tokenSecret: [UInt8]
    /// The resolved directory, claimed in ``OpenStores`` while open.
    let canonicalPath: String
    /// Held while open for writing, so that no other process writes the same store.
    let writerLock: WriterLock?
    private let closed = OnceFlag()
    /// The registry used when a request names none.
    public let defaultRegistryId: RegistryId
    /// Commit statistics of this process's writer.
    public let stats = WriterStats()
    /// Where history is replayed (time travel, verification).
    let scratch = ScratchSpace()
    private let sweeper: StaleReaderSweeper?

    /// Opens the store in directory `path`, creating it (and the directory) when needed.
    ///
    /// - Throws: `LedgerError` with code `storage` when the directory cannot be opened or is not a
    ///   store (read-only opens of a missing or empty directory).
    public init(path: String, options: Options = Options()) throws {
        var envOptions = Environment.Options()
        envOptions.mapSize = options.mapSize
        envOptions.maxMapSize = options.maxMapSize
        envOptions.durable = options.durable
        envOptions.readOnly = options.readOnly
        envOptions.maxDatabases = 64
        let claimed: String
        let lock: WriterLock?
        let opened: (Environment, StoreDatabases, [UInt8], LogHead, RegistryId)
        if !options.acceptsIncompleteImport { try Self.refuseIncompleteImport(at: path) }
        do {
            if !options.readOnly {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            }
            claimed = try OpenStores.claim(path)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.storage, "cannot open the store at \(path): \(error.localizedDescription)")
        }
        do {
            lock = options.readOnly ? nil : try WriterLock(directory: path)
        } catch {
            OpenStores.release(claimed)
            throw error
        }
        do {
            let env = try Environment(path: path, options: envOptions)
            let stores = try StoreDatabases.open(env, create: !options.readOnly)
            let secret = try Self.tokenSecret(env, stores, create: !options.readOnly)
            let head = try env.read { txn in try Self.readHead(txn, stores) }
            try Self.checkProjectionFormat(env, stores, head: head, path: path, options: options)
            let registry = try Self.defaultRegistry(env, stores, requested: options.defaultRegistryId, record: !options.readOnly)
            opened = (env, stores, secret, head, registry)
        } catch let error as LedgerError {
            lock?.release()
            OpenStores.release(claimed)
            throw error
        } catch LMDBError.notFound where options.readOnly {
            OpenStores.release(claimed)
            throw LedgerError(.storage, "the store at \(path) lacks databases this version needs (written by an older version?); run `regledger rebuild --data \(path)` once")
        } catch {
            lock?.release()
            OpenStores.release(claimed)
            throw LedgerError.storage(error, at: path, doing: "opening the store")
        }
        canonicalPath = claimed
        writerLock = lock
        (env, stores, tokenSecret, defaultRegistryId) = (opened.0, opened.1, opened.2, opened.4)
        writer = options.readOnly ? nil : Writer(env: opened.0, stores: opened.1, head: opened.3, stats: stats, onCommit: options.onCommit)
        sweeper = options.readOnly || options.staleReaderCheckInterval <= 0 ? nil
            : StaleReaderSweeper(opened.0, every: options.staleReaderCheckInterval)
    }

    deinit { close() }

    /// Finishes queued commands, stops the writer and closes the store. Later commands and
    /// queries fail with a storage error. Idempotent.
    public func close() {
        guard closed.setOnce() else { return }
        sweeper?.stop()
        writer?.stop()
        env.close()
        writerLock?.release()
        OpenStores.release(canonicalPath)
    }

    // MARK: running commands

    func submit<C: LedgerCommand>(_ command: C, _ context: RequestContext) async throws -> C.Output {
        guard let writer else { throw LedgerError(.storage, "the store is open read-only") }
        return try await withCheckedThrowingContinuation { continuation in
            writer.enqueue(PendingCommand(command, context, continuation))
        }
    }

    func exclusive<R: Sendable>(_ body: @escaping (Transaction, Writer, inout LogHead) throws -> R) async throws -> R {
        guard let writer else { throw LedgerError(.storage, "the store is open read-only") }
        return try await withCheckedThrowingContinuation { continuation in
            writer.enqueue(ExclusiveJob(body, continuation))
        }
    }

    /// Runs `body` in a read transaction over the current projections.
    func read<R>(_ body: (ProjectionReader) throws -> R) throws -> R {
        do {
            return try env.read { txn in try body(ProjectionReader(txn: txn, dbs: try stores.current(txn))) }
        } catch let error as LMDBError {
            throw LedgerError.storage(error, at: canonicalPath, doing: "a read")
        }
    }

    // MARK: store state

    static func readHead(_ txn: Transaction, _ stores: StoreDatabases) throws -> LogHead {
        try txn.withCursor(stores.log) { c in
            guard let last = try c.last() else { return LogHead() }
            let record = try EventRecord.decode(last.value, verifyHash: false)
            return LogHead(seq: record.seq, hash: record.hash, timestamp: record.timestamp)
        }
    }

    /// The version of the rules that derive projections and history indexes from the log (key
    /// layouts, checkpoint placement). Stores record it; one built by other rules must be rebuilt.
    /// 1: checkpoint interval max(256, rows); 2: max(256, rows / 4); 3: image records name a
    /// known media type by a one-byte code, checkpoints hold no listing rows, max(256, 3 × rows / 8);
    /// 4: a repository's event index packs 128 seqs a row (``SeqRun``); 5: interval max(256, rows / 4).
    public static let projectionFormat: UInt8 = 5
    static let projectionFormatKey = Array("projectionFormat".utf8)

    private static func checkProjectionFormat(_ env: Environment, _ stores: StoreDatabases, head: LogHead, path: String,
                                              options: Options) throws {
        // Stores from before this key existed have format 1.
        let recorded = try env.read { txn in try txn.get(stores.meta, key: projectionFormatKey)?.first } ?? 1
        if head.seq == 0 && !options.readOnly {
            if recorded != projectionFormat {
                try env.write { txn in try txn.put(stores.meta, key: projectionFormatKey, value: [projectionFormat]) }
            }
            return
        }
        guard recorded == projectionFormat || options.acceptOutdatedProjections else {
            throw LedgerError(.storage, "the projections of the store at \(path) were built by another version of RegistryLedger "
                + "(format \(recorded), this version uses \(projectionFormat)); the log is unaffected: run "
                + "`regledger rebuild --data \(path)` once")
        }
    }

    private static let defaultRegistryKey = Array("defaultRegistryId".utf8)

    private static func defaultRegistry(_ env: Environment, _ stores: StoreDatabases, requested: RegistryId?, record: Bool) throws -> RegistryId {
        let recorded = try env.read { txn in try txn.get(stores.meta, key: defaultRegistryKey) }
            .flatMap { try? RegistryId(String(decoding: $0, as: UTF8.self)) }
        guard let requested else { return recorded ?? .defaultId }
        if record && recorded != requested {
            try env.write { txn in try txn.put(stores.meta, key: defaultRegistryKey, value: Array(requested.value.utf8)) }
        }
        return requested
    }

    private static let tokenSecretKey = Array("tokenSecret".utf8)

    private static func tokenSecret(_ env: Environment, _ stores: StoreDatabases, create: Bool) throws -> [UInt8] {
        if let secret = try env.read({ txn in try txn.get(stores.meta, key: tokenSecretKey) }) { return secret }
        guard create else { return [] }
        var rng = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        try env.write { txn in try txn.put(stores.meta, key: tokenSecretKey, value: secret) }
        return secret
    }

    /// The store's LMDB reader table: slots in use (by any process), its size, and the slots of
    /// dead processes freed so far.
    public var readerSlots: ReaderSlotStats {
        ReaderSlotStats(inUse: env.readerSlotsInUse(), capacity: env.readerCapacity, staleReleased: env.staleReadersReleased)
    }

    /// The seq of the last event (0 for an empty log).
    public func headSeq() throws -> UInt64 {
        try env.read { txn in try Self.readHead(txn, stores).seq }
    }

    /// A SHA-256 (hex) over every projection entry: equal digests mean identical projections.
    public func stateDigest() throws -> String {
        try env.read { txn in try StateDigest.compute(txn, try stores.current(txn)) }
    }

    /// Replays the whole log into fresh projection databases, verifying the hash chain, and
    /// switches to them in one commit. Blocks other commands while it runs.
    ///
    /// - Returns: the state digest of the rebuilt projections.
    /// - Throws: `LedgerError` naming the first bad seq if the chain does not verify; the old
    ///   projections then stay in place.
    @discardableResult
    public func rebuild() async throws -> String {
        let stores = self.stores
        return try await exclusive { txn, writer, head in
            let current = try stores.current(txn)
            let targetIndex = stores.generations[0].repos == current.repos ? 1 : 0
            let target = stores.generations[targetIndex]
            for db in target.all { try txn.clear(db) }
            // The log folds in memory; each table is then written once, in key order.
            let memory = MemoryProjections { key, rows in try txn.put(target.checkpoints, key: key, value: rows.encoded()) }
            let projections = ProjectionWriter(memory)
            try LogReplay.forEachConcurrently(writer.env, stores.log, through: head.seq) { record in try projections.apply(record) }
            let digest = try memory.write(into: txn, target)
            try txn.put(stores.meta, key: StoreDatabases.generationKey, value: [UInt8(targetIndex)])
            try txn.put(stores.meta, key: Self.projectionFormatKey, value: [Self.projectionFormat])
            return digest
        }
    }
}

/// The stores open in this process. LMDB must not open one environment twice in a process
/// (closing either copy would drop the other's locks), so a second open is refused.
enum OpenStores {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths = Set<String>()

    /// Resolves `path` and claims it. - Throws: `storage` if it is already open here.
    static func claim(_ path: String) throws -> String {
        let canonical = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        lock.lock()
        defer { lock.unlock() }
        guard paths.insert(canonical).inserted else {
            throw LedgerError(.storage, "the store at \(path) is already open in this process; share one Ledger instead")
        }
        return canonical
    }

    static func release(_ canonical: String) {
        lock.lock()
        paths.remove(canonical)
        lock.unlock()
    }
}

/// A flag that can be set once, from any thread.
final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var isSet = false

    /// Sets the flag; returns whether this call set it.
    func setOnce() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if isSet { return false }
        isSet = true
        return true
    }
}
