import FuzzSupport
import RegistryLedger

// The manifest parser: any bytes are a Manifest or an InvalidParameterException.
@_cdecl("fuzz_manifest_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let input = bytes(data, size)
        do {
            let manifest = try Manifest(bytes: input)
            precondition(manifest.digest == Digest(of: input) && (manifest.imageSize ?? 0) >= 0)
        } catch let error as LedgerError {
            precondition(error.code == .invalidParameter, "\(error)")
        } catch {
            preconditionFailure("\(error)")
        }
        return 0
    }
}
