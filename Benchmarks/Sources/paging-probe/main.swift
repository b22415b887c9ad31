// A synchronous driver for counting paging's instructions with valgrind: walks a paging
// fixture's repository through ListImages (maxResults 1000, default filter) or with the raw
// LMDB cursor scan, and prints the entries seen. Compare the two counts (BENCHMARKS.md).
//
//   paging-probe STORE ours|raw
import BenchSupport
import Foundation
@_spi(Benchmarks) import RegistryLedger

guard CommandLine.arguments.count == 3, ["ours", "raw"].contains(CommandLine.arguments[2]) else {
    FileHandle.standardError.write(Data("usage: paging-probe STORE ours|raw\n".utf8))
    exit(2)
}
var options = Ledger.Options()
options.readOnly = true
let ledger = try Ledger(path: CommandLine.arguments[1], options: options)
var entries = 0
if CommandLine.arguments[2] == "ours" {
    var token: String?
    repeat {
        let page = try ledger.listImages(Fixtures.pagingRepository, filter: ImageFilter(), maxResults: 1000, nextToken: token)
        entries += page.items.count
        token = page.nextToken
    } while token != nil
} else {
    entries = try ledger.rawListingScan(Fixtures.pagingRepository).keys
}
print(entries)
ledger.close()
