import Foundation
import Logging
import RegistryLedger

/// A configured Quay bearer token: its user (the events' actor) and scopes.
public struct QuayToken: Sendable, Hashable {
    public let token: String
    public let user: String
    /// `org:admin`, `repo:admin`, `repo:write`, `repo:read`; an admin scope implies the lower ones.
    public let scopes: Set<String>

    public init(token: String, user: String, scopes: Set<String>) {
        self.token = token
        self.user = user
        self.scopes = scopes
    }

    func allows(_ scope: String) -> Bool {
        switch scope {
        case "repo:read": !scopes.isDisjoint(with: ["repo:read", "repo:write", "repo:admin"])
        case "repo:write": !scopes.isDisjoint(with: ["repo:write", "repo:admin"])
        default: scopes.contains(scope)
        }
    }
}

/// A Quay API request as the service sees it.
public struct QuayRequest: Sendable {
    public var method: String
    /// The path, e.g. `/api/v1/organization/acme/immutabilitypolicy/`.
    public var path: String
    public var query: [String: String]
    public var body: [UInt8]
    /// The bearer token, without `Bearer `.
    public var token: String?

    public init(method: String, path: String, query: [String: String] = [:], body: [UInt8] = [], token: String?) {
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.token = token
    }
}

/// A Quay API answer: a status and a JSON body (empty for 204).
public struct QuayResponse: Sendable {
    public let status: Int
    public let body: [UInt8]

    static func json(_ status: Int, _ object: Any) -> QuayResponse {
        QuayResponse(status: status, body: JSONBody.encode(object))
    }

    /// `{"status", "error_type", "title", "detail"}`.
    package static func error(_ status: Int, _ type: String, _ title: String, _ detail: String) -> QuayResponse {
        json(status, ["status": status, "error_type": type, "title": title, "detail": detail])
    }
}

/// Quay's immutability-policy and tag REST API over the ledger, independent of any HTTP server.
public struct QuayService: Sendable {
    let ledger: Ledger
    private let tokens: SecretTable<QuayToken>
    let logger: Logger

    /// - Parameter logger: where server faults (a full disk, an I/O error) are logged with their reason.
    public init(ledger: Ledger, tokens: [QuayToken], logger: Logger = Logger(label: "regledger.quay")) {
        self.ledger = ledger
        self.tokens = SecretTable(tokens.map { (secret: $0.token, value: $0) })
        self.logger = logger
    }

    /// The configured token `presented` is, compared in constant time; nil when none.
    public func token(_ presented: String) -> QuayToken? { tokens.value(for: presented) }

    private enum Route {
        case policies(PolicyScope), policy(PolicyScope, String), tags(RepositoryRef), tag(RepositoryRef, String)
    }

    public func handle(_ request: QuayRequest, requestId: String) async -> QuayResponse {
        guard let presented = request.token, let token = token(presented) else {
            return .error(401, "invalid_token", "Unauthorized", "a valid bearer token is required")
        }
        let parts = request.path.split(separator: "/").map(String.init)
        guard parts.count >= 4, parts[0] == "api", parts[1] == "v1" else { return notFound("no such route") }
        let route: Route
        do {
            route = try Self.route(Array(parts.dropFirst(2)), registry: ledger.defaultRegistryId)
        } catch let error as LedgerError {
            return error.code == .invalidParameter ? .error(400, "invalid_request", "Bad request", error.message) : notFound(error.message)
        } catch {
            return notFound("no such route")
        }
        let method = request.method.uppercased()
        let needed: String = switch route {
        case .policies(.organization), .policy(.organization, _): "org:admin"
        case .policies, .policy: "repo:admin"
        case .tags: "repo:read"
        case .tag: "repo:write"
        }
        guard token.allows(needed) else {
            return .error(403, "insufficient_scope", "Forbidden", "this token lacks the \(needed) scope")
        }
        let context = CommandContext(actor: token.user, origin: .quay, requestId: requestId, isAdmin: token.allows("repo:admin"))
        do {
            switch (route, method) {
            case (.policies(let scope), "GET"):
                return .json(200, ["policies": try ledger.listPolicies(scope).map(Self.policyShape)])
            case (.policies(let scope), "POST"):
                let (pattern, matches) = try Self.policyBody(request.body)
                let policy = try await ledger.createPolicy(scope, tagPattern: pattern, tagPatternMatches: matches, context: context)
                return .json(201, ["uuid": policy.uuid])
            case (.policy(let scope, let uuid), "GET"):
                return .json(200, Self.policyShape(try ledger.policy(scope, uuid: uuid)))
            case (.policy(let scope, let uuid), "PUT"):
                let (pattern, matches) = try Self.policyBody(request.body)
                _ = try await ledger.updatePolicy(scope, uuid: uuid, tagPattern: pattern, tagPatternMatches: matches, context: context)
                return QuayResponse(status: 204, body: [])
            case (.policy(let scope, let uuid), "DELETE"):
                try await ledger.deletePolicy(scope, uuid: uuid, context: context)
                return .json(200, ["uuid": uuid])
            case (.tags(let ref), "GET"):
                return try listTags(ref, request.query)
            case (.tag(let ref, let name), "PUT"):
                return try await putTag(ref, name, request.body, context, token)
            case (.tag(let ref, let name), "DELETE"):
                try await ledger.deleteTag(ref, tag: try Tag(name), context: context)
                return QuayResponse(status: 204, body: [])
            default:
                return .error(405, "invalid_request", "Method not allowed", "\(method) is not allowed here")
            }
        } catch let error as LedgerError {
            let response = Self.map(error)
            if response.status >= 500 { logger.error("Quay \(method) failed", metadata: ["reason": "\(error.message)", "requestId": "\(requestId)"]) }
            return response
        } catch {
            return .error(500, "internal_error", "Internal error", "the request could not be completed")
        }
    }

