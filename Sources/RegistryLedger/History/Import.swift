import Foundation
import LMDB

extension Ledger {
    /// The file that marks a directory as holding an import still under way. It is created
    /// before the first byte of the store and removed after the last commit, so a killed
    /// `import` leaves a directory that every open refuses instead of a log prefix that looks whole.
    public static let importMarkerName = "import-incomplete"

    /// Throws when the directory at `path` holds an import that did not finish.
    /// - Throws: `InvalidParameterException` saying to remove the directory or import again.
    public static func refuseIncompleteImport(at path: String) throws {
        guard FileManager.default.fileExists(atPath: path + "/" + importMarkerName) else { return }
        throw LedgerError.invalid("\(path) holds an incomplete import (the import stopped before it finished): remove the "
            + "directory, or run `regledger import --data \(path) --input FILE` again, which starts over")
    }

    /// Imports into the directory at `path` through `body`, all or nothing.
    ///
    /// The directory must be missing, empty, or hold an incomplete import, which is removed
    /// first: an import always starts over. While `body` runs the directory is marked
    /// (``importMarkerName``) so that, if the process dies, every later open refuses it. When
    /// `body` throws, what it imported is removed again and the error rethrown.
    ///
    /// - Throws: `InvalidParameterException` when the directory holds anything else; what
    ///   `body` or opening the store throws.
    public static func importing<R>(into path: String, options: Options = Options(), _ body: (Ledger) async throws -> R) async throws -> R {
        let files = FileManager.default
        let existed = files.fileExists(atPath: path)
        // A marker being written when the process died is not an import yet.
        let entries = ((try? files.contentsOfDirectory(atPath: path)) ?? []).filter { $0 != DurableFiles.temporaryName(for: importMarkerName) }
        if !entries.isEmpty {
            guard entries.contains(importMarkerName) else {
                throw LedgerError.invalid("\(path) is not empty: import needs an empty directory")
            }
            try removeContents(of: path, keeping: importMarkerName)
        } else {
            do {
                try files.createDirectory(atPath: path, withIntermediateDirectories: true)
                try DurableFiles.write([], named: importMarkerName, in: path)
            } catch {
                throw LedgerError.storage(error, at: path, doing: "starting the import")
            }
        }
        var opening = options
        opening.acceptsIncompleteImport = true
        var ledger: Ledger?
        do {
            ledger = try Ledger(path: path, options: opening)
            let result = try await body(ledger!)
            ledger!.close()
            try DurableFiles.remove(named: importMarkerName, in: path)
            return result
        } catch {
            ledger?.close()
            if existed { try? removeContents(of: path, keeping: nil) } else { try? files.removeItem(atPath: path) }
            throw error
        }
    }

    private static func removeContents(of path: String, keeping kept: String?) throws {
        for entry in try FileManager.default.contentsOfDirectory(atPath: path) where entry != kept {
            try FileManager.default.removeItem(atPath: path + "/" + entry)
        }
    }

    /// Appends records taken from another store's log (an export), in order, with the manifests
    /// their `image.pushed` events name. Each record must continue this store's chain — the next
    /// seq, the head's hash as its previous hash (a record's own hash always matches its contents:
    /// it is computed when built and verified when decoded) — so the imported log is
    /// byte-identical to the original. All of `records` commit together or not at all.
    ///
    /// - Throws: `InvalidParameterException` naming the first record that does not fit.
    public func append(imported records: [EventRecord], manifests: [[UInt8]] = []) async throws {
        try await exclusive { txn, writer, group in
            var carried: [Digest: [UInt8]] = [:]
            for bytes in manifests { carried[Digest(of: bytes)] = bytes }
            let dbs = try writer.stateTables.current(txn)
            let (projections, reader) = (ProjectionWriter(txn: txn, dbs: dbs), ProjectionReader(txn: txn.reading, dbs: dbs))
            var next = group.head
            var stored: [LogGroup.Manifest] = []
            for record in records {
                guard record.seq == next.seq + 1, record.prevHash == next.hash else {
                    throw LedgerError.invalid("record seq \(record.seq) does not continue the log (head is seq \(next.seq))")
                }
                guard record.timestamp >= next.timestamp else {
                    throw LedgerError.invalid("record seq \(record.seq) is older than the record before it")
                }
                // The first push of a manifest brings it: under its seq, as the original log held it.
                if case .imagePushed(_, let digest, _, _, _) = record.event, try reader.manifestSeq(digest) == nil {
                    guard let bytes = carried[digest] else {
                        throw LedgerError.invalid("record seq \(record.seq) names manifest \(digest), which the import does not carry")
                    }
                    stored.append(LogGroup.Manifest(seq: record.seq, digest: digest, bytes: bytes))
                }
                try projections.apply(record)
                next = LogHead(seq: record.seq, hash: record.hash, timestamp: record.timestamp)
            }
            group.add(records, manifests: stored)
        }
    }

    /// The manifest stored under `digest`, if any: found through the derived state (the seq of
    /// the first push that named it), kept at that seq in the log, or by digest by an earlier
    /// version or a cluster node's copy of the log.
    public func manifest(_ digest: Digest) throws -> [UInt8]? {
        try readBoth { state, log in
            guard let seq = try state.get(try stateTables.current(state).manifestSeqs, digest) else { return nil }
            if let manifestLog = logTables.manifestLog, let bytes = try log.get(manifestLog, seq) { return bytes }
            return try log.get(logTables.manifests, digest)
        }
    }

    /// The current state straight from the projections (no history replay).
    func currentState() throws -> RegistryState {
        try readBoth { stxn, ltxn in
            let reader = ProjectionReader(txn: stxn, dbs: try stateTables.current(stxn))
            let applied = try AppliedPoint.read(stxn, stateTables)
            let timestamp = applied.seq == 0 ? 0 : try record(ltxn, applied.seq).timestamp
            var state = RegistryState(seq: applied.seq, timestamp: timestamp, repositories: [], organizations: [])
            var refs: [RepositoryRef] = []
            try stxn.forEach(reader.dbs.repos) { e in
                refs.append(try e.key())
                return true
            }
            for ref in refs.sorted() { state.repositories.append(try reader.repositoryState(ref)!) }
            var orgs: [(RegistryId, String)] = []
            try stxn.forEach(reader.dbs.organizations) { e in
                orgs.append(try e.key())
                return true
            }
            for (registry, org) in orgs {
                let policies = try reader.policies(.organization(registry, org)).map(\.policy)
                state.organizations.append(OrganizationState(registryId: registry, name: org, policies: policies))
            }
            return state
        }
    }
}
