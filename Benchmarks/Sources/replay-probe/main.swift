// A driver for profiling rebuild (perf record): rebuilds STORE's projections ROUNDS times and
// prints wall-clock and process CPU time per round. The machine is noisy: compare minimums.
//
//   replay-probe STORE [ROUNDS]
import Foundation
import RegistryLedger

let arguments = CommandLine.arguments
guard (2...3).contains(arguments.count) else {
    FileHandle.standardError.write(Data("usage: replay-probe STORE [ROUNDS]\n".utf8))
    exit(2)
}
let rounds = arguments.count == 3 ? Int(arguments[2]) ?? 1 : 1

/// User plus system CPU seconds of this process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

let ledger = try Ledger(path: arguments[1])
let head = try ledger.headSeq()
for _ in 0..<rounds {
    let (start, cpuStart) = (ContinuousClock.now, cpuSeconds())
    let digest = try await ledger.rebuild()
    let seconds = (ContinuousClock.now - start) / .seconds(1)
    print("\(head) events in \(String(format: "%.3f", seconds)) s (CPU \(String(format: "%.3f", cpuSeconds() - cpuStart)) s): "
        + "\(Int(Double(head) / seconds)) events/s, state digest \(digest.prefix(16))")
}
ledger.close()
