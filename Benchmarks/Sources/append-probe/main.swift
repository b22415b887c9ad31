// A driver for profiling group commit (perf record): WRITERS concurrent tasks push COUNT new
// tagged images in all into one repository of a fresh store, durably unless told, and print
// commands/s and the writer's commits.
//
//   append-probe COUNT WRITERS [nosync]
import BenchSupport
import Foundation
import RegistryLedger

let arguments = CommandLine.arguments
guard (3...4).contains(arguments.count), let count = Int(arguments[1]), let writers = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: append-probe COUNT WRITERS [nosync]\n".utf8))
    exit(2)
}
let path = NSTemporaryDirectory() + "regledger-append-probe-\(UUID().uuidString)"
var options = Ledger.Options()
options.durable = arguments.count < 4
if arguments.count == 4 && arguments[3] == "simlog" {
    // Experiment: projections unsynced, a log-sized append fsynced per commit, in a file of the
    // store's directory (removed with it).
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    let fd = open(path + "/simlog", O_WRONLY | O_CREAT | O_APPEND, 0o600)
    guard fd >= 0 else { fatalError("cannot open \(path)/simlog") }
    let chunk = [UInt8](repeating: 7, count: 512)
    options.onCommit = { n in
        for _ in 0..<n { _ = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
        fdatasync(fd)
    }
}
let ledger = try Ledger(path: path, options: options)
let ref = try RepositoryRef("bench/append")
_ = try await ledger.createRepository(ref, context: Fixtures.context)
// Manifests are parsed before the clock starts: the writer's work is what this measures.
let manifests = (0..<count).map(Fixtures.manifest)
let start = ContinuousClock.now
try await Fixtures.concurrently(count, parallel: writers) { i in
    _ = try await ledger.putImage(ref, manifest: manifests[i], tag: try Tag("t\(i)"), context: Fixtures.context)
}
let seconds = (ContinuousClock.now - start) / .seconds(1)
print("\(count) pushes by \(writers) writers\(options.durable ? "" : ", not fsynced"): \(Int(Double(count) / seconds)) commands/s, "
    + "\(ledger.stats.commits) commits")
ledger.close()
try? FileManager.default.removeItem(atPath: path)
