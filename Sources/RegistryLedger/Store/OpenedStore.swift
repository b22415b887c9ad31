import Foundation
import LMDB

/// A store's two environments, opened and brought into step: the log (upgraded from the
/// earlier one-environment layout when needed) and the derived state, caught up with the log
/// or rebuilt from it. What ``Ledger/init(path:options:)`` keeps.
struct OpenedStore {
    let logEnv: Environment
    let logTables: LogTables
    let stateEnv: Environment
    let stateTables: StateTables
    let secret: [UInt8]
    let registry: RegistryId
    let head: LogHead
    let lastDenial: UInt64
    /// Writable opens only.
    let flusher: StateFlusher?
    /// A writable cluster node's: its local copy of the log is committed without fsync (the
    /// cluster's log is the durable one) and flushed like the derived state.
    let logFlusher: StateFlusher?

    init(path: String, options: Ledger.Options) throws {
        let copiesSharedLog = options.sharedLog != nil && !options.readOnly
        if let reason = StateFlusher.tornReason(directory: path, holding: "the local copy of the cluster's log") {
            // Only a cluster node can copy it again; any other open would read what may be torn.
            guard copiesSharedLog else {
                throw LedgerError.invalid("\(path) is a cluster node's copy of the log that may be torn (\(reason)); "
                    + "start the node (`regledger serve --data \(path) --cluster …`) to copy it again from the cluster's log")
            }
            for file in ["data.mdb", "lock.mdb"] { try? FileManager.default.removeItem(atPath: path + "/" + file) }
            try? FileManager.default.removeItem(atPath: Ledger.stateDirectory(path))
            options.onRecovery(.discardedLocalCopy(reason: reason))
        }
        var logOptions = Environment.Options()
        logOptions.mapSize = options.mapSize
        logOptions.maxMapSize = options.maxMapSize
        logOptions.durable = options.durable && !copiesSharedLog
        logOptions.readOnly = options.readOnly
        logOptions.maxDatabases = 64  // the earlier layout had 33
        let logEnv = try Environment(path: path, options: logOptions)
        var logFlusher: StateFlusher?
        do {
            if copiesSharedLog {
                logFlusher = try StateFlusher(env: logEnv, directory: path, interval: options.stateFlushInterval, dirtyFromStart: true)
            }
            if try Self.hasLegacyTables(logEnv) {
                guard !options.readOnly else {
                    throw LedgerError(.storage, "the store at \(path) was written by an earlier version of RegistryLedger; its log "
                        + "is kept as it is, but its derived state must be rebuilt once: run `regledger rebuild --data \(path)` "
                        + "(or start the server)")
                }
                try Self.dropLegacyTables(logEnv)
                options.onRecovery(.upgraded)
            }
            let logTables = try LogTables.open(logEnv, create: !options.readOnly)
            secret = try Self.tokenSecret(logEnv, logTables, create: !options.readOnly)
            registry = try Self.defaultRegistry(logEnv, logTables, requested: options.defaultRegistryId, record: !options.readOnly)
            head = try logEnv.read { txn in try LMDBLogStore.head(txn, logTables) }
            lastDenial = try LMDBLogStore(env: logEnv, tables: logTables).lastDenial()
            let state = try Self.openState(path: path, options: options, log: logEnv, logTables, head: head, lastDenial: lastDenial)
            (self.logEnv, self.logTables, self.logFlusher) = (logEnv, logTables, logFlusher)
            (stateEnv, stateTables, flusher) = (state.env, state.tables, state.flusher)
        } catch {
            logFlusher?.close()
            logEnv.close()
            throw error
        }
    }

    /// Closes both environments (an open that failed after this was made).
    func close() {
        flusher?.close()
        logFlusher?.close()
        stateEnv.close()
        logEnv.close()
    }

    /// Records `identity` (a cluster's) as this store's and returns it: every node of a cluster
    /// answers for the same default registry and seals page tokens with the same key.
    static func adopt(_ identity: SharedLogIdentity, _ env: Environment, _ tables: LogTables) throws
        -> (secret: [UInt8], registry: RegistryId) {
        let registry = try RegistryId(identity.defaultRegistryId)
        try env.write { txn in
            if try txn.get(tables.tokenSecret) != identity.tokenSecret { try txn.put(tables.tokenSecret, identity.tokenSecret) }
            if try txn.get(tables.defaultRegistryId) != registry.value { try txn.put(tables.defaultRegistryId, registry.value) }
        }
        return (identity.tokenSecret, registry)
    }

    // MARK: the derived state

    /// The derived state's first map, in bytes (unless ``Ledger/Options/mapSize`` is smaller).
    static let stateInitialMapSize = 1 << 20

