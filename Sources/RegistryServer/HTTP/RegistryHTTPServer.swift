import BlobStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import RegistryAPI
import RegistryLedger

/// `regledger serve`: the ECR JSON API, Quay's REST API, OCI tag listing, `/healthz` and
/// `/metrics` over one ``Ledger``, on hummingbird.
///
/// The ledger stays the caller's: ``run(host:port:onListening:)`` returns after a graceful
/// shutdown (SIGTERM or SIGINT: stop accepting, finish in-flight requests) and the caller
/// closes the store.
public struct RegistryHTTPServer: Sendable {
    /// Largest ECR request body (a 4 MiB manifest, JSON-escaped).
    public static let maxECRBody = 10 << 20
    /// The header naming the ECR operation.
    static let amzTarget = HTTPField.Name("X-Amz-Target")!
    /// `Docker-Distribution-API-Version` on every registry-API answer (parsed once).
    static let apiVersionField = HTTPField(name: HTTPField.Name(OCIService.apiVersion.name)!, value: OCIService.apiVersion.value)
    /// Largest Quay request body.
    public static let maxQuayBody = 64 << 10

    let ledger: Ledger
    let config: ServerConfig
    let metrics: ServerMetrics
    let logger: Logger
    let activations: ActivationScheduler
    let ecr: ECRService
    let quay: QuayService
    let oci: OCIService
    let sigv4: SigV4Verifier
    let role: any NodeRole
    let fileIO = FileIO()

    /// - Parameters:
    ///   - metrics: the server's metrics; pass the same object to the ledger's `onCommit` so
    ///     `/metrics` shows commits and group sizes.
    ///   - role: where the node stands in a cluster (standalone: the writer).
    ///   - blobs: the registry API's blob store (nil: the registry API only lists and reads manifests).
    public init(ledger: Ledger, config: ServerConfig, metrics: ServerMetrics, logger: Logger, role: any NodeRole = StandaloneRole(),
                blobs: BlobStore? = nil) {
        self.ledger = ledger
        self.role = role
        self.config = config
        self.metrics = metrics
        self.logger = logger
        activations = ActivationScheduler(ledger: ledger, delaySeconds: config.activationDelaySeconds, logger: logger)
        ecr = ECRService(ledger: ledger, region: config.region, activations: activations, logger: logger, blobs: blobs)
        quay = QuayService(ledger: ledger, tokens: config.tokens, logger: logger)
        oci = OCIService(ledger: ledger, credentials: config.credentials, blobs: blobs, logger: logger)
        sigv4 = SigV4Verifier(credentials: config.credentials, region: config.region)
    }

    /// Makes the server's event loops Swift Concurrency's global executor, so that a request's
    /// handler runs on the thread that read it instead of hopping to the concurrency pool and
    /// back (a context switch each way). Call once, first thing, in a process that serves.
    /// - Returns: whether the event loops took over (false when another executor hook was set).
    @discardableResult
    public static func runTasksOnEventLoops() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    /// Serves until SIGTERM or SIGINT; `onListening` gets the bound port (useful with port 0).
    public func run(host: String, port: Int, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        if role.acceptsWrites { try activations.resumePending() }
        let openFiles = Self.raiseOpenFileLimit()
        logger.info("connection limits", metadata: [
            "openFiles": "\(openFiles)", "idleTimeoutSeconds": "\(config.idleTimeoutSeconds)",
            "headerTimeoutSeconds": "\(config.headerTimeoutSeconds)",
        ])
        let app = Application(
            router: makeRouter(),
            server: GuardedHTTP1Channel.builder(idleTimeout: .nanoseconds(Int64(config.idleTimeoutSeconds * 1e9)),
                                                headerTimeout: .nanoseconds(Int64(config.headerTimeoutSeconds * 1e9))),
            // A deep accept queue: with thousands of clients connecting at once a full one drops
            // SYNs, and a dropped SYN is retried only after a second.
            configuration: .init(address: .hostname(host, port: port), serverName: "regledger", backlog: 4096),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger)
        defer { activations.cancelAll() }
        try await app.runService()
    }

