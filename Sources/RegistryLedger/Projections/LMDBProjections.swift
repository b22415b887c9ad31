import LMDB

/// A projection generation in an LMDB write transaction, laid out as ``KeyLayout`` and
/// ``HistoryIndex`` say. Valid only inside that transaction.
struct LMDBProjections: HistoryStore {
    let txn: Transaction
    let dbs: ProjectionDatabases
    var reader: ProjectionReader { ProjectionReader(txn: txn, dbs: dbs) }
    /// The repository record last read or written: a replay applies many events of one
    /// repository, each of which looks it up.
    private let lastRepository = LastRepository()

    private final class LastRepository {
        var entry: (ref: RepositoryRef, record: RepoRecord?)?
    }

    init(txn: Transaction, dbs: ProjectionDatabases) {
        self.txn = txn
        self.dbs = dbs
    }

    static let nextRepoIdKey = Array("nextRepoId".utf8)

    // MARK: repositories and organizations

    func repository(_ ref: RepositoryRef) throws -> RepoRecord? {
        if let last = lastRepository.entry, last.ref == ref { return last.record }
        let record = try reader.repository(ref)
        lastRepository.entry = (ref, record)
        return record
    }

    func putRepository(_ ref: RepositoryRef, _ record: RepoRecord) throws {
        try txn.put(dbs.repos, key: KeyLayout.repository(ref), value: record.encoded())
        lastRepository.entry = (ref, record)
    }

    func deleteRepository(_ ref: RepositoryRef, repoId: UInt64) throws {
        let prefix = KeyLayout.u64(repoId)
        for db in [dbs.images, dbs.tags, dbs.listing] { try deleteAll(db, prefix: prefix) }
        let scope = PolicyScope.repository(ref.registryId, ref.name)
        for (seq, policy) in try reader.policies(scope) {
            try txn.delete(dbs.policies, key: KeyLayout.scope(scope) + KeyLayout.u64(seq))
            try txn.delete(dbs.policyIndex, key: Array(policy.uuid.utf8))
            try txn.delete(dbs.policyPatterns, key: KeyLayout.policyPattern(scope, policy.tagPattern))
        }
        try txn.delete(dbs.repos, key: KeyLayout.repository(ref))
        lastRepository.entry = (ref, nil)
    }

    func allocateRepositoryId() throws -> UInt64 {
        let id = try reader.lastRepositoryId() + 1
        try txn.put(dbs.counters, key: Self.nextRepoIdKey, value: KeyLayout.u64(id))
        return id
    }

    func noteOrganization(_ registry: RegistryId, _ name: String, seq: UInt64) throws {
        let key = KeyLayout.organization(registry, name)
        if try !txn.contains(dbs.organizations, key: key) {
            try txn.put(dbs.organizations, key: key, value: KeyLayout.u64(seq))
        }
    }

    private func deleteAll(_ db: Database, prefix: [UInt8]) throws {
        try txn.withCursor(db) { c in
            var entry = try c.seek(atOrAfter: prefix)
            while let e = entry, KeyLayout.hasPrefix(e.key, prefix) {
                try c.deleteCurrent()
                // After a delete the cursor stands on the next entry; re-read it.
                entry = try c.seek(atOrAfter: prefix)
            }
        }
    }

    // MARK: images, tags and the listing index

    func image(_ repoId: UInt64, _ digest: Digest) throws -> ImageRecord? { try reader.image(repoId, digest) }

    func putImage(_ repoId: UInt64, _ digest: Digest, _ record: ImageRecord) throws {
        try txn.put(dbs.images, key: KeyLayout.image(repoId, digest), value: record.encoded())
    }

    func deleteImage(_ repoId: UInt64, _ digest: Digest) throws {
        try txn.delete(dbs.images, key: KeyLayout.image(repoId, digest))
    }

    func tag(_ repoId: UInt64, _ tag: String) throws -> TagRecord? { try reader.tag(repoId, tag) }

    func putTag(_ repoId: UInt64, _ tag: String, _ record: TagRecord) throws {
        try txn.put(dbs.tags, key: KeyLayout.tag(repoId, tag), value: record.encoded())
    }

    func deleteTag(_ repoId: UInt64, _ tag: String) throws {
        try txn.delete(dbs.tags, key: KeyLayout.tag(repoId, tag))
    }

    func tagNames(_ repoId: UInt64) throws -> [String] { try reader.tags(repoId).map(\.name) }

    func putListing(_ repoId: UInt64, _ digest: Digest, tag: String?, status: ImageStatus) throws {
        try txn.put(dbs.listing, key: KeyLayout.listing(repoId, digest, tag: tag), value: [EventCodec.statusCode(status)])
    }

