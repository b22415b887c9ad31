import FuzzSupport
import RegistryLedger

// The policy-pattern compiler and matcher (PCRE2 with match limits): the first line is the
// pattern, the rest the tag; compiling either fails cleanly or gives a pattern whose evaluation
// ends (matched, not matched, or bound hit).
@_cdecl("fuzz_tag_pattern_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let text = String(decoding: bytes(data, size), as: UTF8.self)
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        do {
            let pattern = try TagPattern(String(parts[0]))
            _ = pattern.evaluate(parts.count > 1 ? String(parts[1]) : "v1")
        } catch let error as LedgerError {
            precondition(error.code == .invalidParameter, "\(error)")
        } catch {
            preconditionFailure("\(error)")
        }
        return 0
    }
}
