import HTTPTypes
import Hummingbird
import Logging
import RegistryAPI

/// Logs and measures every request: one log line per answer (method, path, API, operation,
/// status, milliseconds; never headers or bodies, so never a secret) and the per-operation
/// request counters and latency histograms of ``ServerMetrics``.
struct RequestObserver<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let (api, operation) = Self.classify(request)
        let start = ContinuousClock.now
        var status = 500
        defer {
            let elapsed = ContinuousClock.now - start
            metrics.recordRequest(api: api, operation: operation, status: status, duration: elapsed)
            context.logger.info("request", metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "api": "\(api)", "operation": "\(operation)",
                "status": "\(status)", "ms": "\(elapsed / .milliseconds(1))",
            ])
        }
        do {
            let response = try await next(request, context)
            status = response.status.code
            return response
        } catch let error as any HTTPResponseError {
            status = error.status.code
            throw error
        }
    }

    /// ECR operations by name; Quay and OCI routes by shape, so that label values stay few.
    static func classify(_ request: Request) -> (api: String, operation: String) {
        let path = request.uri.path
        if path == "/" && request.method == .post {
            let operation = ECRService.operation(target: request.headers[RegistryHTTPServer.amzTarget])
            return ("ecr", operation.flatMap { ECRService.operations.contains($0) ? $0 : nil } ?? "unknown")
        }
        if path.hasPrefix("/api/v1/") {
            let parts = path.split(separator: "/")
            let kind = parts.contains("immutabilitypolicy") ? (parts.last == "immutabilitypolicy" ? "policies" : "policy")
                : parts.contains("tag") ? (parts.last == "tag" ? "tags" : "tag") : "other"
            return ("quay", "\(request.method.rawValue) \(kind)")
        }
        if path == "/v2" || path.hasPrefix("/v2/") { return ("oci", OCIRoute(path: path)?.kind ?? "other") }
        if path == "/healthz" || path == "/metrics" { return ("ops", String(path.dropFirst())) }
        return ("other", "other")
    }
}