    func deleteListing(_ repoId: UInt64, _ digest: Digest, tag: String?) throws {
        try txn.delete(dbs.listing, key: KeyLayout.listing(repoId, digest, tag: tag))
    }

    // MARK: policies

    func policySeq(_ uuid: String, in scope: PolicyScope) throws -> UInt64? { try reader.policySeq(uuid, in: scope) }
    func policy(_ scope: PolicyScope, createdSeq: UInt64) throws -> Policy? { try reader.policy(scope, createdSeq: createdSeq) }

    func createPolicy(_ scope: PolicyScope, createdSeq: UInt64, _ policy: Policy) throws {
        let key = KeyLayout.scope(scope) + KeyLayout.u64(createdSeq)
        try txn.put(dbs.policies, key: key, value: PolicyRecord.encode(policy))
        try txn.put(dbs.policyIndex, key: Array(policy.uuid.utf8), value: key)
        try txn.put(dbs.policyPatterns, key: KeyLayout.policyPattern(scope, policy.tagPattern), value: Array(policy.uuid.utf8))
    }

    func replacePolicy(_ scope: PolicyScope, createdSeq: UInt64, old: Policy, new: Policy) throws {
        try txn.delete(dbs.policyPatterns, key: KeyLayout.policyPattern(scope, old.tagPattern))
        try txn.put(dbs.policies, key: KeyLayout.scope(scope) + KeyLayout.u64(createdSeq), value: PolicyRecord.encode(new))
        try txn.put(dbs.policyPatterns, key: KeyLayout.policyPattern(scope, new.tagPattern), value: Array(new.uuid.utf8))
    }

    func deletePolicy(_ scope: PolicyScope, createdSeq: UInt64, _ policy: Policy) throws {
        try txn.delete(dbs.policies, key: KeyLayout.scope(scope) + KeyLayout.u64(createdSeq))
        try txn.delete(dbs.policyIndex, key: Array(policy.uuid.utf8))
        try txn.delete(dbs.policyPatterns, key: KeyLayout.policyPattern(scope, policy.tagPattern))
    }

    // MARK: history indexes

    func historyId(_ ref: RepositoryRef) -> [UInt8] { HistoryIndex.repoPrefix(ref) }

    /// Adds `seq` to the repository's last ``SeqRun`` row, or starts a row when that one is full.
    func indexRepositoryEvent(historyId: [UInt8], seq: UInt64) throws {
        try txn.withCursor(dbs.repoEvents) { c in
            let past = try c.seek(atOrAfter: historyId + KeyLayout.u64(.max))
            if let last = past == nil ? try c.last() : try c.previous(), SeqRun.isRow(last.key, of: historyId) {
                let seqs = try SeqRun.decode(first: SeqRun.first(ofRow: last.key), last.value)
                if seqs.last! >= seq { return }  // indexed already
                if seqs.count < SeqRun.capacity {
                    // Copied before the put: it moves the row the map buffers point into.
                    let key = Array(last.key)
                    var value = BinaryWriter(capacity: last.value.count + 3)
                    value.bytes.append(contentsOf: last.value)
                    value.varint(seq - seqs.last!)
                    try key.withUnsafeBytes { k in try value.bytes.withUnsafeBytes { try c.put(key: k, value: $0) } }
                    return
                }
            }
            try (historyId + KeyLayout.u64(seq)).withUnsafeBytes { k in try c.put(key: k, value: UnsafeRawBufferPointer(start: nil, count: 0)) }
        }
    }

    func indexTagEvent(historyId: [UInt8], tag: String, seq: UInt64) throws {
        try txn.put(dbs.tagEvents, key: HistoryIndex.tagPrefix(historyId: historyId, tag) + KeyLayout.u64(seq), value: [])
    }


    func noteRepository(historyId: [UInt8], _ ref: RepositoryRef) throws {
        try txn.put(dbs.repoHistory, key: historyId, value: KeyLayout.repository(ref))
    }

    func putRepositoryVersion(historyId: [UInt8], seq: UInt64, _ value: [UInt8]) throws {
        try txn.put(dbs.repoVersions, key: historyId + KeyLayout.u64(seq), value: value)
    }

    func putOrganizationPolicyVersion(_ scope: PolicyScope, createdSeq: UInt64, seq: UInt64, _ value: [UInt8]) throws {
        try txn.put(dbs.organizationVersions, key: KeyLayout.scope(scope) + KeyLayout.u64(createdSeq) + KeyLayout.u64(seq), value: value)
    }

    func putContentVersion(repoId: UInt64, _ entity: Versions.Entity, seq: UInt64, _ value: [UInt8]) throws {
        var key = BinaryWriter(capacity: 64)
        Versions.key(repoId: repoId, entity, seq: seq, into: &key)
        try txn.put(dbs.contentVersions, key: key.bytes, value: value)
    }
}
