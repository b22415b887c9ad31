import ArgumentParser
import BlobStore
import Foundation
import RegistryLedger

struct GC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Reclaim the blobs no manifest references (stop the server first; it collects on its own schedule).",
        discussion: """
            Each repository gives up the blobs none of its manifests references (a `blob.unlinked` event each, \
            actor `gc`); then the files of blobs no repository holds are removed, with the files an interrupted \
            push left behind. --dry-run changes nothing and prints what a run would reclaim.
            """)
    @OptionGroup var store: StoreOptions
    @Flag(help: "Change nothing; print what a run would reclaim.") var dryRun = false
    @Flag(help: "One JSON object per blob unlinked or removed, then a summary.") var json = false

    func run() async throws {
        let ledger = try store.openWritable()
        defer { ledger.close() }
        let blobs = try BlobStore(directory: store.data)
        var context = BlobCollector.actor
        context.origin = .cli
        let report = try await BlobCollector(ledger: ledger, blobs: blobs, graceSeconds: 0).collect(dryRun: dryRun, context: context)
        let verb = dryRun ? "would " : ""
        for (ref, digest) in report.unlinked {
            print(json ? Output.json(["action": "unlinked", "repositoryName": ref.name.value, "blobDigest": digest.description, "dryRun": dryRun])
                  : "\(verb)unlink \(digest) from \(ref.name)")
        }
        for digest in report.removed {
            print(json ? Output.json(["action": "removed", "blobDigest": digest.description, "dryRun": dryRun]) : "\(verb)remove \(digest)")
        }
        let summary: [String: Any] = ["unlinked": report.unlinked.count, "removed": report.removed.count,
                                      "reclaimedBytes": report.reclaimedBytes, "dryRun": dryRun]
        print(json ? Output.json(summary)
              : "\(dryRun ? "would reclaim" : "reclaimed") \(report.reclaimedBytes) bytes: \(report.removed.count) blob files removed, \(report.unlinked.count) links dropped")
    }
}
