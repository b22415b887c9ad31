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
    /// Where writes go when this node does not run them (`http://HOST:PORT` of the writer).
    var writerAddress: String? { get }
    /// Returns once this node's state has applied `seq` (or after a bound): a write forwarded
    /// to the writer is answered only when it shows here.
    func waitUntilApplied(_ seq: UInt64) async
    /// A cluster node's lease changes so far and the shared log's head as last seen (nil when
    /// standalone): `/metrics` shows them with the replication lag.
    var cluster: (leaseChanges: Int, sharedHead: UInt64)? { get }
    /// Whether the node lost touch with the shared log (its reads may be behind).
    var isStale: Bool { get }
}

/// The one node of an embedded store.
public struct StandaloneRole: NodeRole {
    public init() {}
    public var name: String { "writer" }
    public var acceptsWrites: Bool { true }
    public var writerAddress: String? { nil }
    public func waitUntilApplied(_ seq: UInt64) async {}
    public var cluster: (leaseChanges: Int, sharedHead: UInt64)? { nil }
    public var isStale: Bool { false }
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

/// Sends writes that reach a node not holding the writer lease on to the writer, as they came
/// (the writer checks the caller's own signature or token, so the write is the caller's), and
/// answers once this node's state shows the write; with no writer reachable, refuses them fast:
/// 503 with `Retry-After`. Reads are served from the node's own derived state.
struct WriteGate<Context: RequestContext>: RouterMiddleware {
    let role: any NodeRole
    let forwarder: WriteForwarder

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.isWrite(request), !role.acceptsWrites else { return try await next(request, context) }
        if let writer = role.writerAddress, let answer = await forwarder.forward(request, to: writer, logger: context.logger) {
            if let seq = answer.seq { await role.waitUntilApplied(seq) }
            return answer.response
        }
        let message = "no writer is reachable now; retry (a node takes the writer lease within seconds)"
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
            return ECRService.operation(target: request.headers[RegistryHTTPServer.amzTarget]).map(ECRService.writeOperations.contains) ?? false
        }
        guard path.hasPrefix("/api/v1/") || path.hasPrefix("/v2/") else { return false }
        return request.method != .get && request.method != .head
    }
}
