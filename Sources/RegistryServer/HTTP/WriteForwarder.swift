import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Sends a request on to the writer node exactly as it came — method, path, query, every
/// end-to-end header (`Host` too, so that a SigV4 signature over it still verifies) and body —
/// and hands back the writer's answer.
struct WriteForwarder: Sendable {
    /// The writer's answer, and the seq it says it reflects.
    struct Answer {
        let response: Response
        let seq: UInt64?
    }

    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                                        "upgrade", "content-length"]
    let session: URLSession
    let maxBody: Int

    init(maxBody: Int) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration)
        self.maxBody = maxBody
    }

    /// The writer's answer to `request`, or nil when the writer could not be reached (the
    /// caller refuses the write with 503: the client retries).
    func forward(_ request: Request, to writer: String, logger: Logger) async -> Answer? {
        guard let body = await RegistryHTTPServer.collect(request, upTo: maxBody),
              let url = URL(string: writer + request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")) else { return nil }
        var forwarded = URLRequest(url: url)
        forwarded.httpMethod = request.method.rawValue
        for field in request.headers where !Self.hopByHop.contains(field.name.canonicalName) {
            forwarded.addValue(field.value, forHTTPHeaderField: field.name.rawName)
        }
        if let authority = request.head.authority { forwarded.setValue(authority, forHTTPHeaderField: "Host") }
        forwarded.httpBody = Data(body)
        do {
            let (data, urlResponse) = try await session.data(for: forwarded)
            guard let http = urlResponse as? HTTPURLResponse else { return nil }
            var headers = HTTPFields()
            var seq: UInt64?
            for (name, value) in http.allHeaderFields {
                guard let name = name as? String, let value = value as? String, let field = HTTPField.Name(name),
                      !Self.hopByHop.contains(field.canonicalName), field.canonicalName != "content-encoding" else { continue }
                if field == SeqHeader<BasicRequestContext>.name { seq = UInt64(value); continue }
                headers[field] = value
            }
            return Answer(response: Response(status: .init(code: http.statusCode), headers: headers,
                                             body: .init(byteBuffer: ByteBuffer(bytes: data))), seq: seq)
        } catch {
            logger.warning("cannot forward a write to the writer", metadata: ["writer": "\(writer)", "reason": "\(error)"])
            return nil
        }
    }
}
