import Foundation
import LMDB

/// The embeddable registry metadata store: an event-sourced, hash-chained log in LMDB and the
/// state derived from it.
///
/// The log (with the manifests its events name, the denial log and the store's identity) is the
/// only durable truth: it lives in `DIR/data.mdb`, and every group commit writes only its tail,
/// durably. Derived state — projections of current state, listing, history and time-travel
/// indexes — lives in `DIR/state/`, is committed without an fsync of its own, flushed at least
/// once a second and at ``close()``, and records the seq it reflects; at open the store applies
/// the log after that seq, or rebuilds the state from the log when it is missing, of another
/// projection format, damaged or possibly torn (SPEC §3).
///
/// Commands (`createRepository`, `putImage`, …) are `async`: they queue for the single writer
/// thread, are group-committed with concurrent commands, and return once durable. Queries are
/// synchronous reads of the derived state. One `Ledger` per data directory per process.
public final class Ledger: Sendable {
    /// How to open a store.
    public struct Options: Sendable {
        /// Registry used when a request names none. A writable open records it in the store, so
        /// that later opens without one (the audit tool) use the same; `nil` uses the recorded one,
        /// or `000000000000` in a store that has none.
        public var defaultRegistryId: RegistryId?
        /// Fsync every log append (default). Off trades crash durability for speed (tests, seeding).
        public var durable = true
        /// Initial LMDB map size of the log's environment, and the most the derived state's starts
        /// with (1 MiB: its file is allocated to its map); maps grow on demand up to ``maxMapSize``.
        public var mapSize = 64 << 20
        /// Past this size writes fail with a storage error and change nothing.
        public var maxMapSize = 1 << 40
        /// Open for reading only (the audit tool): commands fail.
        public var readOnly = false
        /// Called on the writer thread after each durable commit with the number of commands
        /// it answered. Keep it cheap: it delays the next group.
        public var onCommit: (@Sendable (_ commands: Int) -> Void)?
        /// Seconds between checks for reader slots held by dead processes (writable opens; 0: only
        /// when the reader table is full). See ``Ledger/readerSlots``.
        public var staleReaderCheckInterval: Double = 1
        /// Seconds between flushes of the derived state to disk (writable opens; 0: only at close).
        public var stateFlushInterval: Double = 1
        /// Hears why an open rebuilds the derived state, and its progress (events done, of total).
        /// Default: a line on stderr saying why, and progress when stderr is a terminal.
        public var onRecovery: @Sendable (RecoveryNotice) -> Void = RecoveryNotice.toStandardError
        /// Set by ``Ledger/importing(into:options:_:)`` only: open a directory marked as an import under way.
        var acceptsIncompleteImport = false
        /// The log appends go to, given the local LMDB log (which every mode keeps and reads from).
        var makeLogStore: @Sendable (LMDBLogStore) -> any LogStore = { $0 }
        /// Cluster mode: the log the nodes share. A writable open copies what it holds beyond the
        /// local log (refusing a local copy that is not a prefix of it), adopts its identity, and
        /// appends go to it first; ``Ledger/followSharedLog()`` copies what other nodes append.
        @_spi(Cluster) public var sharedLog: (any SharedLog)?

        public init() {}
    }

    /// The local log (every mode keeps one; it is what the store reads the log from).
    let logEnv: Environment
    let logTables: LogTables
    /// The derived state, `DIR/state/`.
    let stateEnv: Environment
    let stateTables: StateTables
    let flusher: StateFlusher?
    /// A cluster node's, for its local copy of the log (see ``OpenedStore/logFlusher``).
    let logFlusher: StateFlusher?
    let writer: Writer?
    /// The store's page-token secret, prepared for HMAC (page tokens, login tokens).
    let tokenKey: HMACKey
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

    /// The derived state's directory inside a store's directory (SPEC §3: nothing else lives there).
    public static func stateDirectory(_ path: String) -> String { path + "/state" }

