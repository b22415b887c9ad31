import BenchSupport
import Foundation
import RegistryAPI

// HTTP ListImages paging load: `connections` keep-alive connections, each walking the
// repository page by page with SigV4-signed requests (as boto3 signs them) for `seconds`.
// Prints one JSON line: pages/s, entries/s, p50/p99 latency. `--prepare-fixture N` builds (or
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

final class Worker: @unchecked Sendable {
    var latencies: [Double] = []
    var pages = 0
    var entries = 0
    var walks = 0
    var errors: [String] = []

    func run(until deadline: Date) {
        let connection = HTTPConnection(host: endpoint.host!, port: endpoint.port!)
        let headers: [(name: String, value: String)] = [
            ("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.ListImages"), ("Content-Type", "application/x-amz-json-1.1"),
        ]
        var token: String?
        let digestKey = Array(#""imageDigest""#.utf8)
        let tokenKey = Array(#""nextToken":""#.utf8)
        while Date() < deadline {
            var request = #"{"repositoryName":"\#(repository)","maxResults":\#(maxResults)"#
            if let token { request += #","nextToken":"\#(token)""# }
            let body = Array((request + "}").utf8)
            let start = DispatchTime.now().uptimeNanoseconds
            do {
                let signed = headers + signer.sign(method: "POST", path: "/", host: host, headers: headers, body: body)
                let response = try connection.send(method: "POST", path: "/", headers: signed, body: body)
                latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                guard response.status == 200 else {
                    errors.append("HTTP \(response.status): \(String(decoding: response.body.prefix(200), as: UTF8.self))")
                    if errors.count > 10 { return }
                    continue
                }
                pages += 1
                entries += Self.count(digestKey, in: response.body)
                token = Self.value(after: tokenKey, in: response.body)
                if token == nil { walks += 1 }
            } catch {
                errors.append("\(error)")
                if errors.count > 10 { return }
            }
        }
    }

    static func count(_ needle: [UInt8], in haystack: [UInt8]) -> Int {
        var n = 0
        var from = haystack.startIndex
        while let r = haystack[from...].firstRange(of: needle) { n += 1; from = r.upperBound }
        return n
    }

    static func value(after key: [UInt8], in body: [UInt8]) -> String? {
        guard let r = body.firstRange(of: key), let end = body[r.upperBound...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return String(decoding: body[r.upperBound..<end], as: UTF8.self)
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
    "endpoint": endpoint.absoluteString, "maxResults": maxResults, "connections": connections, "seconds": elapsed,
    "pages": pages, "entries": entries, "walks": workers.map(\.walks).reduce(0, +),
    "pagesPerSecond": Double(pages) / elapsed, "entriesPerSecond": Double(entries) / elapsed,
    "p50ms": percentile(0.5), "p99ms": percentile(0.99), "errors": Array(workers.flatMap(\.errors).prefix(5)),
]
print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
