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

    /// Sends one request and reads the whole response.
    func send(method: String, path: String, headers: [(name: String, value: String)], body: [UInt8]) throws -> (status: Int, body: [UInt8]) {
        if fd < 0 { try connect() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let request = Array((head + "\r\n").utf8) + body
        let sent = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else { close(fd); fd = -1; throw LoadError("send failed: errno \(errno)") }
        return try readResponse()
    }

    private var chunk = [UInt8](repeating: 0, count: 64 << 10)

    private func fill() throws -> Bool {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return false }
        buffer += chunk[0..<n]
        return true
    }

    private func readResponse() throws -> (status: Int, body: [UInt8]) {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        while headerEnd == nil {
            headerEnd = Self.find(separator, in: buffer).map { $0 + separator.count }
            if headerEnd == nil, try !fill() { throw LoadError("connection closed before a response") }
        }
        let head = String(decoding: buffer[..<headerEnd!], as: UTF8.self).lowercased()
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ")[1]) else { throw LoadError("bad status line") }
        let length = lines.first { $0.hasPrefix("content-length:") }.flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) }
        let closes = lines.contains { $0.hasPrefix("connection:") && $0.contains("close") }
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
