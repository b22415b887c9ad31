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
        let entries = (try? files.contentsOfDirectory(atPath: path)) ?? []
        if !entries.isEmpty {
            guard entries.contains(importMarkerName) else {
                throw LedgerError.invalid("\(path) is not empty: import needs an empty directory")
            }
            try removeContents(of: path, keeping: importMarkerName)
        } else {
            do {
                try files.createDirectory(atPath: path, withIntermediateDirectories: true)
                try writeDurably(path + "/" + importMarkerName, in: path)
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
            try files.removeItem(atPath: path + "/" + importMarkerName)
            try syncDirectory(path)
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

    /// Creates an empty file and makes it and its directory entry durable.
    private static func writeDurably(_ file: String, in directory: String) throws {
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw LMDBError(code: errno) }
        defer { _ = Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw LMDBError(code: errno) }
        try syncDirectory(directory)
    }

    private static func syncDirectory(_ directory: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw LMDBError(code: errno) }
        defer { _ = Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw LMDBError(code: errno) }
    }

    /// Appends records taken from another store's log (an export), in order, with the manifests
    /// their `image.pushed` events name. Each record must continue this store's chain — the next
    /// seq, the head's hash as its previous hash (a record's own hash always matches its contents:
    /// it is computed when built and verified when decoded) — so the imported log is
    /// byte-identical to the original. All of `records` commit together or not at all.
    ///
    /// - Throws: `InvalidParameterException` naming the first record that does not fit.
    public func append(imported records: [EventRecord], manifests: [[UInt8]] = []) async throws {
        let stores = self.stores
        try await exclusive { txn, _, head in
            var next = head
            for bytes in manifests {
                let key = Digest(of: bytes).rawBytes
                if try !txn.contains(stores.manifests, key: key) { try txn.put(stores.manifests, key: key, value: bytes) }
            }
            let writer = ProjectionWriter(txn: txn, dbs: try stores.current(txn))
            for record in records {
                guard record.seq == next.seq + 1, record.prevHash == next.hash else {
                    throw LedgerError.invalid("record seq \(record.seq) does not continue the log (head is seq \(next.seq))")
                }
                guard record.timestamp >= next.timestamp else {
                    throw LedgerError.invalid("record seq \(record.seq) is older than the record before it")
                }
                if case .imagePushed(_, let digest, _, _) = record.event, try !txn.contains(stores.manifests, key: digest.rawBytes) {
                    throw LedgerError.invalid("record seq \(record.seq) names manifest \(digest), which the import does not carry")
                }
                try txn.put(stores.log, key: KeyLayout.u64(record.seq), value: record.encoded, flags: .append)
                try writer.apply(record)
                next = LogHead(seq: record.seq, hash: record.hash, timestamp: record.timestamp)
            }
            head = next
        }
    }

    /// The manifest stored under `digest`, if any.
    public func manifest(_ digest: Digest) throws -> [UInt8]? {
        try env.read { txn in try txn.get(stores.manifests, key: digest.rawBytes) }
    }

    /// The current state straight from the projections (no history replay).
    func currentState() throws -> RegistryState {
        try read { reader in
            let head = try Self.readHead(reader.txn, stores)
            var state = RegistryState(seq: head.seq, timestamp: head.timestamp, repositories: [], organizations: [])
            var refs: [RepositoryRef] = []
            try reader.scan(reader.dbs.repos, prefix: []) { e in
                refs.append(RepositoryRef(registryId: RegistryId(unchecked: String(decoding: e.key.prefix(12), as: UTF8.self)),
                                          name: RepositoryName(unchecked: String(decoding: e.key.dropFirst(12), as: UTF8.self))))
                return true
            }
            for ref in refs.sorted() { state.repositories.append(try reader.repositoryState(ref)!) }
            var orgs: [(RegistryId, String)] = []
            try reader.scan(reader.dbs.organizations, prefix: []) { e in
                orgs.append((RegistryId(unchecked: String(decoding: e.key.prefix(12), as: UTF8.self)),
                             String(decoding: e.key.dropFirst(12), as: UTF8.self)))
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
