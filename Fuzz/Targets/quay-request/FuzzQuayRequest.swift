import FuzzSupport
import RegistryLedger
import RegistryAPI

// Quay request routing and decoding: the first byte picks the method, the first line the path
// (under /api/v1/), the rest the body. Every answer is 2xx or 4xx, never a crash or a 500.
let service = QuayService(ledger: fuzzLedger, tokens: [
    QuayToken(token: "t", user: "fuzz", scopes: ["org:admin", "repo:admin", "repo:write", "repo:read"]),
])
let methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]

@_cdecl("fuzz_quay_request_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let input = bytes(data, size)
        guard let first = input.first else { return 0 }
        let rest = input.dropFirst()
        let newline = rest.firstIndex(of: 0x0A) ?? rest.endIndex
        let path = "/api/v1/" + String(decoding: rest[..<newline], as: UTF8.self)
        let body = newline < rest.endIndex ? Array(rest[(newline + 1)...]) : []
        let request = QuayRequest(method: methods[Int(first) % methods.count], path: path, query: ["limit": "5"], body: body, token: "t")
        let response = blocking { await service.handle(request, requestId: "fuzz") }
        precondition((200..<500).contains(response.status), "status \(response.status) for \(request.method) \(path)")
        return 0
    }
}
