import FuzzSupport
import RegistryLedger

// The log-record decoder: any bytes decode to a record or a DecodingError, never a crash; a
// record that decodes re-encodes to the same bytes.
@_cdecl("fuzz_event_record_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let input = bytes(data, size)
        for verify in [true, false] {
            if let record = input.withUnsafeBytes({ try? EventRecord.decode($0, verifyHash: verify) }) {
                precondition(record.encoded == input, "a decoded record must keep its bytes")
            }
        }
        return 0
    }
}
