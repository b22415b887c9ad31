// A synchronous driver for counting time travel's instructions with valgrind (callgrind cannot
// follow Swift's async main): the state of one history-fixture repository at `count` fixed
// points. Instruction counts repeat exactly, whatever the machine's noise (BENCHMARKS.md).
//
//   time-travel-probe STORE COUNT
import BenchSupport
import Foundation
import RegistryLedger

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: time-travel-probe STORE COUNT\n".utf8))
    exit(2)
}
var options = Ledger.Options()
options.readOnly = true
let ledger = try Ledger(path: arguments[1], options: options)
let head = try ledger.headSeq()
for i in 0..<count {
    let seq = UInt64((i * 7919 * 104729) % Int(head)) + 1
    _ = try ledger.state(at: .seq(seq), repository: try Fixtures.historyRepository(i % 20))
}
ledger.close()