    /// - Parameter fresh: the environment is new and about to be rebuilt: its map starts at the
    ///   log's size, sparing the rebuild the restarts of growing its way there.
    private static func stateOptions(_ options: Ledger.Options, directory: String, fresh: Bool) -> Environment.Options {
        var state = Environment.Options()
        // The state's file is allocated to its map's size (`writeMap`): start small, the map
        // grows with the state.
        state.mapSize = min(options.mapSize, stateInitialMapSize)
        if fresh, let logSize = try? FileManager.default.attributesOfItem(atPath: directory + "/../data.mdb")[.size] as? Int {
            state.mapSize = min(max(state.mapSize, logSize), options.maxMapSize)
        }
        state.maxMapSize = options.maxMapSize
        state.durable = false  // the log is durable; the state is flushed by a StateFlusher
        // No fsync to wait for, so a commit's cost is its write calls, one a dirty page: a writable
        // map has none (a group commit's state pages, a rebuild's whole state).
        state.writeMap = true
        state.readOnly = options.readOnly
        state.maxDatabases = 64
        return state
    }

    private static func openState(path: String, options: Ledger.Options, log: Environment, _ logTables: LogTables, head: LogHead,
                                  lastDenial: UInt64) throws -> (env: Environment, tables: StateTables, flusher: StateFlusher?) {
        let directory = Ledger.stateDirectory(path)
        if options.readOnly { return try openStateReadOnly(path: path, directory: directory, options: options) }
        let torn = StateFlusher.tornReason(directory: directory)
        let existed = FileManager.default.fileExists(atPath: directory + "/data.mdb")
        var reason = torn
        var opened: (Environment, StateTables)?
        if reason == nil {
            do {
                opened = try openStateTables(directory, options, fresh: !existed)
                if let (env, tables) = opened, !(try recordFormatIfNew(env, tables, head: head)) {
                    reason = try whyRebuild(env, tables, log: log, logTables, head: head)
                }
            } catch {
                opened?.0.close()
                opened = nil
                reason = Self.earlierFormatReason(directory, options) ?? "it is damaged (\(error))"
            }
        }
        if reason != nil {
            // Start from an empty environment, which the rebuild fills: a torn B-tree is not even
            // safe to clear, and no table of another projection format may survive.
            opened?.0.close()
            try? FileManager.default.removeItem(atPath: directory)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            opened = try openStateTables(directory, options, fresh: true)
        }
        let (env, tables) = opened!
        do {
            let flusher = try StateFlusher(env: env, directory: directory, interval: options.stateFlushInterval)
            if let reason {
                options.onRecovery(.rebuilding(reason: reason, events: head.seq))
                let fold = try RebuildState.fold(log: log, logTables, through: head) { done, total in
                    options.onRecovery(.progress(done: done, total: total))
                }
                _ = try flusher.committing {
                    try env.write { txn in try RebuildState.run(txn, tables, fold: fold, log: log, logTables, through: head, lastDenial: lastDenial) }
                }
                fold.free()
                try flusher.flush()
            } else {
                let applied = try env.read { txn in try AppliedPoint.read(txn, tables) }
                if applied.seq < head.seq || applied.denial < lastDenial {
                    _ = try flusher.committing {
                        try DerivedState.catchUp(from: applied, state: env, tables, log: log, logTables, through: head.seq)
                    }
                    if applied.seq < head.seq { options.onRecovery(.caughtUp(events: head.seq - applied.seq)) }
                }
            }
            return (env, tables, flusher)
        } catch {
            env.close()
            throw error
        }
    }

    private static func openStateTables(_ directory: String, _ options: Ledger.Options, fresh: Bool = false) throws -> (Environment, StateTables) {
        let env = try Environment(path: directory, options: stateOptions(options, directory: directory, fresh: fresh))
        do {
            guard !env.isTruncated() else { throw LMDBError.corrupted }
            return (env, try StateTables.open(env, create: !options.readOnly))
        } catch {
            env.close()
            throw error
        }
    }

    /// Records the projection format and an empty applied point in the state of a new store (an
    /// empty log and a state with no format yet); returns whether it did.
    private static func recordFormatIfNew(_ env: Environment, _ tables: StateTables, head: LogHead) throws -> Bool {
        guard head.seq == 0, try env.read({ txn in try txn.get(tables.projectionFormat) }) == nil else { return false }
        try env.write { txn in
            try txn.put(tables.projectionFormat, Ledger.projectionFormat)
            try AppliedPoint().write(txn, tables)
        }
        return true
    }

    private static func anotherVersion(_ format: UInt8) -> String {
        "it was built by another version of RegistryLedger (projection format \(format), this version uses \(Ledger.projectionFormat))"
    }

