import BlobStore
import Foundation
import FuzzSupport
import RegistryLedger
import RegistryAPI

// ECR request decoding and validation: the first byte picks the operation, the rest is the
// body. Every answer is a JSON object with 200 or a 4xx, never a crash or a 500. The layer
// operations have a blob store of their own; upload sessions an input opens are swept after it.
let blobs = try! BlobStore(directory: NSTemporaryDirectory() + "regledger-fuzz-ecr-blobs-\(UUID().uuidString)")
let service = ECRService(ledger: fuzzLedger, region: "us-east-1", blobs: blobs)
let operations = ECRService.operations.sorted() + ["Unknown"]

@_cdecl("fuzz_ecr_request_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let input = bytes(data, size)
        guard let first = input.first else { return 0 }
        let target = ECRService.targetPrefix + operations[Int(first) % operations.count]
        let body = Array(input.dropFirst())
        let response = blocking { await service.handle(target: target, body: body, principal: "fuzz", requestId: "fuzz") }
        precondition(response.status == 200 || (400..<500).contains(response.status), "status \(response.status)")
        precondition(response.body.first == UInt8(ascii: "{"))
        blobs.sweepAbandoned(idleSeconds: -1)
        return 0
    }
}
