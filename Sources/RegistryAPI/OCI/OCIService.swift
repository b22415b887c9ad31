import BlobStore
import Foundation
import Logging
import RegistryLedger

/// The registry API of OCI distribution 1.1 (SPEC §8) over one ``Ledger`` and its ``BlobStore``:
/// blobs and uploads, manifests by tag and digest, tag listing, the catalog and referrers, with
/// HTTP Basic authentication by a configured access key id and secret, or user `AWS` with a
/// `GetAuthorizationToken` token. Every tag change goes through the ledger's commands.
public struct OCIService: Sendable {
    /// Tags or repositories per page when the client gives no `n`, and the most it may ask for.
    public static let maxPageSize = 1000
    package static let challenge = (name: "WWW-Authenticate", value: #"Basic realm="regledger""#)
    public static let apiVersion = (name: "Docker-Distribution-API-Version", value: "registry/2.0")

    let ledger: Ledger
    let blobs: BlobStore?
    let logger: Logger
    private let secrets: [String: (secret: [UInt8], principal: String)]
    private let principals: Set<String>

    /// - Parameter blobs: the blob store; without one, the API is read-only listing (tags, catalog, manifests).
    public init(ledger: Ledger, credentials: [AccessCredential], blobs: BlobStore? = nil,
                logger: Logger = Logger(label: "regledger.oci")) {
        self.ledger = ledger
        self.blobs = blobs
        self.logger = logger
        secrets = Dictionary(credentials.map { ($0.accessKeyId, (Array($0.secretAccessKey.utf8), $0.principal)) },
                             uniquingKeysWith: { first, _ in first })
        principals = Set(credentials.map(\.principal))
    }

    /// The user name that goes with a login token, as ECR's `docker login --username AWS`.
    public static let tokenUser = "AWS"

    /// Whether an `Authorization` header carries valid Basic credentials (see ``principal(_:)``).
    public func authenticates(_ authorization: String?) -> Bool { principal(authorization) != nil }

    /// The principal an `Authorization` header authenticates: Basic credentials of a configured
    /// key, or user `AWS` with an unexpired login token (`GetAuthorizationToken`) issued to a
    /// principal that still has a configured credential.
    public func principal(_ authorization: String?) -> String? {
        guard let authorization else { return nil }
        let bytes = Array(authorization.utf8)
        guard bytes.count < 4096, bytes.count > 6,
              String(decoding: bytes[..<6], as: UTF8.self).lowercasedHeaderName == "basic ",
              let decoded = Data(base64Encoded: String(decoding: bytes[6...].trimmingBlanks, as: UTF8.self)),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let key = String(decoding: decoded[..<colon], as: UTF8.self)
        let password = Array(decoded[(colon + 1)...])
        if key == Self.tokenUser {
            guard let principal = ledger.authorizationTokenPrincipal(String(decoding: password, as: UTF8.self)),
                  principals.contains(principal) else { return nil }
            return principal
        }
        guard let entry = secrets[key], constantTimeEquals(password, entry.secret) else { return nil }
        return entry.principal
    }

    /// Answers one registry-API request.
    public func handle(_ request: OCIRequest) async -> OCIResponse {
        guard let principal = principal(request.authorization) else {
            return .error(401, "UNAUTHORIZED", "authentication required", headers: [Self.challenge])
        }
        guard let route = OCIRoute(path: request.path) else { return .error(404, "NOT_FOUND", "no such route") }
        let context = CommandContext(actor: principal, origin: .oci, requestId: request.requestId)
        let method = request.method.uppercased()
        do {
            switch (route, method) {
            case (.base, "GET"), (.base, "HEAD"): return .json(200, [String: String]())
            case (.catalog, "GET"): return try catalog(request)
            case (.tags(let name), "GET"): return try tags(name, request)
            case (.manifest(let name, let reference), "GET"), (.manifest(let name, let reference), "HEAD"):
                let answer = try getManifest(name, reference, request)
                return method == "HEAD" ? answer.withoutBody() : answer
            case (.manifest(let name, let reference), "PUT"): return try await putManifest(name, reference, request, context)
            case (.manifest(let name, let reference), "DELETE"): return try await deleteManifest(name, reference, context)
            case (.referrers(let name, let digest), "GET"): return try referrers(name, digest, request)
            case (.blob(let name, let digest), "GET"), (.blob(let name, let digest), "HEAD"):
                let answer = try getBlob(name, digest, request)
                return method == "HEAD" ? answer.withoutBody() : answer
            case (.blob(let name, let digest), "DELETE"): return try await deleteBlob(name, digest, context)
            case (.uploads(let name), "POST"): return try await startUpload(name, request, context)
            case (.upload(let name, let id), "GET"): return try uploadStatus(name, id)
            case (.upload(let name, let id), "PATCH"): return try await patchUpload(name, id, request)
            case (.upload(let name, let id), "PUT"): return try await finishUpload(name, id, request, context)
            case (.upload(let name, let id), "DELETE"): return try cancelUpload(name, id)
            default:
                return .error(405, "UNSUPPORTED", "\(method) is not supported on this endpoint")
            }
        } catch let error as OCIError {
            return error.response
        } catch let error as LedgerError {
            return Self.response(for: error)
        } catch let error as BlobStoreError {
            return Self.response(for: error)
        } catch {
            logger.error("registry API request failed", metadata: ["error": "\(error)"])
            return .error(500, "UNKNOWN", "internal error")
        }
    }

    // MARK: listing

    private func catalog(_ request: OCIRequest) throws -> OCIResponse {
        let limit = try pageSize(request)
        let page = try ledger.repositoryNames(after: request.query["last"], limit: limit)
        var headers: [(name: String, value: String)] = []
        if page.more, let last = page.names.last {
            headers.append((name: "Link", value: "</v2/_catalog?n=\(limit)&last=\(Self.percentEncoded(last))>; rel=\"next\""))
        }
        return .json(200, ["repositories": page.names], headers: headers)
    }

    private func tags(_ name: String, _ request: OCIRequest) throws -> OCIResponse {
        let ref = try repository(name)
        let limit = try pageSize(request)
        // {"name", "tags"} written straight to bytes, the names lent from the store (keys in
        // order; a name is escaped if it needs it, which tags never do).
        var body: [UInt8] = []
        body.reserveCapacity(64 + name.utf8.count + min(limit, 1000) * 16)
        body += #"{"name":"#.utf8
        JSONBody.writeString(name, into: &body)
        body += #","tags":["#.utf8
        let page: (more: Bool, resumeAfter: String?)
        do {
            var first = true
            page = try ledger.forEachTagName(ref, after: request.query["last"], limit: limit) { tag in
                if !first { body.append(UInt8(ascii: ",")) }
                first = false
                JSONBody.writeString(utf8: tag, into: &body)
            }
        } catch let error as LedgerError where error.code == .invalidParameter {
            throw OCIError(400, "TAG_INVALID", error.message)
        }
        body += "]}".utf8
        var headers: [(name: String, value: String)] = []
        if let last = page.resumeAfter {
            headers.append((name: "Link", value: "</v2/\(name)/tags/list?n=\(limit)&last=\(Self.percentEncoded(last))>; rel=\"next\""))
        }
        return OCIResponse(status: 200, headers: [(name: "Content-Type", value: "application/json")] + headers, content: .bytes(body))
    }

    private func pageSize(_ request: OCIRequest) throws -> Int {
        guard let n = request.query["n"] else { return Self.maxPageSize }
        guard let value = Int(n), value >= 0 else { throw OCIError(400, "PAGINATION_NUMBER_INVALID", "n must be a non-negative integer") }
        return min(value, Self.maxPageSize)
    }

    // MARK: helpers

    /// The repository `name` names. - Throws: 400 `NAME_INVALID`.
    func repository(_ name: String) throws -> RepositoryRef {
        do {
            return try RepositoryRef(name, defaultRegistry: ledger.defaultRegistryId)
        } catch {
            throw OCIError(400, "NAME_INVALID", error.message)
        }
    }

    /// A digest from a path or query. - Throws: 400 `DIGEST_INVALID`.
    static func digest(_ text: String) throws -> Digest {
        do {
            return try Digest(text)
        } catch {
            throw OCIError(400, "DIGEST_INVALID", "'\(text.prefix(100))' is not a sha256 digest this registry supports")
        }
    }

    /// `text` with every byte but ASCII letters, digits and `-._~` percent-encoded (a query value).
    static func percentEncoded(_ text: String) -> String {
        func unreserved(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
        }
        if text.utf8.allSatisfy(unreserved) { return text }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in text.utf8 {
            if unreserved(b) { out.append(b) } else { out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]] }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The answer to a ledger refusal that no endpoint handled itself.
    static func response(for error: LedgerError) -> OCIResponse {
        switch error.code {
        case .repositoryNotFound: .error(404, "NAME_UNKNOWN", "repository name not known to registry")
        case .invalidParameter: .error(400, "MANIFEST_INVALID", error.message)
        case .imageTagAlreadyExists: .error(400, "TAG_INVALID", error.message)
        case .imageNotFound: .error(404, "MANIFEST_UNKNOWN", error.message)
        case .layersNotFound: .error(404, "BLOB_UNKNOWN", error.message)
        case .insufficientStorage: .error(507, "UNKNOWN", "no space left on the device holding the store: \(error.message)")
        default: .error(500, "UNKNOWN", "internal error")
        }
    }

    static func response(for error: BlobStoreError) -> OCIResponse {
        switch error {
        case .uploadUnknown: .error(404, "BLOB_UPLOAD_UNKNOWN", "no such upload session (it finished, was cancelled, or the server restarted)")
        case .rangeNotSatisfiable(let offset):
            .error(416, "BLOB_UPLOAD_INVALID", "the chunk does not start where the upload stands (byte \(offset))",
                   headers: [(name: "Range", value: "0-\(max(offset - 1, 0))")])
        case .digestInvalid(let message): .error(400, "DIGEST_INVALID", message)
        case .sizeInvalid(let message): .error(400, "SIZE_INVALID", message)
        case .noSpace: .error(507, "UNKNOWN", "no space left on the device holding the store")
        case .failed(let message): .error(500, "UNKNOWN", message)
        }
    }
}

/// A registry-API error answer thrown by an endpoint.
struct OCIError: Error {
    let response: OCIResponse

    init(_ status: Int, _ code: String, _ message: String, headers: [(name: String, value: String)] = []) {
        response = .error(status, code, message, headers: headers)
    }
}