    /// `organization/{org}/immutabilitypolicy[/uuid]`, `repository/{ns}/{repo}/immutabilitypolicy[/uuid]`,
    /// `repository/{ns}/{repo}/tag[/tag]`.
    private static func route(_ p: [String], registry: RegistryId) throws -> Route {
        if p.count >= 3, p[0] == "organization", p[2] == "immutabilitypolicy", p.count <= 4 {
            let scope = PolicyScope.organization(registry, p[1])
            return p.count == 4 ? .policy(scope, p[3]) : .policies(scope)
        }
        guard p.count >= 4, p[0] == "repository", p.count <= 5 else { throw LedgerError(.policyNotFound, "no such route") }
        let ref = RepositoryRef(registryId: registry, name: try RepositoryName("\(p[1])/\(p[2])"))
        switch p[3] {
        case "immutabilitypolicy":
            let scope = PolicyScope.repository(registry, ref.name)
            return p.count == 5 ? .policy(scope, p[4]) : .policies(scope)
        case "tag": return p.count == 5 ? .tag(ref, p[4]) : .tags(ref)
        default: throw LedgerError(.policyNotFound, "no such route")
        }
    }

    static func policyShape(_ p: Policy) -> [String: Any] {
        ["uuid": p.uuid, "tagPattern": p.tagPattern, "tagPatternMatches": p.tagPatternMatches]
    }

    /// `{tagPattern, tagPatternMatches?}`; `tagPatternMatches` defaults to true (on update too).
    static func policyBody(_ body: [UInt8]) throws -> (String, Bool) {
        let input = try JSONObject(parsing: body)
        return (try input.string("tagPattern"), try input.optionalBool("tagPatternMatches") ?? true)
    }

    private func listTags(_ ref: RepositoryRef, _ query: [String: String]) throws -> QuayResponse {
        func int(_ key: String, default value: Int) throws -> Int {
            guard let raw = query[key] else { return value }
            guard let n = Int(raw) else { throw LedgerError.invalid("\(key) must be a whole number") }
            return n
        }
        let page = try int("page", default: 1)
        let result = try ledger.listTags(ref, page: page, limit: try int("limit", default: 50), specificTag: query["specificTag"])
        return .json(200, [
            "tags": result.tags.map { t -> [String: Any] in
                var shape: [String: Any] = ["name": t.name, "manifest_digest": t.digest.description, "immutable": t.immutable,
                                            "last_modified": Self.httpDate(t.lastModified), "start_ts": t.lastModified / 1_000_000]
                if let size = t.size { shape["size"] = size }
                return shape
            },
            "page": page, "has_additional": result.hasAdditional,
        ])
    }

    private func putTag(_ ref: RepositoryRef, _ name: String, _ body: [UInt8], _ context: CommandContext, _ token: QuayToken) async throws -> QuayResponse {
        let input = try JSONObject(parsing: body)
        let tag = try Tag(name)
        if input.fields["immutable"] != nil && input.fields["manifest_digest"] != nil {
            throw LedgerError.invalid("give either manifest_digest (retarget) or immutable (flag), not both")
        }
        if let immutable = try input.optionalBool("immutable") {
            let info = try await ledger.setTagImmutable(ref, tag: tag, immutable: immutable, context: context)
            return .json(200, ["name": info.name, "immutable": info.immutable])
        }
        let digest = try Digest(try input.string("manifest_digest"))
        let info = try await ledger.setTag(ref, tag: tag, digest: digest, context: context)
        return .json(201, ["name": info.name, "manifest_digest": info.digest.description])
    }

    static func map(_ error: LedgerError) -> QuayResponse {
        switch error.code {
        case .invalidParameter: .error(400, "invalid_request", "Bad request", error.message)
        case .repositoryNotFound, .organizationNotFound, .policyNotFound, .tagNotFound, .imageNotFound:
            .error(404, "not_found", "Not found", error.message)
        case .tagImmutable, .imageTagAlreadyExists: .error(409, "tag_immutable", "Tag is immutable", error.message)
        case .forbidden: .error(403, "insufficient_scope", "Forbidden", error.message)
        case .insufficientStorage: .error(507, "insufficient_storage", "Insufficient storage", error.message)
        default: .error(500, "internal_error", "Internal error", error.message)
        }
    }

    private func notFound(_ detail: String) -> QuayResponse { .error(404, "not_found", "Not found", detail) }

    /// `Thu, 01 Jan 2026 00:00:00 -0000`, as Quay writes `last_modified`.
    static func httpDate(_ micros: UInt64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '-0000'"
        return formatter.string(from: Date(timeIntervalSince1970: Double(micros) / 1e6))
    }
}
