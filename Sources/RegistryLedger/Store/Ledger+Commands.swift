import Foundation

extension RepositoryRef {
    /// Parses a repository reference from request strings.
    /// - Throws: `InvalidParameterException` for a bad registry id or repository name.
    public init(_ name: String, registryId: String? = nil, defaultRegistry: RegistryId = .defaultId) throws(LedgerError) {
        self.init(registryId: try registryId.map { id throws(LedgerError) in try RegistryId(id) } ?? defaultRegistry,
                  name: try RepositoryName(name))
    }
}

/// Commands. Each is atomic, durable when it returns, and appends nothing when it throws.
/// Errors are `LedgerError`s named as ECR names them (see ``LedgerError/Code``).
extension Ledger {
    /// ECR `CreateRepository`, with its settings and resource tags.
    /// - Throws: `RepositoryAlreadyExistsException`; `InvalidTagParameterException` for a tag key
    ///   given twice, `TooManyTagsException` for more than 50 tags.
    public func createRepository(_ ref: RepositoryRef, mutability: TagMutability = .default, settings: RepositorySettings = .default,
                                 resourceTags: [ResourceTag] = [], context: CommandContext) async throws -> Repository {
        try await submit(CreateRepository(ref: ref, mutability: mutability, settings: settings, resourceTags: resourceTags), context)
    }

    /// ECR `PutLifecyclePolicy`: checks `text` (SPEC §2.8) and stores it as given.
    /// - Throws: `InvalidParameterException` naming the rule and the reason; nothing changes then.
    public func putLifecyclePolicy(_ ref: RepositoryRef, text: String, context: CommandContext) async throws {
        _ = try await submit(ChangeLifecyclePolicy(ref: ref, text: text), context)
    }

    /// ECR `DeleteLifecyclePolicy`; returns the text it had.
    /// - Throws: `LifecyclePolicyNotFoundException` when the repository has none.
    public func deleteLifecyclePolicy(_ ref: RepositoryRef, context: CommandContext) async throws -> String {
        try await submit(ChangeLifecyclePolicy(ref: ref, text: nil), context)!
    }

    /// ECR `PutImageScanningConfiguration`; returns the settings as stored.
    public func putImageScanningConfiguration(_ ref: RepositoryRef, scanOnPush: Bool, context: CommandContext) async throws -> RepositorySettings {
        try await submit(PutImageScanningConfiguration(ref: ref, scanOnPush: scanOnPush), context)
    }

    /// ECR `TagResource` on a repository: sets `tags` (a key it has takes the new value);
    /// returns the repository's tags.
    /// - Throws: `InvalidTagParameterException` for a key given twice, `TooManyTagsException`
    ///   past 50 tags; nothing changes then.
    public func tagRepository(_ ref: RepositoryRef, _ tags: [ResourceTag], context: CommandContext) async throws -> [ResourceTag] {
        try await submit(ChangeResourceTags(ref: ref, add: tags, remove: []), context)
    }

    /// ECR `UntagResource` on a repository: removes the tags with these keys (absent ones are
    /// ignored); returns the repository's tags.
    public func untagRepository(_ ref: RepositoryRef, keys: [String], context: CommandContext) async throws -> [ResourceTag] {
        try await submit(ChangeResourceTags(ref: ref, add: [], remove: keys), context)
    }

    /// ECR `DeleteRepository`; `force` deletes a repository that still has images.
    public func deleteRepository(_ ref: RepositoryRef, force: Bool = false, context: CommandContext) async throws -> Repository {
        try await submit(DeleteRepository(ref: ref, force: force), context)
    }

    /// ECR `PutImageTagMutability`; returns the setting (mode and filters) as stored.
    public func putImageTagMutability(_ ref: RepositoryRef, _ mutability: TagMutability,
                                      context: CommandContext) async throws -> TagMutability {
        try await submit(PutImageTagMutability(ref: ref, mutability: mutability), context)
    }

    /// ECR `PutImage`. `expectedDigest` is the client's `imageDigest`, if it sent one.
    public func putImage(_ ref: RepositoryRef, manifest: Manifest, tag: Tag? = nil, expectedDigest: String? = nil,
                         context: CommandContext) async throws -> PushedImage {
        try await submit(PutImage(ref: ref, manifest: manifest, tag: tag, expectedDigest: expectedDigest), context)
    }

