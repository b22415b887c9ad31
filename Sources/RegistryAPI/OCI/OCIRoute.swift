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

    /// Parses `path`; nil for a path that is no registry-API endpoint. Works on the path's bytes:
    /// it runs on every registry request (twice: metrics classify it too).
    public init?(path: String) {
        let bytes = Array(path.utf8)
        let start: Int
        if bytes.elementsEqual("/v2".utf8) { start = 3 } else if bytes.starts(with: "/v2/".utf8) { start = 4 } else { return nil }
        let rest = bytes[start...]
        func string(_ slice: ArraySlice<UInt8>) -> String { String(decoding: slice, as: UTF8.self) }
        /// What precedes `suffix` at the end of `rest`, when something does.
        func strip(_ suffix: String) -> String? {
            let tail = Array(suffix.utf8)
            guard rest.count > tail.count, rest.suffix(tail.count).elementsEqual(tail) else { return nil }
            return string(rest.dropLast(tail.count))
        }
        if rest.isEmpty { self = .base; return }
        if rest.elementsEqual("_catalog".utf8) { self = .catalog; return }
        if let name = strip("/tags/list") { self = .tags(name: name); return }
        if let name = strip("/blobs/uploads/") ?? strip("/blobs/uploads") { self = .uploads(name: name); return }
        for (marker, make) in [("/blobs/uploads/", { Self.upload(name: $0, id: $1) }),
                               ("/manifests/", { Self.manifest(name: $0, reference: $1) }),
                               ("/blobs/", { Self.blob(name: $0, digest: $1) }),
                               ("/referrers/", { Self.referrers(name: $0, digest: $1) })] as [(String, (String, String) -> OCIRoute)] {
            let needle = Array(marker.utf8)
            // The marker's last occurrence: the name before it may hold the same words.
            guard let at = stride(from: rest.endIndex - needle.count, through: rest.startIndex, by: -1)
                .first(where: { rest[$0..<($0 + needle.count)].elementsEqual(needle) }) else { continue }
            let name = rest[..<at], last = rest[(at + needle.count)...]
            guard !name.isEmpty, !last.isEmpty, !last.contains(UInt8(ascii: "/")) else { continue }
            self = make(string(name), string(last))
            return
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
}