    /// Opens the store in directory `path`, creating it (and the directory) when needed, and
    /// brings its derived state up to the log (see the type's discussion).
    ///
    /// - Throws: `LedgerError` with code `storage` when the directory cannot be opened or is not a
    ///   store (read-only opens of a missing or empty directory, or of a store whose derived state
    ///   needs rebuilding); `insufficientStorage` or `storageFault` for a full disk or an I/O error.
    public init(path: String, options: Options = Options()) throws {
        if !options.acceptsIncompleteImport { try Self.refuseIncompleteImport(at: path) }
        let claimed: String
        let lock: WriterLock?
        do {
            if !options.readOnly {
                try FileManager.default.createDirectory(atPath: Self.stateDirectory(path), withIntermediateDirectories: true)
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
        let opened: OpenedStore
        do {
            opened = try OpenedStore(path: path, options: options)
        } catch {
            lock?.release()
            OpenStores.release(claimed)
            if case LMDBError.notFound = error, options.readOnly {
                throw LedgerError(.storage, "the store at \(path) lacks databases this version needs (written by an older version?); "
                    + "run `regledger rebuild --data \(path)` once")
            }
            throw LedgerError.storage(error, at: path, doing: "opening the store")
        }
        let local = LMDBLogStore(env: opened.logEnv, tables: opened.logTables, flusher: opened.logFlusher)
        var (head, lastDenial, identity) = (opened.head, opened.lastDenial, (secret: opened.secret, registry: opened.registry))
        var log = options.makeLogStore(local)
        if let shared = options.sharedLog, let flusher = opened.flusher {
            do {
                let replicated = ReplicatedLogStore(shared: shared, local: local)
                try replicated.checkLocalCopy()
                (head, lastDenial) = try replicated.follow()
                if head.seq > opened.head.seq { options.onRecovery(.followedSharedLog(records: head.seq - opened.head.seq)) }
                try flusher.committing {
                    let applied = try opened.stateEnv.read { txn in try AppliedPoint.read(txn, opened.stateTables) }
                    try DerivedState.catchUp(from: applied, state: opened.stateEnv, opened.stateTables, log: opened.logEnv,
                                             opened.logTables, through: head.seq)
                }
                let theirs = try shared.identity(proposing: SharedLogIdentity(defaultRegistryId: opened.registry.value, tokenSecret: opened.secret))
                if let requested = options.defaultRegistryId, requested.value != theirs.defaultRegistryId {
                    throw LedgerError.invalid("the registry id \(requested) differs from the cluster's, \(theirs.defaultRegistryId): "
                        + "every node of a cluster answers for the same registry")
                }
                let adopt = { try OpenedStore.adopt(theirs, opened.logEnv, opened.logTables) }
                identity = try opened.logFlusher.map { try $0.committing(adopt) } ?? adopt()
                log = replicated
            } catch {
                opened.close()
                lock?.release()
                OpenStores.release(claimed)
                throw error as? LedgerError ?? LedgerError.storage(error, at: path, doing: "joining the cluster's log")
            }
        }
        canonicalPath = claimed
        writerLock = lock
        (logEnv, logTables, stateEnv, stateTables) = (opened.logEnv, opened.logTables, opened.stateEnv, opened.stateTables)
        (tokenKey, defaultRegistryId, flusher, logFlusher) = (HMACKey(identity.secret), identity.registry, opened.flusher, opened.logFlusher)
        if let flusher = opened.flusher {
            writer = Writer(log: log, logEnv: logEnv, logTables: logTables, state: stateEnv, stateTables: stateTables, flusher: flusher,
                            head: head, lastDenial: lastDenial, stats: stats, onCommit: options.onCommit)
        } else {
            writer = nil
        }
        sweeper = options.readOnly || options.staleReaderCheckInterval <= 0 ? nil
            : StaleReaderSweeper(logEnv, stateEnv, every: options.staleReaderCheckInterval)
    }

    deinit { close() }

    /// Finishes queued commands, stops the writer, flushes the derived state and closes the
    /// store. Later commands and queries fail with a storage error. Idempotent.
    public func close() {
        guard closed.setOnce() else { return }
        sweeper?.stop()
        writer?.stop()
        flusher?.close()
        logFlusher?.close()
        stateEnv.close()
        logEnv.close()
        writerLock?.release()
        OpenStores.release(canonicalPath)
    }

    // MARK: running commands

    func submit<C: LedgerCommand>(_ command: C, _ context: CommandContext) async throws -> C.Output {
        guard let writer else { throw LedgerError(.storage, "the store is open read-only") }
        return try await withCheckedThrowingContinuation { continuation in
            writer.enqueue(PendingCommand(command, context, continuation))
        }
    }

    /// Cluster mode: copies what other nodes appended to the shared log into the local log and
    /// the derived state. - Returns: the seq the derived state now reflects.
    @_spi(Cluster) @discardableResult
    public func followSharedLog() async throws -> UInt64 {
        guard let writer else { throw LedgerError(.storage, "the store is open read-only") }
        try await withCheckedThrowingContinuation { continuation in writer.enqueue(LogSync(continuation)) }
        return try appliedSeq()
    }

    func exclusive<R: Sendable>(_ body: @escaping (WriteTransaction, Writer, GroupBuilder) throws -> R) async throws -> R {
        guard let writer else { throw LedgerError(.storage, "the store is open read-only") }
        return try await withCheckedThrowingContinuation { continuation in
            writer.enqueue(ExclusiveJob(body, continuation))
        }
    }

    /// Runs `body` in a read transaction over the current projections.
    func read<R>(_ body: (ProjectionReader) throws -> R) throws -> R {
        do {
            return try stateEnv.read { txn in try body(ProjectionReader(txn: txn, dbs: try stateTables.current(txn))) }
        } catch let error as LMDBError {
            throw LedgerError.storage(error, at: canonicalPath, doing: "a read")
        }
    }

    /// Runs `body` with a read transaction on the derived state and one on the log.
    func readBoth<R>(_ body: (_ state: ReadTransaction, _ log: ReadTransaction) throws -> R) throws -> R {
        do {
            return try stateEnv.read { state in try logEnv.read { log in try body(state, log) } }
        } catch let error as LMDBError {
            throw LedgerError.storage(error, at: canonicalPath, doing: "a read")
        }
    }

    // MARK: store state

    /// The version of the rules that derive state from the log (key layouts, what each index
    /// holds). The derived state records it; one built by other rules is rebuilt at open.
    /// 1: checkpoint interval max(256, rows); 2: max(256, rows / 4); 3: image records name a
    /// known media type by a one-byte code, checkpoints hold no listing rows, max(256, 3 × rows / 8);
    /// 4: a repository's event index packs 128 seqs a row (``SeqRun``); 5: interval max(256, rows / 4);
    /// 6: derived state in its own environment, with its applied point; 7: a temporal index of
    /// versions (``Versions``) replaces checkpoints, organizations' policy versions replace their
    /// event index; 8: a repository record holds its settings and resource tags; 9: and its
    /// lifecycle policy; 10: the blobs a repository holds and the referrers index, an image
    /// record its subject; 11: written through a writable map, the file allocated to the map (a
    /// file shorter than its map was cut); 12: where the log holds each manifest
    /// (``ProjectionTables/manifestSeqs``).
    public static let projectionFormat: UInt8 = 12

    /// The seq of the last event in the log (0 for an empty log).
    public func headSeq() throws -> UInt64 {
        try logEnv.read { txn in try LMDBLogStore.head(txn, logTables).seq }
    }

    /// The seq of the last event the derived state reflects (the log's head once caught up).
    public func appliedSeq() throws -> UInt64 {
        try stateEnv.read { txn in try AppliedPoint.read(txn, stateTables).seq }
    }

    /// The store's LMDB reader tables (log and derived state): slots in use (by any process),
    /// their size, and the slots of dead processes freed so far.
    public var readerSlots: ReaderSlotStats {
        ReaderSlotStats(inUse: logEnv.readerSlotsInUse() + stateEnv.readerSlotsInUse(),
                        capacity: logEnv.readerCapacity + stateEnv.readerCapacity,
                        staleReleased: logEnv.staleReadersReleased + stateEnv.staleReadersReleased)
    }

    /// A SHA-256 (hex) over every projection entry: equal digests mean identical projections.
    public func stateDigest() throws -> String {
        try stateEnv.read { txn in try StateDigest.compute(txn, try stateTables.current(txn)).hex }
    }

    /// Replays the whole log into fresh projection databases, verifying the hash chain, and
    /// switches to them in one commit, flushed to disk. Blocks other commands while it runs.
    /// `progress` hears (events folded, events) every 100,000 events and once at the end, on
    /// the store's writer thread.
    ///
    /// - Returns: the state digest of the rebuilt projections.
    /// - Throws: `LedgerError` naming the first bad seq if the chain does not verify; the old
    ///   projections then stay in place.
    @discardableResult
    public func rebuild(progress: (@Sendable (UInt64, UInt64) -> Void)? = nil) async throws -> String {
        // Room for a second generation as large as the current one (the pages in use), beyond the
        // freed pages the map holds already, so that writing it does not fill the map and start
        // over (it still may, where the current one lost rows). The map's file holds what is
        // reserved: no more than that.
        let free: Int
        do { free = try stateEnv.freeListBytes() } catch { throw LedgerError.storage(error, at: stateEnv.path, doing: "the rebuild") }
        return try await rebuild(reserving: max(0, stateEnv.usedBytes - 2 * free), progress: progress)
    }

    /// ``rebuild(progress:)``, growing the state's map ahead for `reserving` more bytes.
    func rebuild(reserving: Int, progress: (@Sendable (UInt64, UInt64) -> Void)? = nil) async throws -> String {
        // The map's file is allocated as it grows: a full disk fails here, before anything is written.
        do { try stateEnv.reserve(reserving) } catch { throw LedgerError.storage(error, at: stateEnv.path, doing: "the rebuild") }
        // Folded once: the writer runs the job again when the state's map grew.
        var folded: LogFold?
        let digest = try await exclusive { txn, writer, group in
            let fold = try folded ?? RebuildState.fold(log: writer.logEnv, writer.logTables, through: group.head, progress: progress)
            folded = fold
            return try RebuildState.run(txn, writer.stateTables, fold: fold, log: writer.logEnv, writer.logTables,
                                        through: group.head, lastDenial: group.lastDenial)
        }
        // The fold's memory is freed on threads of its own while this one waits for the disk.
        let fold = Unchecked(value: folded)
        try Handoff<Never>.pipeline(capacity: 1, name: "regledger-free", produce: { _ in fold.value?.free() }, consume: { _ in
            try flusher?.flush()
        })
        return digest
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
