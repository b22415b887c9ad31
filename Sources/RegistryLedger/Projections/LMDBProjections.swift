import LMDB

/// A projection generation in an LMDB write transaction, laid out by the codecs of
/// ``ProjectionTables``. Valid only inside that transaction.
struct LMDBProjections: HistoryStore {
    let txn: WriteTransaction
    let dbs: ProjectionTables
    var reader: ProjectionReader { ProjectionReader(txn: txn.reading, dbs: dbs) }
    /// The repository record last read or written: a replay applies many events of one
    /// repository, each of which looks it up.
    private let lastRepository = LastRepository()

    private final class LastRepository {
        var entry: (ref: RepositoryRef, record: RepoRecord?)?
    }

    init(txn: WriteTransaction, dbs: ProjectionTables) {
        self.txn = txn
        self.dbs = dbs
    }

    // MARK: repositories and organizations

    func repository(_ ref: RepositoryRef) throws -> RepoRecord? {
        if let last = lastRepository.entry, last.ref == ref { return last.record }
        let record = try reader.repository(ref)
        lastRepository.entry = (ref, record)
        return record
    }

    func putRepository(_ ref: RepositoryRef, _ record: RepoRecord) throws {
        try txn.put(dbs.repos, ref, record)
        lastRepository.entry = (ref, record)
    }

    func deleteRepository(_ ref: RepositoryRef, repoId: UInt64) throws {
        try deleteAll(dbs.images, prefix: ImageKey.prefix(repoId))
        try deleteAll(dbs.tags, prefix: TagKey.prefix(repoId))
        try deleteAll(dbs.listing, prefix: ListingKey.prefix(repoId))
        try deleteAll(dbs.blobs, prefix: ImageKey.prefix(repoId))
        try deleteAll(dbs.referrers, prefix: ImageKey.prefix(repoId))
        let scope = PolicyScope.repository(ref.registryId, ref.name)
        for (seq, policy) in try reader.policies(scope) { try deletePolicy(scope, createdSeq: seq, policy) }
        try txn.delete(dbs.repos, ref)
        lastRepository.entry = (ref, nil)
    }

    func allocateRepositoryId() throws -> UInt64 {
        let id = try reader.lastRepositoryId() + 1
        try txn.put(dbs.nextRepoId, id)
        return id
    }

    func noteOrganization(_ registry: RegistryId, _ name: String, seq: UInt64) throws {
        if try !txn.contains(dbs.organizations, (registry, name)) { try txn.put(dbs.organizations, (registry, name), seq) }
    }

    func noteManifest(_ digest: Digest, seq: UInt64) throws {
        // One descent of the B-tree: an earlier seq already there stays.
        do { try txn.put(dbs.manifestSeqs, digest, seq, flags: .noOverwrite) } catch LMDBError.keyExists {}
    }

    private func deleteAll<K, V>(_ table: Table<K, V>, prefix: [UInt8]) throws {
        try txn.withCursor(table) { c in
            var entry = try c.seek(atOrAfterBytes: prefix)
            while let e = entry, e.keyHasPrefix(prefix) {
                try c.deleteCurrent()
                // After a delete the cursor stands on the next entry; re-read it.
                entry = try c.seek(atOrAfterBytes: prefix)
            }
        }
    }

    // MARK: images, tags and the listing index

    func image(_ repoId: UInt64, _ digest: Digest) throws -> ImageRecord? { try reader.image(repoId, digest) }
    func putImage(_ repoId: UInt64, _ digest: Digest, _ record: ImageRecord) throws { try txn.put(dbs.images, (repoId, digest), record) }
    func deleteImage(_ repoId: UInt64, _ digest: Digest) throws { try txn.delete(dbs.images, (repoId, digest)) }

    func tag(_ repoId: UInt64, _ tag: String) throws -> TagRecord? { try reader.tag(repoId, tag) }
    func putTag(_ repoId: UInt64, _ tag: String, _ record: TagRecord) throws { try txn.put(dbs.tags, (repoId, tag), record) }
    func deleteTag(_ repoId: UInt64, _ tag: String) throws { try txn.delete(dbs.tags, (repoId, tag)) }

    func tagNames(_ repoId: UInt64) throws -> [String] { try reader.tags(repoId).map(\.name) }

    func putListing(_ repoId: UInt64, _ digest: Digest, tag: String?, status: ImageStatus) throws {
        try txn.put(dbs.listing, (repoId, digest, tag), status)
    }

    func deleteListing(_ repoId: UInt64, _ digest: Digest, tag: String?) throws {
        try txn.delete(dbs.listing, (repoId, digest, tag))
    }

