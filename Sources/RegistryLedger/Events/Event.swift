/// A repository as events name it: registry and name.
public struct RepositoryRef: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let registryId: RegistryId
    public let name: RepositoryName

    public init(registryId: RegistryId = .defaultId, name: RepositoryName) {
        self.registryId = registryId
        self.name = name
    }

    public var description: String { "\(registryId)/\(name)" }
    public static func < (a: RepositoryRef, b: RepositoryRef) -> Bool { (a.registryId, a.name) < (b.registryId, b.name) }
}

/// Why a tag's immutable flag changed.
public enum FlagCause: Hashable, Sendable {
    /// A policy matched (at push time or retroactively). `boundHit` records that the pattern hit
    /// its evaluation bound and counted as no match (which sets the flag for an inverted policy).
    case policy(uuid: String, boundHit: Bool)
    /// Set or cleared directly through the tag API.
    case manual
}

/// One fact in the log. Every mutation of the registry is one or more events; projections are
/// a fold of ``apply`` over them.
public enum Event: Hashable, Sendable {
    case repositoryCreated(RepositoryRef, TagMutability)
    /// The repository and everything in it is gone (a forced delete removes its images too).
    case repositoryDeleted(RepositoryRef)
    case tagMutabilityChanged(RepositoryRef, TagMutability)
    /// A new image (digest) in a repository. Its manifest is in the content store; `subject` is
    /// the image it refers to (an OCI 1.1 referrer: a signature, an attestation), if any.
    case imagePushed(RepositoryRef, digest: Digest, mediaType: String, size: Int64?, subject: Digest? = nil)
    /// A tag now points at `digest`; `previous` is the image it pointed at, if any (a move).
    case tagSet(RepositoryRef, tag: Tag, digest: Digest, previous: Digest?)
    case tagRemoved(RepositoryRef, tag: Tag, digest: Digest)
    case imageDeleted(RepositoryRef, digest: Digest)
    case imageStatusChanged(RepositoryRef, digest: Digest, status: ImageStatus)
    case policyCreated(PolicyScope, Policy)
    case policyUpdated(PolicyScope, Policy)
    case policyDeleted(PolicyScope, uuid: String)
    case tagFlagChanged(RepositoryRef, tag: Tag, immutable: Bool, cause: FlagCause)
    /// The repository's scanning and encryption settings are now these.
    case settingsChanged(RepositoryRef, RepositorySettings)
    /// The repository's resource tags are now these (sorted by key; empty: none).
    case resourceTagsChanged(RepositoryRef, [ResourceTag])
    /// The repository's lifecycle policy text is now this (checked when it was put; nil: deleted).
    case lifecyclePolicyChanged(RepositoryRef, text: String?)
    /// The lifecycle rule with `rulePriority` expired the image: it is gone with its tags.
    case imageExpired(RepositoryRef, digest: Digest, rulePriority: Int)
    /// The lifecycle rule with `rulePriority` moved the image to the archive (ACTIVE → ARCHIVED).
    case imageTransitioned(RepositoryRef, digest: Digest, rulePriority: Int)
    /// The repository holds a blob (a layer or config uploaded, mounted, or pushed through ECR's
    /// layer operations). The bytes are in the blob store, not the log.
    case blobLinked(RepositoryRef, digest: Digest, size: Int64)
    /// The repository no longer holds the blob (a registry-API `DELETE`, or `gc` reclaiming it).
    case blobUnlinked(RepositoryRef, digest: Digest)

    /// The stable name used in exports and the audit tool.
    public var typeName: String {
        switch self {
        case .repositoryCreated: "repository.created"
        case .repositoryDeleted: "repository.deleted"
        case .tagMutabilityChanged: "mutability.changed"
        case .imagePushed: "image.pushed"
        case .tagSet: "tag.set"
        case .tagRemoved: "tag.removed"
        case .imageDeleted: "image.deleted"
        case .imageStatusChanged: "image.status"
        case .policyCreated: "policy.created"
        case .policyUpdated: "policy.updated"
        case .policyDeleted: "policy.deleted"
        case .tagFlagChanged: "tag.flagged"
        case .settingsChanged: "settings.changed"
        case .resourceTagsChanged: "tags.changed"
        case .lifecyclePolicyChanged: "lifecycle.changed"
        case .imageExpired: "image.expired"
        case .imageTransitioned: "image.transitioned"
        case .blobLinked: "blob.linked"
        case .blobUnlinked: "blob.unlinked"
        }
    }

    /// The repository the event concerns, if it concerns one.
    public var repository: RepositoryRef? {
        switch self {
        case .repositoryCreated(let r, _), .repositoryDeleted(let r), .tagMutabilityChanged(let r, _),
             .imagePushed(let r, _, _, _, _), .tagSet(let r, _, _, _), .tagRemoved(let r, _, _),
             .imageDeleted(let r, _), .imageStatusChanged(let r, _, _), .tagFlagChanged(let r, _, _, _),
             .settingsChanged(let r, _), .resourceTagsChanged(let r, _), .lifecyclePolicyChanged(let r, _),
             .imageExpired(let r, _, _), .imageTransitioned(let r, _, _), .blobLinked(let r, _, _), .blobUnlinked(let r, _):
            r
        case .policyCreated(let s, _), .policyUpdated(let s, _), .policyDeleted(let s, _):
            if case .repository(let reg, let name) = s { RepositoryRef(registryId: reg, name: name) } else { nil }
        }
    }

    /// The registry the event belongs to.
    /// The organization a policy event of organization scope names.
    public var organization: (RegistryId, String)? {
        switch self {
        case .policyCreated(let s, _), .policyUpdated(let s, _), .policyDeleted(let s, _):
            if case .organization(let registry, let name) = s { (registry, name) } else { nil }
        default: nil
        }
    }

    public var registryId: RegistryId {
        switch self {
        case .policyCreated(let s, _), .policyUpdated(let s, _), .policyDeleted(let s, _): s.registryId
        default: repository!.registryId
        }
    }
}
