import Foundation

/// A repository as queries and commands report it.
public struct Repository: Sendable, Hashable {
    public let registryId: RegistryId
    public let name: RepositoryName
    /// Creation time, microseconds since 1970.
    public let createdAt: UInt64
    public let mutability: TagMutability
    public let settings: RepositorySettings
    /// Sorted by key.
    public let resourceTags: [ResourceTag]
    /// The lifecycle policy's text, as it was put; nil when there is none.
    public let lifecyclePolicy: String?

    init(ref: RepositoryRef, record: RepoRecord) {
        registryId = ref.registryId
        name = ref.name
        createdAt = record.createdAt
        mutability = record.mutability
        settings = record.settings
        resourceTags = record.resourceTags
        lifecyclePolicy = record.lifecyclePolicy
    }

    public var createdDate: Date { Date(timeIntervalSince1970: Double(createdAt) / 1e6) }
}

/// An image named by digest, tag, or both, as ECR's `imageIds` do. Raw strings: each is
/// validated where it is used, so a bad one becomes a per-id failure, not a whole-request error.
public struct ImageIdentifier: Sendable, Hashable {
    public var digest: String?
    public var tag: String?

    public init(digest: String? = nil, tag: String? = nil) {
        self.digest = digest
        self.tag = tag
    }
}

/// Why one image id of a batch was not processed (ECR `ImageFailure`).
public struct ImageFailure: Sendable, Hashable, Error {
    public let imageId: ImageIdentifier
    /// ECR failure code: `InvalidImageDigest`, `InvalidImageTag`, `ImageTagDoesNotMatchDigest`,
    /// `ImageNotFound`, `MissingDigestAndTag`.
    public let code: String
    public let reason: String
}

/// The result of `PutImage`.
public struct PushedImage: Sendable, Hashable {
    public let repository: RepositoryRef
    public let digest: Digest
    public let tag: String?
    public let mediaType: String
    public let manifest: [UInt8]
    /// The image it refers to (OCI 1.1 `subject`), if any.
    public var subject: Digest? = nil
    /// False when the registry API's push found exactly this already there and appended nothing.
    public var appended = true

    func unchanged() -> PushedImage {
        var copy = self
        copy.appended = false
        return copy
    }
}

/// The result of `BatchDeleteImage`: ids deleted, and ids refused with the reason.
public struct BatchDeleteResult: Sendable, Hashable {
    public let deleted: [ImageIdentifier]
    public let failures: [ImageFailure]
}

/// One ListImages entry: a (digest, tag) pair, or a digest alone for an untagged image.
public struct ImageEntry: Sendable, Hashable {
    public let digest: Digest
    public let tag: String?
}

/// One DescribeImages entry.
public struct ImageDetail: Sendable, Hashable {
    public let repository: RepositoryRef
    public let digest: Digest
    public let tags: [String]
    public let mediaType: String
    /// Config plus layer sizes; nil for indexes.
    public let size: Int64?
    /// Push time, microseconds since 1970.
    public let pushedAt: UInt64
    public let status: ImageStatus
}

/// A tag as the Quay tag list reports it.
public struct TagInfo: Sendable, Hashable {
    public let name: String
    public let digest: Digest
    /// Microseconds since 1970.
    public let lastModified: UInt64
    public let immutable: Bool
    public let size: Int64?
}

/// One page of results and the token for the next, absent on the last page.
public struct Page<Element: Sendable>: Sendable {
    public let items: [Element]
    public let nextToken: String?
}

/// One ListImages page: its entries, packed, and the token for the next, absent on the last page.
public struct ImagePage: Sendable {
    public let items: ImageEntries
    public let nextToken: String?
}
