import LMDB

/// One image that refers to another (OCI 1.1 referrers): what the referrers API lists.
public struct Referrer: Sendable, Hashable {
    public let digest: Digest
    public let mediaType: String
    /// The manifest's size in bytes.
    public let size: Int
    public let artifactType: String?
    public let annotations: [String: String]?
}

/// A blob a repository holds (SPEC §8).
public struct BlobLink: Sendable, Hashable {
    public let repository: RepositoryRef
    public let digest: Digest
    public let size: Int64
    /// When it was linked, microseconds since the epoch.
    public let linkedAt: UInt64
}

/// Queries the registry API needs: blobs held, manifests by reference, referrers, the catalog.
extension Ledger {
    /// The size of blob `digest` if the repository holds it, else nil.
    /// - Throws: `RepositoryNotFoundException`.
    public func blobSize(_ ref: RepositoryRef, digest: Digest) throws -> Int64? {
        try read { reader in try reader.blob(try requireRepository(reader, ref).repoId, digest)?.size }
    }

    /// The manifest a tag names, or the manifest with a digest, with its digest and media type.
    /// - Throws: `RepositoryNotFoundException`; nil when the repository has no such image.
    public func manifest(_ ref: RepositoryRef, reference id: ImageIdentifier) throws -> (digest: Digest, mediaType: String, bytes: [UInt8])? {
        let found = try batchGetImage(ref, imageIds: [id])
        guard let image = found.images.first, let digest = image.imageId.digest.flatMap({ try? Digest($0) }) else { return nil }
        return (digest, image.mediaType, image.manifest)
    }

    /// The images of the repository that refer to `subject`, in digest order (empty for an
    /// unknown digest), optionally only those of one artifact type.
    /// - Throws: `RepositoryNotFoundException`.
    public func referrers(_ ref: RepositoryRef, subject: Digest, artifactType: String? = nil) throws -> [Referrer] {
        let digests = try read { reader in try reader.referrers(try requireRepository(reader, ref).repoId, subject) }
        return try digests.compactMap { digest -> Referrer? in
            guard let bytes = try manifest(digest), let parsed = try? Manifest(bytes: bytes) else { return nil }
            if let artifactType, parsed.artifactType != artifactType { return nil }
            return Referrer(digest: digest, mediaType: parsed.mediaType, size: bytes.count,
                            artifactType: parsed.artifactType, annotations: parsed.annotations)
        }
    }

    /// Repository names of the default registry in byte order, up to `limit` after `after`
    /// (exclusive), and whether more follow: the registry API's `_catalog`.
    public func repositoryNames(after: String? = nil, limit: Int) throws -> (names: [String], more: Bool) {
        guard limit >= 0 else { throw LedgerError.invalid("limit must not be negative") }
        let prefix = RepositoryKey.prefix(defaultRegistryId)
        return try read { reader in
            var names: [String] = []
            var more = false
            try reader.txn.forEach(reader.dbs.repos, prefix: prefix, from: after.map { RepositoryKey.encode(RepositoryRef(registryId: defaultRegistryId, name: RepositoryName(unchecked: $0))) + [0] }) { e in
                if names.count == limit { more = true; return false }
                names.append(try e.key().name.value)
                return true
            }
            return (names, more)
        }
    }

    /// Every blob every repository holds, by repository then digest.
    public func blobLinks() throws -> [BlobLink] {
        try read { reader in
            var ids: [UInt64: RepositoryRef] = [:]
            try reader.txn.forEach(reader.dbs.repos) { e in
                ids[try e.value().repoId] = try e.key()
                return true
            }
            var links: [BlobLink] = []
            try reader.txn.forEach(reader.dbs.blobs) { e in
                let key = try e.key(), record = try e.value()
                if let ref = ids[key.repoId] { links.append(BlobLink(repository: ref, digest: key.digest, size: record.size, linkedAt: record.linkedAt)) }
                return true
            }
            return links.sorted { ($0.repository, $0.digest) < ($1.repository, $1.digest) }
        }
    }

    /// The blobs the manifests of a repository's images reference (configs and layers).
    /// - Throws: `RepositoryNotFoundException`.
    public func referencedBlobs(_ ref: RepositoryRef) throws -> Set<Digest> {
        let digests = try read { reader in try reader.images(try requireRepository(reader, ref).repoId, mediaType: false).map(\.digest) }
        var referenced: Set<Digest> = []
        for digest in digests {
            guard let bytes = try manifest(digest), let parsed = try? Manifest(bytes: bytes) else { continue }
            for text in parsed.blobDigests { if let blob = try? Digest(text) { referenced.insert(blob) } }
        }
        return referenced
    }
}
