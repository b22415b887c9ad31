import LMDB

extension Ledger {
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
