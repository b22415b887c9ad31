/// A registry-API path (`/v2/…`) taken apart: which endpoint, of which repository. A repository
/// name may itself hold `/`, so the endpoint is read from the end of the path.
public enum OCIRoute: Equatable, Sendable {
    case base
    case catalog
    case tags(name: String)
    case manifest(name: String, reference: String)
    case blob(name: String, digest: String)
    /// `…/blobs/uploads/` (start an upload).
    case uploads(name: String)
    case upload(name: String, id: String)
    case referrers(name: String, digest: String)

    /// Parses `path`; nil for a path that is no registry-API endpoint.
    public init?(path: String) {
        guard path == "/v2" || path.hasPrefix("/v2/") else { return nil }
        let rest = path.dropFirst(path == "/v2" ? 3 : 4)
        if rest.isEmpty { self = .base; return }
        if rest == "_catalog" { self = .catalog; return }
        if let name = Self.strip(rest, suffix: "/tags/list") { self = .tags(name: name); return }
        if let name = Self.strip(rest, suffix: "/blobs/uploads/") ?? Self.strip(rest, suffix: "/blobs/uploads") {
            self = .uploads(name: name); return
        }
        for (marker, make) in [("/blobs/uploads/", { Self.upload(name: $0, id: $1) }),
                               ("/manifests/", { Self.manifest(name: $0, reference: $1) }),
                               ("/blobs/", { Self.blob(name: $0, digest: $1) }),
                               ("/referrers/", { Self.referrers(name: $0, digest: $1) })] as [(String, (String, String) -> OCIRoute)] {
            if let at = rest.range(of: marker, options: .backwards) {
                let name = String(rest[..<at.lowerBound]), last = String(rest[at.upperBound...])
                guard !name.isEmpty, !last.isEmpty, !last.contains("/") else { continue }
                self = make(name, last)
                return
            }
        }
        return nil
    }

    /// The endpoint's name for metrics and logs (few distinct values).
    public var kind: String {
        switch self {
        case .base: "base"
        case .catalog: "catalog"
        case .tags: "tags.list"
        case .manifest: "manifest"
        case .blob: "blob"
        case .uploads, .upload: "upload"
        case .referrers: "referrers"
        }
    }

    private static func strip(_ path: Substring, suffix: String) -> String? {
        guard path.hasSuffix(suffix), path.count > suffix.count else { return nil }
        return String(path.dropLast(suffix.count))
    }
}
