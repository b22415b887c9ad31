import Foundation

/// A minimal blocking HTTP/1.1 client connection with keep-alive: enough to drive one server
/// as fast as a client can, without a client library's overhead in the measurement. Reconnects
/// when the server closes (moto's server answers without keep-alive).
final class HTTPConnection {
    let host: String
    let port: Int
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    deinit { if fd >= 0 { close(fd) } }

    private func connect() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LoadError("socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(fd); fd = -1; throw LoadError("connect to \(host):\(port): errno \(errno)") }
        buffer.removeAll(keepingCapacity: true)
    }

    /// The bytes of a request to this connection's server (keep them: a page's request is the
    /// same every time a connection walks past it).
    func request(method: String, path: String, headers: [(name: String, value: String)], body: [UInt8]) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        return Array((head + "\r\n").utf8) + body
    }

    /// Sends one request (from ``request(method:path:headers:body:)``) and reads the whole response.
    func send(_ request: [UInt8]) throws -> (status: Int, body: [UInt8]) {
        if fd < 0 { try connect() }
        let sent = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else { close(fd); fd = -1; throw LoadError("send failed: errno \(errno)") }
        return try readResponse()
    }

    private var chunk = [UInt8](repeating: 0, count: 64 << 10)

    private func fill() throws -> Bool {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return false }
        chunk.withUnsafeBytes { buffer.append(contentsOf: $0[0..<n]) }
        return true
    }

    private static let separator: [UInt8] = [13, 10, 13, 10]

    /// Reads one response: its head parsed as bytes (the client must cost little next to the
    /// server it measures), its body by `Content-Length` or to the end of the connection.
    private func readResponse() throws -> (status: Int, body: [UInt8]) {
        var headerEnd: Int?
        while headerEnd == nil {
            headerEnd = Self.find(Self.separator, in: buffer).map { $0 + Self.separator.count }
            if headerEnd == nil, try !fill() { throw LoadError("connection closed before a response") }
        }
        let (status, length, closes) = try Self.parseHead(buffer[..<headerEnd!])
        if let length {
            while buffer.count < headerEnd! + length { if try !fill() { throw LoadError("connection closed mid-body") } }
            let body = Array(buffer[headerEnd!..<(headerEnd! + length)])
            buffer.removeFirst(headerEnd! + length)
            if closes { close(fd); fd = -1 }
            return (status, body)
        }
        while try fill() {}  // no length: the body runs to the end of the connection
        let body = Array(buffer[headerEnd!...])
        close(fd)
        fd = -1
        return (status, body)
    }

    /// Status, `Content-Length` and whether the server closes, from a response head's bytes.
    static func parseHead(_ head: ArraySlice<UInt8>) throws -> (status: Int, length: Int?, closes: Bool) {
        let lines = head.split(separator: 10).map { $0.last == 13 ? $0.dropLast() : $0 }
        guard let statusLine = lines.first, statusLine.count >= 12,
              let status = Int(String(decoding: statusLine.dropFirst(9).prefix(3), as: UTF8.self)) else { throw LoadError("bad status line") }
        var length: Int?
        var closes = false
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self)
            if name == "content-length" { length = Int(value.filter { $0 != " " }) }
            if name == "connection" { closes = value.lowercased().contains("close") }
        }
        return (status, length, closes)
    }
}

extension HTTPConnection {
    /// Where `needle` first occurs in `haystack` at or after `from` (memchr and memcmp: the
    /// client must cost little next to the server it measures).
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        haystack.withUnsafeBytes { h in
            needle.withUnsafeBytes { n in
                var at = start
                while at + n.count <= h.count, let hit = memchr(h.baseAddress! + at, Int32(n[0]), h.count - at) {
                    let offset = h.baseAddress!.distance(to: UnsafeRawPointer(hit))
                    guard offset + n.count <= h.count else { return nil }
                    if memcmp(hit, n.baseAddress!, n.count) == 0 { return offset }
                    at = offset + 1
                }
                return nil
            }
        }
    }
}

struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