    /// Why a state that would not open is rebuilt when an earlier version wrote it (through a plain
    /// map, its file only as long as its pages, which a writable map takes for a cut file; or
    /// without tables this version has): its recorded format, read through a plain read-only map
    /// and its meta table alone. Nil when it is of this version, or unreadable.
    private static func earlierFormatReason(_ directory: String, _ options: Ledger.Options) -> String? {
        var readOnly = options
        readOnly.readOnly = true
        guard let env = try? Environment(path: directory, options: stateOptions(readOnly, directory: directory, fresh: false)) else { return nil }
        defer { env.close() }
        guard let format = try? StateTables.recordedFormat(env), format < Ledger.projectionFormat else { return nil }
        return anotherVersion(format)
    }

    /// Why the derived state in `env` cannot simply catch up with the log, or nil.
    private static func whyRebuild(_ env: Environment, _ tables: StateTables, log: Environment, _ logTables: LogTables,
                                   head: LogHead) throws -> String? {
        let (format, applied) = try env.read { txn in
            (try txn.get(tables.projectionFormat), try AppliedPoint.read(txn, tables))
        }
        guard let format else { return "it is missing" }
        guard format == Ledger.projectionFormat else { return anotherVersion(format) }
        guard applied.seq <= head.seq else { return "it reflects seq \(applied.seq), beyond the log's head \(head.seq)" }
        if applied.seq > 0 {
            let hash = try log.read { txn in
                try txn.get(logTables.log.raw, BigEndianU64.encode(applied.seq)).map { stored in
                    try stored.withUnsafeBytes { Array(try EventRecord.decode($0, verifyHash: false).hash) }
                }
            }
            guard hash == applied.hash else { return "it follows another log (its seq \(applied.seq) has another hash)" }
        }
        return nil
    }

    private static func openStateReadOnly(path: String, directory: String, options: Ledger.Options) throws
        -> (env: Environment, tables: StateTables, flusher: StateFlusher?) {
        let rebuild = "start the server on it or run `regledger rebuild --data \(path)` once (the log is unaffected)"
        guard FileManager.default.fileExists(atPath: directory + "/data.mdb") else {
            throw LedgerError(.storage, "the derived state of the store at \(path) is missing: \(rebuild)")
        }
        if let torn = StateFlusher.tornReason(directory: directory) {
            throw LedgerError(.storage, "the derived state of the store at \(path) may be torn (\(torn)): \(rebuild)")
        }
        let (env, tables): (Environment, StateTables)
        do { (env, tables) = try openStateTables(directory, options) } catch {
            if let earlier = earlierFormatReason(directory, options) {
                throw LedgerError(.storage, "the projections of the store at \(path) must be rebuilt: \(earlier): \(rebuild)")
            }
            throw LedgerError(.storage, "the derived state of the store at \(path) is damaged (\(error)): \(rebuild)")
        }
        let format = try env.read { txn in try txn.get(tables.projectionFormat) }
        guard format == Ledger.projectionFormat else {
            env.close()
            throw LedgerError(.storage, "the projections of the store at \(path) were built by another version of RegistryLedger "
                + "(format \(format.map(String.init) ?? "none"), this version uses \(Ledger.projectionFormat)): \(rebuild)")
        }
        return (env, tables, nil)
    }

    // MARK: the log

    /// Whether the log environment still holds the derived tables of the one-environment layout.
    private static func hasLegacyTables(_ env: Environment) throws -> Bool {
        (try? env.openTable(named: ProjectionTables.databaseName(.repos, generation: 0), create: false) as Table<RawBytes, RawBytes>) != nil
    }

    /// Drops the derived tables and keys that the one-environment layout kept beside the log.
    private static func dropLegacyTables(_ env: Environment) throws {
        var names = [0, 1].flatMap { g in ProjectionTables.Name.allCases.map { ProjectionTables.databaseName($0, generation: g) } }
        names.append("tagDenials")
        let legacy = names.compactMap { try? env.openTable(named: $0, create: false) as Table<RawBytes, RawBytes> }
        let meta: Table<UTF8Text, RawBytes> = try env.openTable(named: "meta", create: true)
        try env.write { txn in
            for table in legacy { try txn.drop(table) }
            for name in ["generation", "projectionFormat"] { try txn.delete(meta, name) }
        }
    }

    private static func defaultRegistry(_ env: Environment, _ tables: LogTables, requested: RegistryId?, record: Bool) throws -> RegistryId {
        let recorded = try env.read { txn in try txn.get(tables.defaultRegistryId) }.flatMap { try? RegistryId($0) }
        guard let requested else { return recorded ?? .defaultId }
        if record && recorded != requested {
            try env.write { txn in try txn.put(tables.defaultRegistryId, requested.value) }
        }
        return requested
    }

    private static func tokenSecret(_ env: Environment, _ tables: LogTables, create: Bool) throws -> [UInt8] {
        if let secret = try env.read({ txn in try txn.get(tables.tokenSecret) }) { return secret }
        guard create else { return [] }
        var rng = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        try env.write { txn in try txn.put(tables.tokenSecret, secret) }
        return secret
    }
}
