/// Which API a manifest push came through: the enforcement is the same (SPEC §2.4, §8), the
/// registry API differs in what it requires and how a repeated push answers.
enum PushDoor {
    /// ECR `PutImage`: the repository must exist; blobs are not checked; a repeated push is
    /// `ImageAlreadyExistsException` (or `ImageTagAlreadyExistsException` on a protected tag).
    case ecr
    /// The registry API: a push creates a missing repository; every blob and child manifest it
    /// names must be in the repository; pushing what is already there changes nothing.
    case registry
}

/// ECR `PutImage` and the registry API's manifest `PUT`: stores the manifest, adds the image if
/// new, and creates or moves the tag unless the tag is overwrite-protected (ECR-immutable or
/// flagged).
struct PutImage: LedgerCommand {
    static let operation = "PutImage"
    let ref: RepositoryRef
    let manifest: Manifest
    let tag: Tag?
    /// The client's `imageDigest`, checked against the computed digest.
    let expectedDigest: String?
    var door = PushDoor.ecr

    func run(_ changes: inout Changes) throws -> PushedImage {
        let repo = try changes.repository(ref, creating: door == .registry)
        if let expectedDigest {
            let claimed = try Digest(expectedDigest)
            guard claimed == manifest.digest else {
                throw LedgerError(.imageDigestDoesNotMatch,
                                  "Provided digest \(claimed) does not match the computed digest \(manifest.digest) of the manifest")
            }
        }
        let subject = try manifest.subjectDigest.map { text throws(LedgerError) in try Digest(text) }
        let isNewImage = try changes.view.image(repo.repoId, manifest.digest) == nil
        let existingTag = try tag.flatMap { try changes.view.tag(repo.repoId, $0.value) }
        let pushed = PushedImage(repository: ref, digest: manifest.digest, tag: tag?.value, mediaType: manifest.mediaType,
                                 manifest: manifest.bytes, subject: subject)
        if door == .registry {
            // Re-pushing what is already there answers as a success and appends nothing,
            // whether or not the tag is protected.
            if !isNewImage, tag == nil || existingTag?.digest == manifest.digest { return pushed.unchanged() }
            if isNewImage { try requireReferencedContent(repo.repoId, changes.view) }
        }
        var previous: Digest?
        if let tag, let existing = existingTag {
            if changes.isOverwriteProtected(repo, tag, existing) {
                throw changes.deny(.imageTagAlreadyExists,
                                   "The image tag '\(tag)' already exists in the '\(ref.name)' repository and cannot be overwritten because the tag is immutable.",
                                   operation: Self.operation, repository: ref, tag: tag.value)
            }
            if existing.digest == manifest.digest { throw alreadyExists() }
            previous = existing.digest
        } else if tag == nil, !isNewImage {
            throw alreadyExists()
        }
        if isNewImage {
            try changes.emit(.imagePushed(ref, digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.imageSize,
                                          subject: subject), naming: manifest)
        }
        if let tag {
            try changes.emit(.tagSet(ref, tag: tag, digest: manifest.digest, previous: previous))
            try changes.flagIfGoverned(ref, tag, by: try changes.view.governingPolicies(ref))
        }
        return pushed
    }

    /// The registry API's rule: the repository holds every blob the manifest names, and every
    /// manifest an index lists (SPEC §8).
    private func requireReferencedContent(_ repoId: UInt64, _ view: some StateView) throws {
        for text in manifest.blobDigests {
            guard let digest = try? Digest(text), try view.blob(repoId, digest) != nil else {
                throw LedgerError(.layersNotFound, "the manifest references blob \(text.prefix(80)), which the repository '\(ref.name)' does not hold")
            }
        }
        for text in manifest.childDigests {
            guard let digest = try? Digest(text), try view.image(repoId, digest) != nil else {
                throw LedgerError(.layersNotFound, "the index lists manifest \(text.prefix(80)), which the repository '\(ref.name)' does not hold")
            }
        }
    }

