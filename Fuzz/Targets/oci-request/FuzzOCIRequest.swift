import BlobStore
import Foundation
import FuzzSupport
import RegistryAPI
import RegistryLedger

// Registry-API routing and decoding: the first byte picks the method, the first line the path
// under /v2/ (with its query), the second the value of the Range, Content-Range, Content-Type
// and Accept headers, the rest the body. Every answer is below 500, never a crash; upload
// sessions an input opens are swept after it.
let blobs = try! BlobStore(directory: NSTemporaryDirectory() + "regledger-fuzz-blobs-\(UUID().uuidString)")
let service = OCIService(ledger: fuzzLedger, credentials: [AccessCredential(accessKeyId: "k", secretAccessKey: "s", principal: "fuzz")],
                         blobs: blobs)
let methods = ["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"]
let authorization = "Basic " + Data("k:s".utf8).base64EncodedString()

@_cdecl("fuzz_oci_request_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let input = bytes(data, size)
        guard let first = input.first else { return 0 }
        let lines = input.dropFirst().split(separator: 0x0A, maxSplits: 2, omittingEmptySubsequences: false)
        let target = String(decoding: lines[0], as: UTF8.self)
        let header = lines.count > 1 ? String(decoding: lines[1], as: UTF8.self) : ""
        let body = lines.count > 2 ? Array(lines[2]) : []
        let (path, rawQuery) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) } ?? (target, "")
        var query: [String: String] = [:]
        for pair in rawQuery.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if let key = kv.first, query[key] == nil { query[key] = kv.count > 1 ? (kv[1].removingPercentEncoding ?? kv[1]) : "" }
        }
        let request = OCIRequest(method: methods[Int(first) % methods.count], path: "/v2/" + path, query: query,
                                 headers: ["authorization": authorization, "range": header, "content-range": header,
                                           "content-type": header, "accept": header],
                                 body: body, requestId: "fuzz")
        let response = blocking { await service.handle(request) }
        precondition(response.status < 500, "status \(response.status) for \(request.method) \(target)")
        blobs.sweepAbandoned(idleSeconds: -1)
        return 0
    }
}
