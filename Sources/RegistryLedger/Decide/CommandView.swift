/// Changes applied in memory over a ``BaseView``, through the same ``ProjectionWriter`` the store
/// uses. One serves each command while it decides: the command reads its own changes, and
/// nothing reaches the base, so a refused command leaves nothing to undo. Another holds the
/// group's accepted commands over the group's state, so that the next command sees them while
/// the group's events are applied to the state transaction only once deciding is over.
///
/// Each entry here hides the base's entry for the same key; `nil` means removed.
final class CommandView: BaseView, ProjectionStore {
    let base: any BaseView
    private var repositoryChanges: [RepositoryRef: RepoRecord?] = [:]
    /// Repository records as the base holds them, read once: a group's commands look the same
    /// repository up again and again (each a B-tree search and a decode), and the base does not
    /// change while a view is in use.
    private var baseRepositories: [RepositoryRef: RepoRecord?] = [:]
    /// Repository ids deleted by this command: none of the base's content of theirs shows.
    private var deletedRepositoryIds: Set<UInt64> = []
    private var nextRepositoryId: UInt64?
    private var organizations: Set<[UInt8]> = []
    /// Manifests first named by this command's events: digest → seq.
    private var manifestSeqs: [Digest: UInt64] = [:]
    private var imageChanges: [ImageKey: ImageRecord?] = [:]
    private var tagChanges: [TagKey: TagRecord?] = [:]
    private var blobChanges: [ImageKey: BlobRecord?] = [:]
    /// (repository, subject) → referrer → whether it refers to the subject now.
    private var referrerChanges: [ImageKey: [Digest: Bool]] = [:]
    /// Per scope, creation seq → policy (nil: deleted).
    private var policyChanges: [PolicyScope: [UInt64: Policy?]] = [:]
    /// Scopes whose base policies are all gone (their repository was deleted).
    private var clearedScopes: Set<PolicyScope> = []

    struct ImageKey: Hashable {
        let repoId: UInt64
        let digest: Digest
    }

    struct TagKey: Hashable {
        let repoId: UInt64
        let tag: String
    }

    init(base: any BaseView) { self.base = base }

    private func baseShows(_ repoId: UInt64) -> Bool { !deletedRepositoryIds.contains(repoId) }

    // MARK: StateView

    func repository(_ ref: RepositoryRef) throws -> RepoRecord? {
        if let changed = repositoryChanges[ref] { return changed }
        if let known = baseRepositories[ref] { return known }
        let record = try base.repository(ref)
        baseRepositories[ref] = record
        return record
    }

    func image(_ repoId: UInt64, _ digest: Digest) throws -> ImageRecord? {
        if let changed = imageChanges[ImageKey(repoId: repoId, digest: digest)] { return changed }
        return baseShows(repoId) ? try base.image(repoId, digest) : nil
    }

    func tag(_ repoId: UInt64, _ tag: String) throws -> TagRecord? {
        if let changed = tagChanges[TagKey(repoId: repoId, tag: tag)] { return changed }
        return baseShows(repoId) ? try base.tag(repoId, tag) : nil
    }

    func hasImages(_ repoId: UInt64) throws -> Bool {
        if imageChanges.contains(where: { $0.key.repoId == repoId && $0.value != nil }) { return true }
        guard baseShows(repoId) else { return false }
        let hidden = Set(imageChanges.keys.filter { $0.repoId == repoId }.map(\.digest))
        if hidden.isEmpty { return try base.hasImages(repoId) }
        return try base.images(repoId, mediaType: false).contains { !hidden.contains($0.digest) }
    }

