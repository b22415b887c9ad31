import HTTPTypes
import Hummingbird
import RegistryAPI
import RegistryLedger

/// Where this server stands among the nodes sharing a store: what `/healthz` reports and
/// whether it runs writes. A standalone server is always the writer.
public protocol NodeRole: Sendable {
    /// `writer` or `follower`.
    var name: String { get }
    /// Whether this node runs writes now (a cluster's writer holds the lease).
    var acceptsWrites: Bool { get }
}

/// The one node of an embedded store.
public struct StandaloneRole: NodeRole {
    public init() {}
    public var name: String { "writer" }
    public var acceptsWrites: Bool { true }
}

/// Adds `x-regledger-seq` to every answer: the seq of the state it reflects (for a write, at
/// least the write's last seq: the state has applied it by the time the write is answered).
struct SeqHeader<Context: RequestContext>: RouterMiddleware {
    static var name: HTTPField.Name { HTTPField.Name("x-regledger-seq")! }
    let ledger: Ledger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if let seq = try? ledger.appliedSeq() { response.headers[Self.name] = String(seq) }
        return response
    }
}

/// Refuses writes, fast, on a node that does not hold the writer lease: 503 with `Retry-After`;
/// reads are served from its own derived state meanwhile.
struct WriteGate<Context: RequestContext>: RouterMiddleware {
    let role: any NodeRole

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.isWrite(request), !role.acceptsWrites else { return try await next(request, context) }
        let message = "this node is not the writer now; retry (a node takes the writer lease within seconds)"
        let (api, _) = RequestObserver<Context>.classify(request)
        let body: String = switch api {
        case "ecr": #"{"__type":"ServerException","message":"\#(message)"}"#
        case "oci": #"{"errors":[{"code":"UNAVAILABLE","message":"\#(message)"}]}"#
        default: #"{"error_message":"\#(message)","error_type":"unavailable","status":503}"#
        }
        return RegistryHTTPServer.response(503, Array(body.utf8), contentType: api == "ecr" ? "application/x-amz-json-1.1" : "application/json",
                                           [("Retry-After", "1")])
    }

    /// Whether `request` changes the store: an ECR write operation, any Quay or registry-API
    /// method but GET and HEAD.
    static func isWrite(_ request: Request) -> Bool {
        let path = request.uri.path
        if path == "/" && request.method == .post {
            let target = request.headers[RegistryHTTPServer.amzTarget] ?? ""
            return target.hasPrefix(ECRService.targetPrefix) && ECRService.writeOperations.contains(String(target.dropFirst(ECRService.targetPrefix.count)))
        }
        guard path.hasPrefix("/api/v1/") || path.hasPrefix("/v2/") else { return false }
        return request.method != .get && request.method != .head
    }
}
