/// The rule that makes listing rows derived data: an image's ListImages entries are its tags,
/// each with the image's status, or one untagged entry when it has no tags. ``ProjectionWriter``
/// keeps the `listing` database so; the in-memory fold and restored checkpoints, which hold no
/// listing rows, derive them with ``forEach(repoId:images:_:)``.
enum ListingEntries {
    /// Visits the listing rows of one repository's images, which must come in digest order, in
    /// key order: every tagged entry (by digest, then tag), then every untagged one (by digest).
    static func forEach<Images: Collection<(key: Digest, value: ImageRecord)>>(
        repoId: UInt64, images: Images, _ body: (_ key: (inout BinaryWriter) -> Void, _ status: UInt8) throws -> Void
    ) rethrows {
        for (digest, image) in images {
            for tag in image.tags {
                try body({ KeyLayout.listing(repoId, digest, tag: tag, into: &$0) }, EventCodec.statusCode(image.status))
            }
        }
        for (digest, image) in images where image.tags.isEmpty {
            try body({ KeyLayout.listing(repoId, digest, tag: nil, into: &$0) }, EventCodec.statusCode(image.status))
        }
    }
}
