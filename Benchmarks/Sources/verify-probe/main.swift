// A synchronous driver for counting the in-memory fold's instructions with valgrind (callgrind
// cannot follow the async rebuild): `verify` folds the log exactly as rebuild does and digests
// the result instead of writing it. Instruction counts repeat exactly (BENCHMARKS.md).
//
//   verify-probe STORE
import Foundation
import RegistryLedger

guard CommandLine.arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: verify-probe STORE\n".utf8))
    exit(2)
}
var options = Ledger.Options()
options.readOnly = true
let ledger = try Ledger(path: CommandLine.arguments[1], options: options)
let report = try ledger.verify()
print(report.isValid ? "valid" : "INVALID: \(report.problems)", "\(report.eventsVerified) events")
ledger.close()
exit(report.isValid ? 0 : 1)
