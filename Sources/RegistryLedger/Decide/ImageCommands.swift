/// ECR `PutImage`: stores the manifest, adds the image if new, and creates or moves the tag
/// unless the tag is overwrite-protected (ECR-immutable or flagged).
struct PutImage: LedgerCommand {
    static let operation = "PutImage"
    let ref: RepositoryRef
    let manifest: Manifest
    let tag: Tag?
    /// The client's `imageDigest`, checked against the computed digest.
    let expectedDigest: String?

    func run(_ changes: inout Changes) throws -> PushedImage {
        let repo = try changes.repository(ref)
        if let expectedDigest {
            let claimed = try Digest(expectedDigest)
            guard claimed == manifest.digest else {
                throw LedgerError(.imageDigestDoesNotMatch,
                                  "Provided digest \(claimed) does not match the computed digest \(manifest.digest) of the manifest")
            }
        }
        let isNewImage = try changes.view.image(repo.repoId, manifest.digest) == nil
        var previous: Digest?
        if let tag, let existing = try changes.view.tag(repo.repoId, tag.value) {
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
            changes.storeManifest(manifest)  // an image already in the repository has its manifest in the log
            try changes.emit(.imagePushed(ref, digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.imageSize))
        }
        if let tag {
            try changes.emit(.tagSet(ref, tag: tag, digest: manifest.digest, previous: previous))
            try changes.flagIfGoverned(ref, tag, by: try changes.view.governingPolicies(ref))
        }
        return PushedImage(repository: ref, digest: manifest.digest, tag: tag?.value,
                           mediaType: manifest.mediaType, manifest: manifest.bytes)
    }

    private func alreadyExists() -> LedgerError {
        LedgerError(.imageAlreadyExists,
                    "Image with digest '\(manifest.digest)'\(tag.map { " and tag '\($0)'" } ?? "") already exists in the repository with name '\(ref.name)' in registry with id '\(ref.registryId)'")
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
            if let flagged = try removing.first(where: { try changes.view.tag(repo.repoId, $0)?.immutable == true }) {
                let reason = "The image tag '\(flagged)' is immutable and cannot be deleted"
                _ = changes.deny(.tagImmutable, reason, operation: Self.operation, repository: ref, tag: flagged)
                failures.append(ImageFailure(imageId: id, code: "InvalidImageTag", reason: reason))
                continue
            }
            for tag in removing {
                try changes.emit(.tagRemoved(ref, tag: Tag(unchecked: tag), digest: digest))
            }
            if removing.count == image.tags.count {
                try changes.emit(.imageDeleted(ref, digest: digest))
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

extension LedgerError {
    static func imageNotFound(_ ref: RepositoryRef, _ id: String) -> LedgerError {
        LedgerError(.imageNotFound, "The image with imageId \(id) does not exist within the repository with name '\(ref.name)' in the registry with id '\(ref.registryId)'")
    }
}
