extension ImageIdentifier {
    /// Resolves this id to an image of repository `repoId`, or the ECR failure explaining why not.
    func resolve(in view: some StateView, repoId: UInt64) throws -> Result<(Digest, ImageRecord), ImageFailure> {
        func failure(_ code: String, _ reason: String) -> Result<(Digest, ImageRecord), ImageFailure> {
            .failure(ImageFailure(imageId: self, code: code, reason: reason))
        }
        guard digest != nil || tag != nil else { return failure("MissingDigestAndTag", "Invalid request: imageId must have a digest or a tag") }
        var byDigest: Digest?
        if let digest {
            guard let d = try? Digest(digest) else { return failure("InvalidImageDigest", "Invalid image digest '\(digest)'") }
            byDigest = d
        }
        if let tag {
            guard (try? Tag(tag)) != nil else { return failure("InvalidImageTag", "Invalid image tag '\(tag)'") }
            guard let record = try view.tag(repoId, tag) else { return failure("ImageNotFound", "Requested image not found") }
            if let byDigest, byDigest != record.digest {
                return failure("ImageTagDoesNotMatchDigest", "Invalid image tag: the tag '\(tag)' does not point to digest '\(byDigest)'")
            }
            byDigest = record.digest
        }
        guard let d = byDigest, let image = try view.image(repoId, d) else { return failure("ImageNotFound", "Requested image not found") }
        return .success((d, image))
    }
}
