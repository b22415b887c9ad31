import BlobStore
import Foundation

/// A registry-API request, transport aside: headers by lowercased name, the body as it arrives.
public struct OCIRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    /// Header values by lowercased name (repeated ones joined by `, `).
    public var headers: [String: String]
    public var body: any BodyChunks
    public var requestId: String

    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:],
                body: any BodyChunks = [UInt8](), requestId: String = "") {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.requestId = requestId
    }

    /// The `Authorization` header.
    public var authorization: String? { headers["authorization"] }
}

/// An HTTP answer with headers beyond the content type (OCI's `Link`, `Location`,
/// `Docker-Content-Digest`, `WWW-Authenticate`), whose body is bytes or part of a blob file.
public struct OCIResponse: Sendable {
    public enum Content: Sendable, Equatable {
        case bytes([UInt8])
        /// `length` bytes of the file at `path` from `offset` (a blob: streamed, not loaded).
        case file(path: String, offset: Int64, length: Int64)
    }

    public let status: Int
    public let headers: [(name: String, value: String)]
    public let content: Content
    /// HEAD: the headers (with the `Content-Length` a GET would have), no body.
    public var headOnly = false

    public init(status: Int, headers: [(name: String, value: String)], content: Content) {
        self.status = status
        self.headers = headers
        self.content = content
    }

    /// The body when it is bytes (empty for a file).
    public var body: [UInt8] {
        if case .bytes(let bytes) = content { bytes } else { [] }
    }

    static func json(_ status: Int, _ object: Any, headers: [(name: String, value: String)] = []) -> OCIResponse {
        OCIResponse(status: status, headers: [(name: "Content-Type", value: "application/json")] + headers,
                    content: .bytes(JSONBody.encode(object)))
    }

    static func empty(_ status: Int, headers: [(name: String, value: String)] = []) -> OCIResponse {
        OCIResponse(status: status, headers: headers + [(name: "Content-Length", value: "0")], content: .bytes([]))
    }

    /// OCI's error body `{"errors": [{"code", "message", "detail"}]}`.
    package static func error(_ status: Int, _ code: String, _ message: String, headers: [(name: String, value: String)] = []) -> OCIResponse {
        json(status, ["errors": [["code": code, "message": message, "detail": [:] as [String: String]]]], headers: headers)
    }

    /// The same answer without its body (a HEAD request).
    func withoutBody() -> OCIResponse {
        var copy = self
        copy.headOnly = true
        return copy
    }
}