    /// The registry API's manifest `PUT` (SPEC §8): the `PutImage` command, which here creates a
    /// missing repository, requires every blob and child manifest the manifest names to be in the
    /// repository, and answers a push of what is already there with `appended == false`.
    /// - Throws: `LayersNotFoundException` for content the repository does not hold;
    ///   `ImageTagAlreadyExistsException` for an overwrite-protected tag (a denial is logged).
    public func pushManifest(_ ref: RepositoryRef, manifest: Manifest, tag: Tag?, context: CommandContext) async throws -> PushedImage {
        try await submit(PutImage(ref: ref, manifest: manifest, tag: tag, expectedDigest: nil, door: .registry), context)
    }

    /// Records that the repository holds blob `digest` (`createsRepository`: a missing repository
    /// is created, as a registry push creates it). Returns false when it held it already.
    @discardableResult
    public func linkBlob(_ ref: RepositoryRef, digest: Digest, size: Int64, createsRepository: Bool,
                         context: CommandContext) async throws -> Bool {
        try await submit(LinkBlob(ref: ref, digest: digest, size: size, createsRepository: createsRepository), context)
    }

    /// Records that the repository no longer holds these blobs (one event each).
    /// - Throws: `LayersNotFoundException` when it does not hold one of them; nothing changes then.
    public func unlinkBlobs(_ ref: RepositoryRef, digests: [Digest], context: CommandContext) async throws {
        try await submit(UnlinkBlobs(ref: ref, digests: digests), context)
    }

    /// ECR `BatchDeleteImage`: per-id results, with refused ids in `failures`.
    public func batchDeleteImage(_ ref: RepositoryRef, imageIds: [ImageIdentifier],
                                 context: CommandContext) async throws -> BatchDeleteResult {
        try await submit(BatchDeleteImage(ref: ref, imageIds: imageIds), context)
    }

    /// ECR `UpdateImageStorageClass` with `ARCHIVE` or `STANDARD`.
    public func updateImageStorageClass(_ ref: RepositoryRef, imageId: ImageIdentifier, targetStorageClass: String,
                                        context: CommandContext) async throws -> (digest: Digest, status: ImageStatus) {
        try await submit(UpdateImageStorageClass(ref: ref, imageId: imageId, targetStorageClass: targetStorageClass), context)
    }

    /// Ends a restore: ACTIVATING → ACTIVE.
    public func completeActivation(_ ref: RepositoryRef, digest: Digest, context: CommandContext) async throws -> ImageStatus {
        try await submit(CompleteActivation(ref: ref, digest: digest), context)
    }

    /// Quay: create an immutability policy; returns it with its new uuid.
    public func createPolicy(_ scope: PolicyScope, tagPattern: String, tagPatternMatches: Bool = true,
                             context: CommandContext) async throws -> Policy {
        try await submit(WritePolicy(scope: scope, uuid: UUID().uuidString.lowercased(), tagPattern: tagPattern,
                                     tagPatternMatches: tagPatternMatches, isUpdate: false), context)
    }

    /// Quay: replace a policy (an update replaces the whole policy).
    public func updatePolicy(_ scope: PolicyScope, uuid: String, tagPattern: String, tagPatternMatches: Bool = true,
                             context: CommandContext) async throws -> Policy {
        try await submit(WritePolicy(scope: scope, uuid: uuid, tagPattern: tagPattern, tagPatternMatches: tagPatternMatches,
                                     isUpdate: true), context)
    }

    /// Quay: delete a policy; the flags it set stay.
    public func deletePolicy(_ scope: PolicyScope, uuid: String, context: CommandContext) async throws {
        _ = try await submit(DeletePolicy(scope: scope, uuid: uuid), context)
    }

    /// Quay: point `tag` at an image of the repository (create or retarget).
    public func setTag(_ ref: RepositoryRef, tag: Tag, digest: Digest, context: CommandContext) async throws -> TagInfo {
        try await submit(SetTag(ref: ref, tag: tag, digest: digest), context)
    }

    /// Quay: delete a tag.
    public func deleteTag(_ ref: RepositoryRef, tag: Tag, context: CommandContext) async throws {
        try await submit(DeleteTag(ref: ref, tag: tag), context)
    }

    /// Quay: set or clear a tag's immutable flag (clearing needs `context.isAdmin`).
    public func setTagImmutable(_ ref: RepositoryRef, tag: Tag, immutable: Bool, context: CommandContext) async throws -> TagInfo {
        try await submit(SetTagImmutability(ref: ref, tag: tag, immutable: immutable), context)
    }
}