    // MARK: policies

    func policySeq(_ uuid: String, in scope: PolicyScope) throws -> UInt64? { try reader.policySeq(uuid, in: scope) }
    func policy(_ scope: PolicyScope, createdSeq: UInt64) throws -> Policy? { try reader.policy(scope, createdSeq: createdSeq) }

    func createPolicy(_ scope: PolicyScope, createdSeq: UInt64, _ policy: Policy) throws {
        try txn.put(dbs.policies, (scope, createdSeq), policy)
        try txn.put(dbs.policyIndex, policy.uuid, (scope, createdSeq))
        try txn.put(dbs.policyPatterns, .init(scope, pattern: policy.tagPattern), policy.uuid)
    }

    func replacePolicy(_ scope: PolicyScope, createdSeq: UInt64, old: Policy, new: Policy) throws {
        try txn.delete(dbs.policyPatterns, .init(scope, pattern: old.tagPattern))
        try txn.put(dbs.policies, (scope, createdSeq), new)
        try txn.put(dbs.policyPatterns, .init(scope, pattern: new.tagPattern), new.uuid)
    }

    func deletePolicy(_ scope: PolicyScope, createdSeq: UInt64, _ policy: Policy) throws {
        try txn.delete(dbs.policies, (scope, createdSeq))
        try txn.delete(dbs.policyIndex, policy.uuid)
        try txn.delete(dbs.policyPatterns, .init(scope, pattern: policy.tagPattern))
    }

    // MARK: registry-API relations

    func blob(_ repoId: UInt64, _ digest: Digest) throws -> BlobRecord? { try reader.blob(repoId, digest) }
    func putBlob(_ repoId: UInt64, _ digest: Digest, _ record: BlobRecord) throws { try txn.put(dbs.blobs, (repoId, digest), record) }
    func deleteBlob(_ repoId: UInt64, _ digest: Digest) throws { try txn.delete(dbs.blobs, (repoId, digest)) }

    func putReferrer(_ repoId: UInt64, subject: Digest, _ referrer: Digest) throws {
        try txn.put(dbs.referrers, (repoId, subject, referrer), ())
    }

    func deleteReferrer(_ repoId: UInt64, subject: Digest, _ referrer: Digest) throws {
        try txn.delete(dbs.referrers, (repoId, subject, referrer))
    }

    // MARK: history indexes

    func historyId(_ ref: RepositoryRef) -> [UInt8] { HistoryIdKey.of(ref) }

    /// Adds `seq` to the repository's last ``SeqRun`` row, or starts a row when that one is full.
    func indexRepositoryEvent(historyId: [UInt8], seq: UInt64) throws {
        typealias Key = ThenSeq<HistoryIdKey>
        try txn.withCursor(dbs.repoEvents) { c in
            if let last = try c.seek(beforeBytes: Key.encode((historyId, .max))), last.keyHasPrefix(historyId) {
                let seqs = try SeqRun.decode(first: try Key.seq(of: last.rawKey), last.rawValue)
                if seqs.last! >= seq { return }  // indexed already
                if seqs.count < SeqRun.capacity {
                    // Copied before the put: it moves the row the map buffers point into.
                    let key = Array(last.rawKey)
                    let value = SeqRun.appending(seq, after: seqs.last!, to: last.rawValue)
                    try key.withUnsafeBytes { k in try value.withUnsafeBytes { try c.put(rawKey: k, rawValue: $0) } }
                    return
                }
            }
            try c.put((historyId, seq), [])
        }
    }

    func indexTagEvent(historyId: [UInt8], tag: String, seq: UInt64) throws {
        try txn.put(dbs.tagEvents, ((historyId, tag), seq), ())
    }

    func noteRepository(historyId: [UInt8], _ ref: RepositoryRef) throws {
        try txn.put(dbs.repoHistory, historyId, ref)
    }

    func putRepositoryVersion(historyId: [UInt8], seq: UInt64, _ record: RepoRecord?) throws {
        try txn.put(dbs.repoVersions, (historyId, seq), record)
    }

    func putOrganizationPolicyVersion(_ scope: PolicyScope, createdSeq: UInt64, seq: UInt64, _ policy: Policy?) throws {
        try txn.put(dbs.organizationVersions, ((scope, createdSeq), seq), policy)
    }

    func putContentVersion(repoId: UInt64, _ entity: ContentEntityKey.Entity, seq: UInt64, _ value: [UInt8]) throws {
        try txn.put(dbs.contentVersions, ((repoId, entity), seq), value)
    }
}
