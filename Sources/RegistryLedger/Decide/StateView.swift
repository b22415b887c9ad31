/// What a decision may read of current state. ``ProjectionReader`` reads it from a transaction;
/// ``CommandView`` shows a command its own events on top of that.
protocol StateView {
    func repository(_ ref: RepositoryRef) throws -> RepoRecord?
    func image(_ repoId: UInt64, _ digest: Digest) throws -> ImageRecord?
    func tag(_ repoId: UInt64, _ tag: String) throws -> TagRecord?
    func hasImages(_ repoId: UInt64) throws -> Bool
    func organizationExists(_ registry: RegistryId, _ name: String) throws -> Bool
    /// All tags of a repository in name order.
    func tags(_ repoId: UInt64) throws -> [(name: String, record: TagRecord)]
    /// Repositories of `registry` in namespace `org`, in key order.
    func repositories(inNamespace org: String, registry: RegistryId) throws -> [(RepositoryRef, RepoRecord)]
    /// Policies of one scope in creation order, with their creation seqs.
    func policies(_ scope: PolicyScope) throws -> [(createdSeq: UInt64, policy: Policy)]
    /// The policy `uuid` if it belongs to `scope`.
    func policy(_ uuid: String, in scope: PolicyScope) throws -> Policy?
    /// The uuid of the policy of `scope` whose pattern is `pattern`, if any.
    func policyUUID(withPattern pattern: String, in scope: PolicyScope) throws -> String?
    /// The blob `digest` if the repository holds it.
    func blob(_ repoId: UInt64, _ digest: Digest) throws -> BlobRecord?
    /// The images of the repository that refer to `subject`, in digest order.
    func referrers(_ repoId: UInt64, _ subject: Digest) throws -> [Digest]
    /// The seq of the first `image.pushed` event naming manifest `digest`, in any repository:
    /// nil while the log holds no such manifest.
    func manifestSeq(_ digest: Digest) throws -> UInt64?
}

/// What a ``CommandView`` reads beneath its own changes: the group's state in its transaction
/// (``ProjectionReader``) or the group's changes so far over it (another ``CommandView``).
protocol BaseView: StateView {
    /// All images of a repository in digest order.
    func images(_ repoId: UInt64, mediaType: Bool) throws -> [(digest: Digest, record: ImageRecord)]
    /// The creation seq of policy `uuid` if it belongs to `scope`.
    func policySeq(_ uuid: String, in scope: PolicyScope) throws -> UInt64?
    /// The policy of `scope` created at `createdSeq`.
    func policy(_ scope: PolicyScope, createdSeq: UInt64) throws -> Policy?
    /// The last repository id allocated (0 before the first).
    func lastRepositoryId() throws -> UInt64
}

extension StateView {
    /// The policies that govern tags of `repo`: its namespace's, then its own.
    func governingPolicies(_ repo: RepositoryRef) throws -> [Policy] {
        var out: [Policy] = []
        if let org = repo.name.namespace {
            out += try policies(.organization(repo.registryId, org)).map(\.policy)
        }
        out += try policies(.repository(repo.registryId, repo.name)).map(\.policy)
        return out
    }
}
