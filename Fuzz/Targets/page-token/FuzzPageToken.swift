import FuzzSupport
import RegistryLedger

// Paging tokens through the public API: any string is an InvalidParameterException or a page.
@_cdecl("fuzz_page_token_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let token = String(decoding: bytes(data, size), as: UTF8.self)
        let ref = try! RepositoryRef("fuzz/web")
        do {
            _ = try fuzzLedger.listImages(ref, maxResults: 1, nextToken: token)
            _ = try fuzzLedger.describeImages(ref, maxResults: 1, nextToken: token)
            _ = try fuzzLedger.describeRepositories(maxResults: 1, nextToken: token)
        } catch let error as LedgerError {
            precondition(error.code == .invalidParameter, "\(error)")
        } catch {
            preconditionFailure("\(error)")
        }
        return 0
    }
}