    private func alreadyExists() -> LedgerError {
        LedgerError(.imageAlreadyExists,
                    "Image with digest '\(manifest.digest)'\(tag.map { " and tag '\($0)'" } ?? "") already exists in the repository with name '\(ref.name)' in registry with id '\(ref.registryId)'")
    }
}

/// The registry API's blob upload, mount or ECR `CompleteLayerUpload`: the repository holds the
/// blob (created when missing, as a registry push creates it). Holding it already changes nothing.
struct LinkBlob: LedgerCommand {
    static let operation = "LinkBlob"
    let ref: RepositoryRef
    let digest: Digest
    let size: Int64
    /// Whether a missing repository is created (the registry API) or refused (ECR).
    let createsRepository: Bool

    func run(_ changes: inout Changes) throws -> Bool {
        let repo = try changes.repository(ref, creating: createsRepository)
        guard try changes.view.blob(repo.repoId, digest) == nil else { return false }
        try changes.emit(.blobLinked(ref, digest: digest, size: size))
        return true
    }
}

/// The registry API's blob `DELETE`, and `gc`: the repository no longer holds the blobs.
struct UnlinkBlobs: LedgerCommand {
    static let operation = "UnlinkBlob"
    let ref: RepositoryRef
    let digests: [Digest]

    func run(_ changes: inout Changes) throws {
        let repo = try changes.repository(ref)
        for digest in digests {
            guard try changes.view.blob(repo.repoId, digest) != nil else {
                throw LedgerError(.layersNotFound, "the repository '\(ref.name)' does not hold blob \(digest)")
            }
            try changes.emit(.blobUnlinked(ref, digest: digest))
        }
    }
}

/// ECR `BatchDeleteImage`: each id succeeds or fails on its own. By tag removes the tag (the
/// image goes with its last tag); by digest removes the image and all its tags, unless one of
/// them is deletion-protected (flagged), in which case nothing of that image is deleted.
struct BatchDeleteImage: LedgerCommand {
    static let operation = "BatchDeleteImage"
    let ref: RepositoryRef
    let imageIds: [ImageIdentifier]

    func run(_ changes: inout Changes) throws -> BatchDeleteResult {
        let repo = try changes.repository(ref)
        var deleted: [ImageIdentifier] = []
        var failures: [ImageFailure] = []
        for id in imageIds {
            let resolved = try id.resolve(in: changes.view, repoId: repo.repoId)
            guard case .success(let (digest, image)) = resolved else {
                if case .failure(let f) = resolved { failures.append(f) }
                continue
            }
            let removing = id.tag.map { [$0] } ?? image.tags
            let deletesImage = removing.count == image.tags.count
            // An image goes with the images that refer to it (SPEC §8), and so do their tags.
            let referrers = deletesImage ? try changes.view.referrersClosure(repo.repoId, of: digest) : []
            let protectedTags = try removing + referrers.flatMap { try changes.view.image(repo.repoId, $0)?.tags ?? [] }
            if let flagged = try protectedTags.first(where: { try changes.view.tag(repo.repoId, $0)?.immutable == true }) {
                let reason = "The image tag '\(flagged)' is immutable and cannot be deleted"
                _ = changes.deny(.tagImmutable, reason, operation: Self.operation, repository: ref, tag: flagged)
                failures.append(ImageFailure(imageId: id, code: "InvalidImageTag", reason: reason))
                continue
            }
            for tag in removing {
                try changes.emit(.tagRemoved(ref, tag: Tag(unchecked: tag), digest: digest))
            }
            if deletesImage {
                try changes.emit(.imageDeleted(ref, digest: digest))
                try changes.deleteImages(ref, repo.repoId, referrers)
            }
            deleted.append(ImageIdentifier(digest: digest.description, tag: id.tag))
        }
        return BatchDeleteResult(deleted: deleted, failures: failures)
    }
}

