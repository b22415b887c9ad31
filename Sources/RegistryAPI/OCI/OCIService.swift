import Foundation
import RegistryLedger

/// An HTTP answer with headers beyond the content type (OCI's `Link`, `WWW-Authenticate`).
public struct OCIResponse: Sendable {
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    static func json(_ status: Int, _ object: Any, headers: [(name: String, value: String)] = []) -> OCIResponse {
        OCIResponse(status: status, headers: headers,
                    body: JSONBody.encode(object))
    }

    /// OCI's error body `{"errors": [{"code", "message", "detail"}]}`.
    package static func error(_ status: Int, _ code: String, _ message: String, headers: [(name: String, value: String)] = []) -> OCIResponse {
        json(status, ["errors": [["code": code, "message": message, "detail": [:] as [String: String]]]], headers: headers)
    }
}

/// The read-only part of the OCI distribution API a registry client needs to list tags:
/// `GET /v2/` and `GET /v2/<name>/tags/list?n=&last=`, with HTTP Basic authentication by a
/// configured access key id and secret, or user `AWS` with a `GetAuthorizationToken` token.
public struct OCIService: Sendable {
    /// Tags per page when the client gives no `n`, and the most it may ask for.
    public static let maxPageSize = 1000
    package static let challenge = (name: "WWW-Authenticate", value: #"Basic realm="regledger""#)

    let ledger: Ledger
    private let secrets: [String: [UInt8]]
    private let principals: Set<String>

    public init(ledger: Ledger, credentials: [AccessCredential]) {
        self.ledger = ledger
        secrets = Dictionary(credentials.map { ($0.accessKeyId, Array($0.secretAccessKey.utf8)) }, uniquingKeysWith: { first, _ in first })
        principals = Set(credentials.map(\.principal))
    }

    /// Whether an `Authorization` header carries Basic credentials of a configured key, or user
    /// `AWS` with an unexpired login token (`GetAuthorizationToken`) issued to a principal that
    /// still has a configured credential.
    public func authenticates(_ authorization: String?) -> Bool {
        guard let authorization, authorization.count < 4096,
              authorization.lowercased().hasPrefix("basic "),
              let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return false }
        let key = String(decoding: decoded[..<colon], as: UTF8.self)
        let password = Array(decoded[(colon + 1)...])
        if key == Self.tokenUser {
            guard let principal = ledger.authorizationTokenPrincipal(String(decoding: password, as: UTF8.self)) else { return false }
            return principals.contains(principal)
        }
        guard let secret = secrets[key] else { return false }
        return constantTimeEquals(password, secret)
    }

    /// The user name that goes with a login token, as ECR's `docker login --username AWS`.
    public static let tokenUser = "AWS"

    /// Answers a GET of `path` (beginning `/v2`) with query parameters `query`.
    public func handle(path: String, query: [String: String], authorization: String?) -> OCIResponse {
        guard authenticates(authorization) else {
            return .error(401, "UNAUTHORIZED", "authentication required", headers: [Self.challenge])
        }
        if path == "/v2" || path == "/v2/" { return .json(200, [String: String]()) }
        guard path.hasPrefix("/v2/"), path.hasSuffix("/tags/list") else {
            return .error(404, "NOT_FOUND", "no such route")
        }
        let name = String(path.dropFirst(4).dropLast(10))
        do {
            let ref = try RepositoryRef(name, defaultRegistry: ledger.defaultRegistryId)
            var limit = Self.maxPageSize
            if let n = query["n"] {
                guard let value = Int(n), value >= 0 else {
                    return .error(400, "PAGINATION_NUMBER_INVALID", "n must be a non-negative integer")
                }
                limit = min(value, Self.maxPageSize)
            }
            let page = try ledger.tagNames(ref, after: query["last"], limit: limit)
            var headers: [(name: String, value: String)] = []
            if page.more, let last = page.names.last {
                headers.append((name: "Link", value: "</v2/\(name)/tags/list?n=\(limit)&last=\(Self.percentEncoded(last))>; rel=\"next\""))
            }
            return .json(200, ["name": name, "tags": page.names], headers: headers)
        } catch let error as LedgerError {
            switch error.code {
            case .repositoryNotFound: return .error(404, "NAME_UNKNOWN", "repository name not known to registry")
            case .invalidParameter: return .error(400, name.isEmpty || (try? RepositoryName(name)) == nil ? "NAME_INVALID" : "TAG_INVALID", error.message)
            default: return .error(500, "UNKNOWN", "internal error")
            }
        } catch {
            return .error(500, "UNKNOWN", "internal error")
        }
    }

    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}
