/// Where ``ProjectionWriter`` keeps projected state, in terms of what it means (repositories,
/// images, tags, listing entries, policies, history) rather than keys and values.
///
/// ``ProjectionWriter`` decides *what* changes when an event applies; a store only keeps it.
/// Three stores exist: ``LMDBProjections`` (a projection generation in a transaction: the
/// writer's group, import), ``MemoryProjections`` (rebuild and verification, which fold the
/// whole log in memory and write the result once, in key order) and ``CommandView`` (one
/// command's own events over the group's state, while it decides). The first two lay their rows
/// out with the codecs of ``ProjectionTables``, so they produce identical bytes.
protocol ProjectionStore {
    // MARK: repositories and organizations

    func repository(_ ref: RepositoryRef) throws -> RepoRecord?
    /// The id of `ref`, if it exists (what most events need of it).
    func repositoryId(_ ref: RepositoryRef) throws -> UInt64?
    func putRepository(_ ref: RepositoryRef, _ record: RepoRecord) throws
    /// Removes the repository and every image, tag, listing entry, blob link, referrer entry and
    /// repository-scope policy of it.
    func deleteRepository(_ ref: RepositoryRef, repoId: UInt64) throws
    /// The next repository id: 1, 2, … in creation order, never reused.
    func allocateRepositoryId() throws -> UInt64
    /// Records that organization `name` is known since `seq`, unless it already is.
    func noteOrganization(_ registry: RegistryId, _ name: String, seq: UInt64) throws

    // MARK: images, tags and the listing index

    func image(_ repoId: UInt64, _ digest: Digest) throws -> ImageRecord?
    func putImage(_ repoId: UInt64, _ digest: Digest, _ record: ImageRecord) throws
    /// Changes an image's record with `body` and stores it; nil (and no call) for an unknown image.
    func updateImage<R>(_ repoId: UInt64, _ digest: Digest, _ body: (inout ImageRecord) throws -> R) throws -> R?
    func deleteImage(_ repoId: UInt64, _ digest: Digest) throws
    func tag(_ repoId: UInt64, _ tag: String) throws -> TagRecord?
    func putTag(_ repoId: UInt64, _ tag: String, _ record: TagRecord) throws
    func deleteTag(_ repoId: UInt64, _ tag: String) throws
    /// Every tag name of a repository, in key order.
    func tagNames(_ repoId: UInt64) throws -> [String]
    /// Sets the ListImages entry (`tag` nil: the untagged entry) of an image.
    func putListing(_ repoId: UInt64, _ digest: Digest, tag: String?, status: ImageStatus) throws
    func deleteListing(_ repoId: UInt64, _ digest: Digest, tag: String?) throws

    // MARK: policies

    /// The seq of the event that created policy `uuid` in `scope`, if it exists there.
    func policySeq(_ uuid: String, in scope: PolicyScope) throws -> UInt64?
    func policy(_ scope: PolicyScope, createdSeq: UInt64) throws -> Policy?
    func createPolicy(_ scope: PolicyScope, createdSeq: UInt64, _ policy: Policy) throws
    /// Replaces `old` (created at `createdSeq`, same uuid) with `new`.
    func replacePolicy(_ scope: PolicyScope, createdSeq: UInt64, old: Policy, new: Policy) throws
    func deletePolicy(_ scope: PolicyScope, createdSeq: UInt64, _ policy: Policy) throws

    // MARK: registry-API relations

    func blob(_ repoId: UInt64, _ digest: Digest) throws -> BlobRecord?
    func putBlob(_ repoId: UInt64, _ digest: Digest, _ record: BlobRecord) throws
    func deleteBlob(_ repoId: UInt64, _ digest: Digest) throws
    /// Records that image `referrer` refers to `subject` (which need not be in the repository).
    func putReferrer(_ repoId: UInt64, subject: Digest, _ referrer: Digest) throws
    func deleteReferrer(_ repoId: UInt64, subject: Digest, _ referrer: Digest) throws

    // MARK: manifests

    /// Records that the event at `seq` names manifest `digest`, unless an earlier one did: the
    /// log holds a manifest under the seq of the first event that names it.
    func noteManifest(_ digest: Digest, seq: UInt64) throws
}

/// A ``ProjectionStore`` that also keeps the history indexes (``HistoryIndex``) and the temporal
/// index (``Versions``): the store's derived state, as opposed to a command's view of it.
protocol HistoryStore: ProjectionStore {

    /// ``HistoryIdKey/of(_:)`` of `ref` (stores may remember it).
    func historyId(_ ref: RepositoryRef) -> [UInt8]
    func indexRepositoryEvent(historyId: [UInt8], seq: UInt64) throws
    func indexTagEvent(historyId: [UInt8], tag: String, seq: UInt64) throws
    /// Records that history id `historyId` names `ref` (for listing every repository ever known).
    func noteRepository(historyId: [UInt8], _ ref: RepositoryRef) throws
    /// Stores a version of a repository (``Versions``): its record, or none when deleted.
    func putRepositoryVersion(historyId: [UInt8], seq: UInt64, _ record: RepoRecord?) throws
    /// Stores a version of one of a repository's images, tags or policies (``Versions``): its
    /// ``ImageStatusCode``, ``TagVersionValue`` or ``PolicyRecord`` bytes, or empty when gone.
    func putContentVersion(repoId: UInt64, _ entity: ContentEntityKey.Entity, seq: UInt64, _ value: [UInt8]) throws
    /// Stores a version of an organization's policy (``Versions``): the policy, or none when deleted.
    func putOrganizationPolicyVersion(_ scope: PolicyScope, createdSeq: UInt64, seq: UInt64, _ policy: Policy?) throws
}

extension ProjectionStore {
    func repositoryId(_ ref: RepositoryRef) throws -> UInt64? { try repository(ref)?.repoId }

    func updateImage<R>(_ repoId: UInt64, _ digest: Digest, _ body: (inout ImageRecord) throws -> R) throws -> R? {
        guard var image = try image(repoId, digest) else { return nil }
        let result = try body(&image)
        try putImage(repoId, digest, image)
        return result
    }
}
