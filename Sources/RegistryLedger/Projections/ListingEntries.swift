/// The rule that makes listing rows derived data: an image's ListImages entries are its tags,
/// each with the image's status, or one untagged entry when it has no tags. ``ProjectionWriter``
/// keeps the `listing` database so; the in-memory fold, which holds no listing rows, and time
/// travel's paging derive them with ``forEach(repoId:images:_:)``.
enum ListingEntries {
    /// Visits the listing rows of one repository's images, which must come in digest order, in
    /// key order: every tagged entry (by digest, then tag), then every untagged one (by digest).
    static func forEach<Image: ListedImage>(
        repoId: UInt64, images: some Collection<(key: Digest, value: Image)>, _ body: (_ key: (inout BinaryWriter) -> Void, _ status: UInt8) throws -> Void
    ) rethrows {
        for (digest, image) in images {
            for tag in image.tags {
                try body({ ListingKey.encode((repoId, digest, tag), into: &$0) }, EventCodec.statusCode(image.status))
            }
        }
        for (digest, image) in images where image.tags.isEmpty {
            try body({ ListingKey.encode((repoId, digest, nil), into: &$0) }, EventCodec.statusCode(image.status))
        }
    }
}

/// What an image's listing entries follow from.
protocol ListedImage {
    /// Sorted.
    var tags: [String] { get }
    var status: ImageStatus { get }
}

extension ImageRecord: ListedImage {}
extension ImageState: ListedImage {}
