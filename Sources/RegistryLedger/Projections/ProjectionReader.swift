import LMDB

/// Reads projected state inside one transaction. Used by decisions (under a ``CommandView``, in
/// the write transaction) and by queries (in read transactions).
struct ProjectionReader: BaseView {
    let txn: ReadTransaction
    let dbs: ProjectionTables

    func repository(_ ref: RepositoryRef) throws -> RepoRecord? { try txn.get(dbs.repos, ref) }

    func image(_ repoId: UInt64, _ digest: Digest) throws -> ImageRecord? { try txn.get(dbs.images, (repoId, digest)) }

    func tag(_ repoId: UInt64, _ tag: String) throws -> TagRecord? { try txn.get(dbs.tags, (repoId, tag)) }

    func hasImages(_ repoId: UInt64) throws -> Bool {
        var found = false
        try txn.forEach(dbs.images, prefix: ImageKey.prefix(repoId)) { _ in found = true; return false }
        return found
    }

    func organizationExists(_ registry: RegistryId, _ name: String) throws -> Bool {
        try txn.contains(dbs.organizations, (registry, name))
    }

    func manifestSeq(_ digest: Digest) throws -> UInt64? { try txn.get(dbs.manifestSeqs, digest) }

    func policies(_ scope: PolicyScope) throws -> [(createdSeq: UInt64, policy: Policy)] {
        var out: [(createdSeq: UInt64, policy: Policy)] = []
        try txn.forEach(dbs.policies, prefix: ThenSeq<PolicyScopeKey>.prefix(scope)) { e in
            out.append((try ThenSeq<PolicyScopeKey>.seq(of: e.rawKey), try e.value()))
            return true
        }
        return out
    }

    func policy(_ uuid: String, in scope: PolicyScope) throws -> Policy? {
        guard let seq = try policySeq(uuid, in: scope) else { return nil }
        guard let policy = try policy(scope, createdSeq: seq) else {
            throw LedgerError(.storage, "projections disagree with the log: dangling policy index")
        }
        return policy
    }

    /// The creation seq of policy `uuid` if it belongs to `scope`.
    func policySeq(_ uuid: String, in scope: PolicyScope) throws -> UInt64? {
        guard let at = try txn.get(dbs.policyIndex, uuid), at.head == scope else { return nil }
        return at.seq
    }

    /// The policy of `scope` created at `createdSeq`.
    func policy(_ scope: PolicyScope, createdSeq: UInt64) throws -> Policy? { try txn.get(dbs.policies, (scope, createdSeq)) }

    func policyUUID(withPattern pattern: String, in scope: PolicyScope) throws -> String? {
        try txn.get(dbs.policyPatterns, .init(scope, pattern: pattern))
    }

    func blob(_ repoId: UInt64, _ digest: Digest) throws -> BlobRecord? { try txn.get(dbs.blobs, (repoId, digest)) }

    func referrers(_ repoId: UInt64, _ subject: Digest) throws -> [Digest] {
        var out: [Digest] = []
        try txn.forEach(dbs.referrers, prefix: ReferrerKey.prefix(repoId, subject)) { e in
            out.append(try e.key().referrer)
            return true
        }
        return out
    }

    /// The last repository id allocated (0 before the first).
    func lastRepositoryId() throws -> UInt64 { try txn.get(dbs.nextRepoId) ?? 0 }

    /// Repositories of `registry` in namespace `org`.
    func repositories(inNamespace org: String, registry: RegistryId) throws -> [(RepositoryRef, RepoRecord)] {
        var out: [(RepositoryRef, RepoRecord)] = []
        try txn.forEach(dbs.repos, prefix: RepositoryKey.prefix(registry, namePrefix: org + "/")) { e in
            out.append((try e.key(), try e.value()))
            return true
        }
        return out
    }

    /// Every repository, of every registry, that has a lifecycle policy, in key order.
    func repositoriesWithLifecyclePolicy() throws -> [RepositoryRef] {
        var out: [RepositoryRef] = []
        try txn.forEach(dbs.repos) { e in
            if try e.value().lifecyclePolicy != nil { out.append(try e.key()) }
            return true
        }
        return out
    }

    /// All tags of a repository in name order.
    func tags(_ repoId: UInt64) throws -> [(name: String, record: TagRecord)] {
        var out: [(name: String, record: TagRecord)] = []
        try txn.forEach(dbs.tags, prefix: TagKey.prefix(repoId)) { e in
            out.append((try e.key().tag, try e.value()))
            return true
        }
        return out
    }

    /// All images of a repository in digest order (`mediaType`: see ``ImageRecord/init(_:mediaType:)``).
    func images(_ repoId: UInt64, mediaType: Bool = true) throws -> [(digest: Digest, record: ImageRecord)] {
        var out: [(digest: Digest, record: ImageRecord)] = []
        try txn.forEach(dbs.images, prefix: ImageKey.prefix(repoId)) { e in
            out.append((try e.key().digest, try ImageRecord(e.rawValue, mediaType: mediaType)))
            return true
        }
        return out
    }
}