    func images(_ repoId: UInt64, mediaType: Bool) throws -> [(digest: Digest, record: ImageRecord)] {
        var merged: [Digest: ImageRecord] = [:]
        if baseShows(repoId) { for (digest, record) in try base.images(repoId, mediaType: mediaType) { merged[digest] = record } }
        for (key, record) in imageChanges where key.repoId == repoId { merged[key.digest] = record }
        return merged.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    func lastRepositoryId() throws -> UInt64 { try nextRepositoryId ?? base.lastRepositoryId() }

    func organizationExists(_ registry: RegistryId, _ name: String) throws -> Bool {
        try organizations.contains(OrganizationKey.encode((registry, name))) || base.organizationExists(registry, name)
    }

    func tags(_ repoId: UInt64) throws -> [(name: String, record: TagRecord)] {
        var merged: [String: TagRecord] = [:]
        if baseShows(repoId) { for (name, record) in try base.tags(repoId) { merged[name] = record } }
        for (key, record) in tagChanges where key.repoId == repoId { merged[key.tag] = record }
        // Tags are ASCII, so String order is their key order.
        return merged.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    func repositories(inNamespace org: String, registry: RegistryId) throws -> [(RepositoryRef, RepoRecord)] {
        var merged: [RepositoryRef: RepoRecord] = [:]
        for (ref, record) in try base.repositories(inNamespace: org, registry: registry) { merged[ref] = record }
        for (ref, record) in repositoryChanges where ref.registryId == registry && ref.name.namespace == org { merged[ref] = record }
        return merged.map { ($0.key, $0.value) }.sorted { RepositoryKey.encode($0.0).lexicographicallyPrecedes(RepositoryKey.encode($1.0)) }
    }

    func policies(_ scope: PolicyScope) throws -> [(createdSeq: UInt64, policy: Policy)] {
        var merged: [UInt64: Policy] = [:]
        if !clearedScopes.contains(scope) { for (seq, policy) in try base.policies(scope) { merged[seq] = policy } }
        for (seq, policy) in policyChanges[scope] ?? [:] { merged[seq] = policy }
        return merged.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    func policy(_ uuid: String, in scope: PolicyScope) throws -> Policy? {
        try policySeq(uuid, in: scope).flatMap { try policy(scope, createdSeq: $0) }
    }

    func policyUUID(withPattern pattern: String, in scope: PolicyScope) throws -> String? {
        let changed = policyChanges[scope] ?? [:]
        if let mine = changed.values.first(where: { $0?.tagPattern == pattern }) { return mine?.uuid }
        guard !clearedScopes.contains(scope), let uuid = try base.policyUUID(withPattern: pattern, in: scope),
              let seq = try base.policySeq(uuid, in: scope) else { return nil }
        // The base's owner of the pattern, unless this command deleted it or changed its pattern.
        return changed[seq] == nil ? uuid : nil
    }

    func blob(_ repoId: UInt64, _ digest: Digest) throws -> BlobRecord? {
        if let changed = blobChanges[ImageKey(repoId: repoId, digest: digest)] { return changed }
        return baseShows(repoId) ? try base.blob(repoId, digest) : nil
    }

    func referrers(_ repoId: UInt64, _ subject: Digest) throws -> [Digest] {
        var merged = Set(baseShows(repoId) ? try base.referrers(repoId, subject) : [])
        for (referrer, present) in referrerChanges[ImageKey(repoId: repoId, digest: subject)] ?? [:] {
            if present { merged.insert(referrer) } else { merged.remove(referrer) }
        }
        return merged.sorted()
    }

    // MARK: ProjectionStore

    func putRepository(_ ref: RepositoryRef, _ record: RepoRecord) { repositoryChanges[ref] = .some(record) }

    func deleteRepository(_ ref: RepositoryRef, repoId: UInt64) {
        repositoryChanges[ref] = .some(nil)
        deletedRepositoryIds.insert(repoId)
        imageChanges = imageChanges.filter { $0.key.repoId != repoId }
        tagChanges = tagChanges.filter { $0.key.repoId != repoId }
        blobChanges = blobChanges.filter { $0.key.repoId != repoId }
        referrerChanges = referrerChanges.filter { $0.key.repoId != repoId }
        let scope = PolicyScope.repository(ref.registryId, ref.name)
        policyChanges[scope] = nil
        clearedScopes.insert(scope)
    }

    func allocateRepositoryId() throws -> UInt64 {
        let id = try lastRepositoryId() + 1
        nextRepositoryId = id
        return id
    }

    func noteOrganization(_ registry: RegistryId, _ name: String, seq: UInt64) {
        organizations.insert(OrganizationKey.encode((registry, name)))
    }

    func manifestSeq(_ digest: Digest) throws -> UInt64? {
        if let seq = manifestSeqs[digest] { return seq }
        return try base.manifestSeq(digest)
    }

    func noteManifest(_ digest: Digest, seq: UInt64) throws {
        if try manifestSeq(digest) == nil { manifestSeqs[digest] = seq }
    }

    func putImage(_ repoId: UInt64, _ digest: Digest, _ record: ImageRecord) { imageChanges[ImageKey(repoId: repoId, digest: digest)] = .some(record) }
    func deleteImage(_ repoId: UInt64, _ digest: Digest) { imageChanges[ImageKey(repoId: repoId, digest: digest)] = .some(nil) }
    func putTag(_ repoId: UInt64, _ tag: String, _ record: TagRecord) { tagChanges[TagKey(repoId: repoId, tag: tag)] = .some(record) }
    func deleteTag(_ repoId: UInt64, _ tag: String) { tagChanges[TagKey(repoId: repoId, tag: tag)] = .some(nil) }
    func tagNames(_ repoId: UInt64) throws -> [String] { try tags(repoId).map(\.name) }

    func putBlob(_ repoId: UInt64, _ digest: Digest, _ record: BlobRecord) { blobChanges[ImageKey(repoId: repoId, digest: digest)] = .some(record) }
    func deleteBlob(_ repoId: UInt64, _ digest: Digest) { blobChanges[ImageKey(repoId: repoId, digest: digest)] = .some(nil) }

    func putReferrer(_ repoId: UInt64, subject: Digest, _ referrer: Digest) {
        referrerChanges[ImageKey(repoId: repoId, digest: subject), default: [:]][referrer] = true
    }

    func deleteReferrer(_ repoId: UInt64, subject: Digest, _ referrer: Digest) {
        referrerChanges[ImageKey(repoId: repoId, digest: subject), default: [:]][referrer] = false
    }

    // Listing entries follow from the images; a command never reads them.
    func putListing(_ repoId: UInt64, _ digest: Digest, tag: String?, status: ImageStatus) {}
    func deleteListing(_ repoId: UInt64, _ digest: Digest, tag: String?) {}

    func policySeq(_ uuid: String, in scope: PolicyScope) throws -> UInt64? {
        let changed = policyChanges[scope] ?? [:]
        if let mine = changed.first(where: { $0.value?.uuid == uuid }) { return mine.key }
        guard !clearedScopes.contains(scope), let seq = try base.policySeq(uuid, in: scope) else { return nil }
        // Unless this command deleted it (an update keeps its uuid and is found above).
        return changed[seq] == nil ? seq : nil
    }

    func policy(_ scope: PolicyScope, createdSeq: UInt64) throws -> Policy? {
        if let changed = policyChanges[scope]?[createdSeq] { return changed }
        return clearedScopes.contains(scope) ? nil : try base.policy(scope, createdSeq: createdSeq)
    }

    func createPolicy(_ scope: PolicyScope, createdSeq: UInt64, _ policy: Policy) {
        policyChanges[scope, default: [:]][createdSeq] = .some(policy)
    }

    func replacePolicy(_ scope: PolicyScope, createdSeq: UInt64, old: Policy, new: Policy) {
        policyChanges[scope, default: [:]][createdSeq] = .some(new)
    }

    func deletePolicy(_ scope: PolicyScope, createdSeq: UInt64, _ policy: Policy) {
        policyChanges[scope, default: [:]][createdSeq] = .some(nil)
    }
}