    /// Schedules the completion of every restore still ACTIVATING: run by the node that becomes
    /// the writer (a cluster node taking the lease), which alone runs writes.
    public func resumePendingActivations() throws { try activations.resumePending() }

    /// The routes, behind the middleware that logs and measures every request.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestObserver(metrics: metrics))
        router.add(middleware: SeqHeader(ledger: ledger))
        router.add(middleware: WriteGate(role: role, forwarder: WriteForwarder(maxBody: Self.maxECRBody)))
        router.post("/") { request, context in try await self.ecrResponse(request, context) }
        for method in [HTTPRequest.Method.get, .post, .put, .delete] {
            router.on("/api/v1/**", method: method) { request, context in try await self.quayResponse(request, context) }
        }
        for method in [HTTPRequest.Method.get, .head, .post, .put, .patch, .delete] {
            router.on("/v2", method: method) { request, context in try await self.ociResponse(request, context) }
            router.on("/v2/**", method: method) { request, context in try await self.ociResponse(request, context) }
        }
        router.get("/healthz") { _, _ in self.health() }
        router.get("/metrics") { request, _ in self.metricsResponse(request) }
        return router
    }

    // MARK: ECR

    private func ecrResponse(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        func answer(_ r: ECRResponse) -> Response {
            Self.response(r.status, r.body, contentType: "application/x-amz-json-1.1", [("x-amzn-RequestId", context.id)])
        }
        guard let body = await Self.collect(request, upTo: Self.maxECRBody) else {
            return answer(.error("RequestEntityTooLargeException", "the request body exceeds \(Self.maxECRBody) bytes", status: 413))
        }
        var headers = request.headers.map { (name: $0.name.canonicalName, value: $0.value) }
        if let authority = request.head.authority { headers.append((name: "host", value: authority)) }
        let signed = SignedRequest(method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                                   headers: headers, body: body)
        let credential: AccessCredential
        do {
            credential = try sigv4.verify(signed)
        } catch {
            context.logger.notice("refused ECR request", metadata: ["reason": "\(error.code)"])
            return answer(.error(error.code, error.description, status: 403))
        }
        let target = request.headers[Self.amzTarget]
        let endpoint = request.head.authority.map { "http://" + $0 }
        return answer(await ecr.handle(target: target, body: body, principal: credential.principal, requestId: context.id, endpoint: endpoint))
    }

    // MARK: Quay

    private func quayResponse(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard let body = await Self.collect(request, upTo: Self.maxQuayBody) else {
            let r = QuayResponse.error(413, "invalid_request", "Request too large", "the request body exceeds \(Self.maxQuayBody) bytes")
            return Self.response(r.status, r.body, contentType: "application/json")
        }
        let quayRequest = QuayRequest(method: request.method.rawValue, path: request.uri.path, query: Self.query(request), body: body,
                                      token: Self.bearerToken(request.headers[.authorization]))
        let r = await quay.handle(quayRequest, requestId: context.id)
        return Self.response(r.status, r.body, contentType: r.status == 204 ? nil : "application/json")
    }

    // MARK: OCI

    private func ociResponse(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        // Repeated fields are one list (clients send one `Accept` per media type).
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
        }
        let ociRequest = OCIRequest(method: request.method.rawValue, path: request.uri.path, query: Self.query(request), headers: headers,
                                    body: RequestBodyChunks(body: request.body), requestId: context.id)
        let r = await oci.handle(ociRequest)
        var fields = HTTPFields()
        fields.append(Self.apiVersionField)
        for (name, value) in r.headers { if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) } }
        if r.headOnly { return Response(status: .init(code: r.status), headers: fields, body: .init()) }
        switch r.content {
        case .bytes(let bytes):
            return Response(status: .init(code: r.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        case .file(let path, let offset, let length):
            guard length > 0 else { return Response(status: .init(code: r.status), headers: fields, body: .init()) }
            // 1 MiB reads: a quarter of the per-chunk work of the default 128 KiB (pull throughput, BENCHMARKS.md).
            let body = try await fileIO.loadFile(path: path, range: Int(offset)...Int(offset + length - 1), context: context, chunkLength: 1 << 20)
            return Response(status: .init(code: r.status), headers: fields, body: body)
        }
    }

    // MARK: operations

    private func health() -> Response {
        do {
            let (head, applied) = (try ledger.headSeq(), try ledger.appliedSeq())
            let stale = role.isStale ? #","stale":true"# : ""
            let body = #"{"status":"ok","role":"\#(role.name)","headSeq":\#(head),"appliedSeq":\#(applied)\#(stale)}"#
            return Self.response(200, Array(body.utf8), contentType: "application/json")
        } catch {
            return Self.response(503, Array(#"{"status":"unavailable"}"#.utf8), contentType: "application/json")
        }
    }

    /// `/metrics` takes the same credentials as the APIs: Basic (access key) or a Quay bearer token.
    private func metricsResponse(_ request: Request) -> Response {
        let authorization = request.headers[.authorization]
        let bearer = Self.bearerToken(authorization)
        guard oci.authenticates(authorization) || bearer.flatMap(quay.token) != nil else {
            return Self.response(401, Array("credentials required\n".utf8), contentType: "text/plain",
                                 [(OCIService.challenge.name, OCIService.challenge.value)])
        }
        return Self.response(200, metrics.exposition(headSeq: (try? ledger.headSeq()) ?? 0, readerSlots: ledger.readerSlots,
                                                     appliedSeq: (try? ledger.appliedSeq()) ?? 0, role: role),
                             contentType: "text/plain; version=0.0.4; charset=utf-8")
    }

    // MARK: helpers

    /// Raises the soft limit on open files to the hard limit (at most 1M), so that thousands of
    /// idle connections — closed in time by the idle timeout — cannot use up the descriptors that
    /// `/healthz` and the store need. Returns the limit now in force.
    static func raiseOpenFileLimit() -> Int {
        let openFiles = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        guard getrlimit(openFiles, &limit) == 0 else { return -1 }
        let wanted = min(limit.rlim_max, 1 << 20)
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted
            _ = setrlimit(openFiles, &limit)
            _ = getrlimit(openFiles, &limit)
        }
        return Int(limit.rlim_cur)
    }

    /// The request's query parameters (see ``queryParameters(_:)``).
    static func query(_ request: Request) -> [String: String] { queryParameters(request.uri.query) }

    /// The query's parameters (the first of repeated names), values percent-decoded (kept as
    /// sent when that fails), names as sent. Parsed from bytes: it runs on every registry request.
    static func queryParameters(_ text: String?) -> [String: String] {
        guard let text, !text.isEmpty else { return [:] }
        var query: [String: String] = [:]
        for part in text.utf8.split(separator: UInt8(ascii: "&")) {
            let eq = part.firstIndex(of: UInt8(ascii: "="))
            let key = String(decoding: part[..<(eq ?? part.endIndex)], as: UTF8.self)
            guard query[key] == nil else { continue }
            guard let eq else { query[key] = ""; continue }
            let raw = String(decoding: part[part.index(after: eq)...], as: UTF8.self)
            query[key] = raw.utf8.contains(UInt8(ascii: "%")) ? (raw.removingPercentEncoding ?? raw) : raw
        }
        return query
    }

    static func bearerToken(_ authorization: String?) -> String? {
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else { return nil }
        return String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    /// The whole body, or nil when it is larger than `limit` (or the client went away).
    static func collect(_ request: Request, upTo limit: Int) async -> [UInt8]? {
        guard let buffer = try? await request.body.collect(upTo: limit) else { return nil }
        return Array(buffer.readableBytesView)
    }

    static func response(_ status: Int, _ body: [UInt8], contentType: String?, _ extra: [(String, String)] = []) -> Response {
        var fields = HTTPFields()
        if let contentType { fields[.contentType] = contentType }
        for (name, value) in extra { if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) } }
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
