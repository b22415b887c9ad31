/// Quay `PUT …/tag/{tag}` with a manifest digest: creates the tag or moves it, unless it is
/// overwrite-protected (even when it already points there).
struct SetTag: LedgerCommand {
    static let operation = "quay.SetTag"
    let ref: RepositoryRef
    let tag: Tag
    let digest: Digest

    func run(_ changes: inout Changes) throws -> TagInfo {
        let repo = try changes.repository(ref)
        guard let image = try changes.view.image(repo.repoId, digest) else {
            throw LedgerError.imageNotFound(ref, digest.description)
        }
        let existing = try changes.view.tag(repo.repoId, tag.value)
        if let existing, changes.isOverwriteProtected(repo, tag, existing) {
            throw changes.deny(.tagImmutable, "Tag '\(tag)' is immutable and cannot be retargeted",
                               operation: Self.operation, repository: ref, tag: tag.value)
        }
        if existing?.digest != digest {
            try changes.emit(.tagSet(ref, tag: tag, digest: digest, previous: existing?.digest))
            try changes.flagIfGoverned(ref, tag, by: try changes.view.governingPolicies(ref))
        }
        let record = try changes.view.tag(repo.repoId, tag.value)!
        return TagInfo(name: tag.value, digest: digest, lastModified: record.lastModified,
                       immutable: record.immutable, size: image.size)
    }
}

/// Quay `DELETE …/tag/{tag}`: removes the tag unless it is flagged immutable. The image stays,
/// untagged if that was its last tag (Quay keeps manifests; ECR's tag deletion is BatchDeleteImage).
struct DeleteTag: LedgerCommand {
    static let operation = "quay.DeleteTag"
    let ref: RepositoryRef
    let tag: Tag

    func run(_ changes: inout Changes) throws {
        let repo = try changes.repository(ref)
        guard let existing = try changes.view.tag(repo.repoId, tag.value) else {
            throw LedgerError(.tagNotFound, "Tag '\(tag)' does not exist in repository '\(ref.name)'")
        }
        if existing.immutable {
            throw changes.deny(.tagImmutable, "Tag '\(tag)' is immutable and cannot be deleted",
                               operation: Self.operation, repository: ref, tag: tag.value)
        }
        try changes.emit(.tagRemoved(ref, tag: tag, digest: existing.digest))
    }
}

/// Quay `PUT …/tag/{tag}` with `{"immutable": bool}`: any writer may set the flag; only an
/// admin may clear it.
struct SetTagImmutability: LedgerCommand {
    static let operation = "quay.SetTagImmutability"
    let ref: RepositoryRef
    let tag: Tag
    let immutable: Bool

    func run(_ changes: inout Changes) throws -> TagInfo {
        let repo = try changes.repository(ref)
        guard let existing = try changes.view.tag(repo.repoId, tag.value) else {
            throw LedgerError(.tagNotFound, "Tag '\(tag)' does not exist in repository '\(ref.name)'")
        }
        if existing.immutable, !immutable, !changes.context.isAdmin {
            throw changes.deny(.forbidden, "Clearing the immutable flag of tag '\(tag)' requires repository admin rights",
                               operation: Self.operation, repository: ref, tag: tag.value)
        }
        if existing.immutable != immutable {
            try changes.emit(.tagFlagChanged(ref, tag: tag, immutable: immutable, cause: .manual))
        }
        let size = try changes.view.image(repo.repoId, existing.digest)?.size
        return TagInfo(name: tag.value, digest: existing.digest, lastModified: existing.lastModified,
                       immutable: immutable, size: size)
    }
}