/// ECR `UpdateImageStorageClass`: `ARCHIVE` moves ACTIVE→ARCHIVED, `STANDARD` ARCHIVED→ACTIVATING.
struct UpdateImageStorageClass: LedgerCommand {
    static let operation = "UpdateImageStorageClass"
    let ref: RepositoryRef
    let imageId: ImageIdentifier
    let targetStorageClass: String

    func run(_ changes: inout Changes) throws -> (digest: Digest, status: ImageStatus) {
        let repo = try changes.repository(ref)
        let (digest, image) = try resolveImage(imageId, in: changes.view, repoId: repo.repoId)
        let (from, to): (ImageStatus, ImageStatus)
        switch targetStorageClass {
        case "ARCHIVE": (from, to) = (.active, .archived)
        case "STANDARD": (from, to) = (.archived, .activating)
        default:
            throw LedgerError.invalid("Invalid parameter at 'targetStorageClass' failed to satisfy constraint: 'Member must satisfy enum value set: [STANDARD, ARCHIVE]'")
        }
        guard image.status == from else {
            throw LedgerError(.imageStorageClassUpdateNotSupported,
                              "The image \(digest) is \(image.status.rawValue); storage class \(targetStorageClass) applies only to \(from.rawValue) images")
        }
        try changes.emit(.imageStatusChanged(ref, digest: digest, status: to))
        return (digest, to)
    }
}

/// Completes a restore: ACTIVATING→ACTIVE (the server issues it after its activation delay).
struct CompleteActivation: LedgerCommand {
    static let operation = "CompleteActivation"
    let ref: RepositoryRef
    let digest: Digest

    func run(_ changes: inout Changes) throws -> ImageStatus {
        let repo = try changes.repository(ref)
        guard let image = try changes.view.image(repo.repoId, digest) else { throw LedgerError.imageNotFound(ref, digest.description) }
        guard image.status == .activating else {
            throw LedgerError(.imageStorageClassUpdateNotSupported, "The image \(digest) is \(image.status.rawValue), not ACTIVATING")
        }
        try changes.emit(.imageStatusChanged(ref, digest: digest, status: .active))
        return .active
    }
}

/// Resolves a single image id or throws the matching whole-request error.
func resolveImage(_ id: ImageIdentifier, in view: some StateView, repoId: UInt64) throws -> (Digest, ImageRecord) {
    switch try id.resolve(in: view, repoId: repoId) {
    case .success(let found): return found
    case .failure(let f):
        switch f.code {
        case "ImageNotFound", "ImageTagDoesNotMatchDigest": throw LedgerError(.imageNotFound, f.reason)
        default: throw LedgerError.invalid(f.reason)
        }
    }
}

extension StateView {
    /// The images that refer to `subject`, and those that refer to them, and so on.
    func referrersClosure(_ repoId: UInt64, of subject: Digest) throws -> [Digest] {
        var found: [Digest] = []
        var seen: Set<Digest> = [subject]
        var pending = [subject]
        while let next = pending.popLast() {
            for referrer in try referrers(repoId, next) where seen.insert(referrer).inserted {
                if try image(repoId, referrer) != nil { found.append(referrer) }
                pending.append(referrer)
            }
        }
        return found
    }
}

extension Changes {
    /// Deletes images still in the repository, each with its tags (an event each).
    mutating func deleteImages(_ ref: RepositoryRef, _ repoId: UInt64, _ digests: [Digest]) throws {
        for digest in digests {
            guard let image = try view.image(repoId, digest) else { continue }
            for tag in image.tags { try emit(.tagRemoved(ref, tag: Tag(unchecked: tag), digest: digest)) }
            try emit(.imageDeleted(ref, digest: digest))
        }
    }
}

extension LedgerError {
    static func imageNotFound(_ ref: RepositoryRef, _ id: String) -> LedgerError {
        LedgerError(.imageNotFound, "The image with imageId \(id) does not exist within the repository with name '\(ref.name)' in the registry with id '\(ref.registryId)'")
    }
}
