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

    static let indexMediaTypes: Set<String> = [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]

    /// Parses and checks a manifest.
    ///
    /// - Parameter mediaType: the request's media type; when nil, the manifest's own `mediaType`.
    /// - Throws: `InvalidParameterException` for an empty or oversized body, bytes that are not a
    ///   JSON object, a missing or malformed media type, or malformed sizes.
    public init(bytes: [UInt8], mediaType: String? = nil) throws(LedgerError) {
        guard !bytes.isEmpty, bytes.count <= Self.maxBytes else {
            throw .invalid("Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Member must have length between 1 and 4194304'")
        }
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                throw LedgerError.invalid("The image manifest must be a JSON object")
            }
            object = parsed
        } catch let error as LedgerError {
            throw error
        } catch {
            throw .invalid("The image manifest is not valid JSON")
        }
        let ownType = object["mediaType"] as? String
        guard let type = (mediaType ?? ownType), Self.isMediaType(type) else {
            throw .invalid("Invalid parameter: the image manifest media type is missing or malformed; pass imageManifestMediaType or set mediaType in the manifest")
        }
        self.bytes = bytes
        self.digest = Digest(of: bytes)
        self.mediaType = type
        if Self.indexMediaTypes.contains(type) || object["manifests"] != nil {
            self.imageSize = nil
        } else {
            self.imageSize = try Self.imageSize(of: object)
        }
    }

    private static func size(_ value: Any?, _ what: String) throws(LedgerError) -> Int64 {
        guard let value else { return 0 }
        guard let number = value as? NSNumber, !(value is Bool),
              number.doubleValue >= 0, number.doubleValue < 9.0e18,
              number.doubleValue == number.doubleValue.rounded() else {
            throw .invalid("The image manifest has a malformed \(what) size")
        }
        return number.int64Value
    }

    private static func imageSize(of object: [String: Any]) throws(LedgerError) -> Int64 {
        var total: Int64 = 0
        if let config = object["config"] {
            guard let config = config as? [String: Any] else { throw .invalid("The image manifest has a malformed config") }
            total += try size(config["size"], "config")
        }
        if let layers = object["layers"] {
            guard let layers = layers as? [Any] else { throw .invalid("The image manifest has malformed layers") }
            for layer in layers {
                guard let layer = layer as? [String: Any] else { throw .invalid("The image manifest has a malformed layer") }
                let (sum, overflow) = total.addingReportingOverflow(try size(layer["size"], "layer"))
                guard !overflow else { throw .invalid("The image manifest's layer sizes overflow") }
                total = sum
            }
        }
        return total
    }

    /// `type/subtype`, printable ASCII, at most 255 characters.
    static func isMediaType(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (3...255).contains(u.count), let slash = u.firstIndex(of: UInt8(ascii: "/")),
              slash > 0, slash < u.count - 1 else { return false }
        return u.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}
