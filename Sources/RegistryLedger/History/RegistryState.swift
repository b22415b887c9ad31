/// The registry (or one repository of it) as it was at one point of the log.
public struct RegistryState: Sendable, Hashable {
    /// The last event at or before the requested point, and its time (µs since 1970).
    public let seq: UInt64
    public let timestamp: UInt64
    /// Sorted by registry and name.
    public var repositories: [RepositoryState]
    /// Sorted by registry and name.
    public var organizations: [OrganizationState]
}

/// One repository's state: settings, policies, images and tags.
public struct RepositoryState: Sendable, Hashable {
    public let registryId: RegistryId
    public let name: RepositoryName
    public let mutability: TagMutability
    /// Repository-scope policies in creation order.
    public let policies: [Policy]
    /// Sorted by digest.
    public let images: [ImageState]
    /// Sorted by tag.
    public let tags: [TagState]
    public let settings: RepositorySettings
    /// Sorted by key.
    public let resourceTags: [ResourceTag]
    /// The lifecycle policy's text, as it was put; nil when there is none.
    public let lifecyclePolicy: String?

    public var ref: RepositoryRef { RepositoryRef(registryId: registryId, name: name) }
}

public struct ImageState: Sendable, Hashable {
    public let digest: Digest
    /// Sorted.
    public let tags: [String]
    public let status: ImageStatus
}

public struct TagState: Sendable, Hashable {
    public let tag: String
    public let digest: Digest
    public let immutable: Bool
}

/// A Quay organization and its policies (creation order).
public struct OrganizationState: Sendable, Hashable {
    public let registryId: RegistryId
    public let name: String
    public let policies: [Policy]
}

extension ProjectionReader {
    /// The state of `ref` as these projections hold it, or nil if it does not exist.
    func repositoryState(_ ref: RepositoryRef) throws -> RepositoryState? {
        guard let repo = try repository(ref) else { return nil }
        return RepositoryState(
            registryId: ref.registryId, name: ref.name, mutability: repo.mutability,
            policies: try policies(.repository(ref.registryId, ref.name)).map(\.policy),
            images: try images(repo.repoId, mediaType: false).map { ImageState(digest: $0.digest, tags: $0.record.tags, status: $0.record.status) },
            tags: try tags(repo.repoId).map { TagState(tag: $0.name, digest: $0.record.digest, immutable: $0.record.immutable) },
            settings: repo.settings, resourceTags: repo.resourceTags, lifecyclePolicy: repo.lifecyclePolicy)
    }
}
