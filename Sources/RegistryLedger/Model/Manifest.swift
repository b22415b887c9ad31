import Foundation

/// A manifest accepted by `PutImage`: its bytes, computed digest, media type and image size.
public struct Manifest: Sendable, Equatable {
    public static let maxBytes = 4 << 20

    /// The bytes as pushed; ``digest`` is always their SHA-256.
    public let bytes: [UInt8]
    public let digest: Digest
    public let mediaType: String
    /// Config size plus layer sizes for image manifests; nil for indexes / manifest lists.
    public let imageSize: Int64?
    /// The digests of the blobs it references (config, then layers), as written.
    public let blobDigests: [String]
    /// The digests of the manifests an index lists, as written.
    public let childDigests: [String]
    /// The digest of the manifest it refers to (`subject`, OCI 1.1), as written.
    public let subjectDigest: String?
    /// `artifactType`, or else the config's media type (what the referrers API reports).
    public let artifactType: String?
    /// The manifest's own annotations.
    public let annotations: [String: String]?

    static let indexMediaTypes: Set<String> = [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]

    /// The manifest media types ECR stores: OCI and Docker image manifests and indexes.
    public static let mediaTypes: Set<String> = indexMediaTypes.union([
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    ])

    /// The one of ``mediaTypes`` spelled by `bytes`, if any: decoders share its String instead
    /// of allocating one per record.
    static func knownMediaType(_ bytes: UnsafeRawBufferPointer) -> String? {
        for known in knownMediaTypes where known.utf8.count == bytes.count {
            if known.utf8.withUnsafeBytes({ memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }) { return known.name }
        }
        return nil
    }

    private static let knownMediaTypes = mediaTypes.sorted().map { (name: $0, utf8: Array($0.utf8)) }

    /// Parses and checks a manifest.
    ///
    /// - Parameter mediaType: the request's media type; when nil, the manifest's own `mediaType`.
    /// - Throws: `InvalidParameterException` for an empty or oversized body, bytes that are not a
    ///   JSON object, a missing or malformed media type, or malformed sizes.
    public init(bytes: [UInt8], mediaType: String? = nil) throws(LedgerError) {
        guard !bytes.isEmpty, bytes.count <= Self.maxBytes else {
            throw .invalid("Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Member must have length between 1 and 4194304'")
        }
        let shape: Shape
        do {
            shape = try JSONDecoder().decode(Shape.self, from: Data(bytes))
        } catch {
            throw .invalid("The image manifest is not a valid JSON manifest object: \(Self.describe(error))")
        }
        guard let type = (mediaType ?? shape.mediaType) else {
            throw .invalid("Invalid parameter: the image manifest media type is missing; pass imageManifestMediaType or set mediaType in the manifest")
        }
        guard Self.mediaTypes.contains(type) else {
            throw .invalid("Invalid parameter at 'imageManifestMediaType': '\(type.prefix(100))' is not a manifest media type (\(Self.mediaTypes.sorted().joined(separator: ", ")))")
        }
        if let own = shape.mediaType, own != type {
            throw .invalid("Invalid parameter at 'imageManifestMediaType': '\(type)' does not match the manifest's mediaType '\(own.prefix(100))'")
        }
        self.bytes = bytes
        self.digest = Digest(of: bytes)
        self.mediaType = type
        blobDigests = ([shape.config?.digest] + (shape.layers ?? []).map(\.digest)).compactMap { $0 }
        childDigests = (shape.manifests ?? []).compactMap(\.digest)
        subjectDigest = shape.subject?.digest
        artifactType = shape.artifactType ?? shape.config?.mediaType
        annotations = shape.annotations
        if Self.indexMediaTypes.contains(type) || shape.isIndex {
            self.imageSize = nil
        } else {
            var total: Int64 = 0
            for size in [shape.config?.size ?? 0] + (shape.layers ?? []).map({ $0.size ?? 0 }) {
                let (sum, overflow) = total.addingReportingOverflow(size)
                guard size >= 0, !overflow else { throw .invalid("The image manifest has a negative or overflowing size") }
                total = sum
            }
            self.imageSize = total
        }
    }

    /// The fields the store reads; everything else is kept only in the bytes.
    private struct Shape: Decodable {
        struct Descriptor: Decodable {
            let size: Int64?
            let digest: String?
            let mediaType: String?
        }
        let mediaType: String?
        let config: Descriptor?
        let layers: [Descriptor]?
        let manifests: [Descriptor]?
        let subject: Descriptor?
        let artifactType: String?
        let annotations: [String: String]?
        let isIndex: Bool

        enum Keys: String, CodingKey { case mediaType, config, layers, manifests, subject, artifactType, annotations }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            mediaType = try c.decodeIfPresent(String.self, forKey: .mediaType)
            config = try c.decodeIfPresent(Descriptor.self, forKey: .config)
            layers = try c.decodeIfPresent([Descriptor].self, forKey: .layers)
            manifests = try c.decodeIfPresent([Descriptor].self, forKey: .manifests)
            subject = try c.decodeIfPresent(Descriptor.self, forKey: .subject)
            artifactType = try c.decodeIfPresent(String.self, forKey: .artifactType)
            annotations = try c.decodeIfPresent([String: String].self, forKey: .annotations)
            isIndex = c.contains(.manifests)
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case Swift.DecodingError.typeMismatch(_, let ctx), Swift.DecodingError.valueNotFound(_, let ctx),
             Swift.DecodingError.dataCorrupted(let ctx):
            let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "malformed JSON" : "bad value at '\(path)'"
        default: return "malformed JSON"
        }
    }
}
