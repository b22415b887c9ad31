import Foundation
import RegistryLedger

/// What one garbage collection did (or, dry, would do).
public struct CollectionReport: Sendable, Equatable {
    /// Blobs a repository held though none of its manifests references them: unlinked (an event each).
    public var unlinked: [(repository: RepositoryRef, digest: Digest)] = []
    /// Blob files no repository holds any more: removed.
    public var removed: [Digest] = []
    /// Bytes of the removed files.
    public var reclaimedBytes: Int64 = 0

    public static func == (a: CollectionReport, b: CollectionReport) -> Bool {
        a.unlinked.map(\.repository) == b.unlinked.map(\.repository) && a.unlinked.map(\.digest) == b.unlinked.map(\.digest)
            && a.removed == b.removed && a.reclaimedBytes == b.reclaimedBytes
    }
}

/// `regledger gc` and the server's schedule (SPEC §8): reclaims the blobs no manifest references.
///
/// First each repository gives up the blobs none of its manifests references (`blob.unlinked`
/// events, so the log records what was reclaimed from where); then the files of blobs that no
/// repository holds are removed. Links and files younger than the grace period are kept: they
/// may belong to a push whose manifest is still to come.
public struct BlobCollector: Sendable {
    let ledger: Ledger
    let blobs: BlobStore
    /// Seconds a link or file is kept before it may be reclaimed (0 in the CLI, which runs only
    /// while no server holds the store).
    let graceSeconds: Double

    public init(ledger: Ledger, blobs: BlobStore, graceSeconds: Double) {
        self.ledger = ledger
        self.blobs = blobs
        self.graceSeconds = graceSeconds
    }

    /// The context gc's events carry: actor `gc`.
    public static let actor = CommandContext(actor: "gc", origin: .library)

    /// Collects once; `dryRun` changes nothing and reports what a run would reclaim.
    public func collect(dryRun: Bool = false, context: CommandContext = BlobCollector.actor,
                        now: Date = Date()) async throws -> CollectionReport {
        var report = CollectionReport()
        let nowMicros = UInt64(now.timeIntervalSince1970 * 1e6)
        let graceMicros = UInt64(graceSeconds * 1e6)
        var stillLinked: Set<Digest> = []
        let links = Dictionary(grouping: try ledger.blobLinks(), by: \.repository)
        for ref in links.keys.sorted() {
            let referenced = try ledger.referencedBlobs(ref)
            var stale: [Digest] = []
            for link in links[ref]! {
                if referenced.contains(link.digest) || link.linkedAt + graceMicros > nowMicros {
                    stillLinked.insert(link.digest)
                } else {
                    stale.append(link.digest)
                }
            }
            guard !stale.isEmpty else { continue }
            if !dryRun {
                do {
                    try await ledger.unlinkBlobs(ref, digests: stale, context: context)
                } catch let error as LedgerError where error.code == .layersNotFound || error.code == .repositoryNotFound {
                    continue  // changed meanwhile: the next run sees it
                }
            }
            report.unlinked += stale.map { (ref, $0) }
        }
        if !dryRun { stillLinked = Set(try ledger.blobLinks().map(\.digest)) }
        for file in blobs.allBlobs() where !stillLinked.contains(file.digest) {
            guard file.modified + graceSeconds <= now.timeIntervalSince1970 else { continue }
            if !dryRun {
                // Looked at again just before: a file put back since the list was taken stays.
                guard let modified = blobs.modified(file.digest), modified + graceSeconds <= now.timeIntervalSince1970 else { continue }
                try blobs.remove(file.digest)
            }
            report.removed.append(file.digest)
            report.reclaimedBytes += file.size
        }
        return report
    }
}
