import BenchSupport
import Foundation
import Synchronization
import RegistryAPI

// HTTP paging load: `connections` keep-alive connections for `seconds`, each walking the
// repository page by page — `--mode ecr` (default): ListImages with SigV4-signed requests (as
// boto3 signs them); `--mode oci`: `tags/list?n=` following `last` with Basic auth; `--mode
// healthz`: `GET /healthz`, the server stack's own ceiling. Prints one JSON line: pages/s,
// entries/s, p50/p99 latency. `--prepare-fixture N` builds (or
// finds) the cached N-entry paging store and prints its path. Driven by http_paging.py.

func option(_ name: String, _ fallback: String? = nil) -> String {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: "--\(name)"), i + 1 < args.count { return args[i + 1] }
    guard let fallback else { FileHandle.standardError.write(Data("missing --\(name)\n".utf8)); exit(2) }
    return fallback
}

if CommandLine.arguments.contains("--prepare-fixture") {
    let entries = Int(option("prepare-fixture"))!
    print(try await Fixtures.pagingStore(entries: entries))
    exit(0)
}

let endpoint = URL(string: option("endpoint"))!
let signer = SigV4Signer(credential: AccessCredential(accessKeyId: option("access-key"), secretAccessKey: option("secret"), principal: ""),
                         region: option("region", "us-east-1"))
let repository = option("repository", Fixtures.pagingRepository.name.value)
let maxResults = Int(option("max-results", "100"))!
let connections = Int(option("connections", "8"))!
let seconds = Double(option("seconds", "10"))!
let host = "\(endpoint.host!):\(endpoint.port!)"
let mode = option("mode", "ecr")
guard ["ecr", "oci", "healthz"].contains(mode) else { FileHandle.standardError.write(Data("--mode is ecr, oci or healthz\n".utf8)); exit(2) }
let basic = "Basic " + Data("\(option("access-key")):\(option("secret"))".utf8).base64EncodedString()

final class Worker: @unchecked Sendable {
    var latencies: [Double] = []
    var pages = 0
    var entries = 0
    var walks = 0
    var errors: [String] = []

    func run(until deadline: Date) {
        let connection = HTTPConnection(host: endpoint.host!, port: endpoint.port!)
        var cursor: String?  // ECR: the next token; OCI: the last tag of the page before
        while Date() < deadline {
            let request = Self.request(after: cursor, on: connection)
            let start = DispatchTime.now().uptimeNanoseconds
            do {
                let response = try connection.send(request)
                latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                guard response.status == 200 else {
                    errors.append("HTTP \(response.status): \(String(decoding: response.body.prefix(200), as: UTF8.self))")
                    if errors.count > 10 { return }
                    continue
                }
                pages += 1
                let (count, next) = Self.read(response.body)
                entries += count
                cursor = next
                if next == nil, mode != "healthz" { walks += 1 }
            } catch {
                errors.append("\(error)")
                if errors.count > 10 { return }
            }
        }
    }

    static let ecrHeaders: [(name: String, value: String)] = [
        ("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.ListImages"), ("Content-Type", "application/x-amz-json-1.1"),
    ]

    /// The request for the page after `cursor` in this run's mode.
    static func request(after cursor: String?, on connection: HTTPConnection) -> [UInt8] {
        switch mode {
        case "healthz": return healthzRequest.withLock { known in
            if known.isEmpty { known = connection.request(method: "GET", path: "/healthz", headers: [], body: []) }
            return known
        }
        case "oci":
            return connection.request(method: "GET", path: "/v2/\(repository)/tags/list?n=\(maxResults)" + (cursor.map { "&last=\($0)" } ?? ""),
                                      headers: [("Authorization", basic)], body: [])
        default:
            // Each page's request is signed once and replayed by every connection that walks
            // past it (the signature stays valid for minutes): the client's own signing would
            // otherwise cost more CPU than the server's answer.
            if let known = signedPages.withLock({ $0[cursor ?? ""] }) { return known }
            var request = #"{"repositoryName":"\#(repository)","maxResults":\#(maxResults)"#
            if let cursor { request += #","nextToken":"\#(cursor)""# }
            let body = Array((request + "}").utf8)
            let headers = ecrHeaders + signer.sign(method: "POST", path: "/", host: host, headers: ecrHeaders, body: body)
            let bytes = connection.request(method: "POST", path: "/", headers: headers, body: body)
            signedPages.withLock { $0[cursor ?? ""] = bytes }
            return bytes
        }
    }

    static let signedPages = Mutex<[String: [UInt8]]>([:])
    static let healthzRequest = Mutex<[UInt8]>([])

    static let digestKey = Array(#"{"imageDigest""#.utf8)  // '{' is rarer than '"': fewer memchr stops
    static let tokenKey = Array(#""nextToken":""#.utf8)

    /// The entries of a page and the cursor of the next one (nil after the last page).
    static func read(_ body: [UInt8]) -> (entries: Int, next: String?) {
        switch mode {
        case "healthz": return (0, nil)
        case "oci":
            // Tags are strings in one array: its commas and one.
            guard let open = body.firstIndex(of: UInt8(ascii: "[")) else { return (0, nil) }
            let count = body[open...].dropFirst().first == UInt8(ascii: "]") ? 0 : body[open...].count { $0 == UInt8(ascii: ",") } + 1
            // The next page starts after the last tag of this one (what the Link header says).
            guard count >= maxResults, let end = body.lastIndex(of: UInt8(ascii: "\"")),
                  let start = body[..<end].lastIndex(of: UInt8(ascii: "\"")) else { return (count, nil) }
            return (count, String(decoding: body[(start + 1)..<end], as: UTF8.self))
        default:
            return (Self.count(digestKey, in: body), Self.value(after: tokenKey, in: body))
        }
    }

    /// How often `needle` occurs in `haystack`.
    static func count(_ needle: [UInt8], in haystack: [UInt8]) -> Int {
        var count = 0
        var at = 0
        while let found = HTTPConnection.find(needle, in: haystack, from: at) { count += 1; at = found + needle.count }
        return count
    }

    static func value(after key: [UInt8], in body: [UInt8]) -> String? {
        guard let found = HTTPConnection.find(key, in: body), let end = HTTPConnection.find([UInt8(ascii: "\"")], in: body, from: found + key.count)
        else { return nil }
        return String(decoding: body[(found + key.count)..<end], as: UTF8.self)
    }
}

let workers = (0..<connections).map { _ in Worker() }
let started = Date()
let deadline = started.addingTimeInterval(seconds)
let done = DispatchGroup()
for worker in workers {
    done.enter()
    Thread { worker.run(until: deadline); done.leave() }.start()
}
done.wait()
let elapsed = Date().timeIntervalSince(started)
let latencies = workers.flatMap(\.latencies).sorted()
func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
let pages = workers.map(\.pages).reduce(0, +)
let entries = workers.map(\.entries).reduce(0, +)
let result: [String: Any] = [
    "endpoint": endpoint.absoluteString, "mode": mode, "maxResults": maxResults, "connections": connections, "seconds": elapsed,
    "pages": pages, "entries": entries, "walks": workers.map(\.walks).reduce(0, +),
    "pagesPerSecond": Double(pages) / elapsed, "entriesPerSecond": Double(entries) / elapsed,
    "p50ms": percentile(0.5), "p99ms": percentile(0.99), "errors": Array(workers.flatMap(\.errors).prefix(5)),
]
print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
