import Foundation

/// What ``Ledger/verifySharedLog(_:chunk:progress:)`` found in a cluster's log.
@_spi(Cluster) public struct SharedLogReport: Sendable {
    public let headSeq: UInt64
    public let eventsVerified: UInt64
    public let manifestsVerified: Int
    /// The first seq that is missing, malformed, out of order, does not verify or names a
    /// manifest the log does not hold (or that does not hash to its digest).
    public let firstBadSeq: UInt64?
    public let problems: [String]
    public var isValid: Bool { problems.isEmpty }
}

extension Ledger {
    /// Walks a cluster's log (SPEC §7, `regledger audit verify --cluster`): seqs dense from 1,
    /// every record decoding, hashing to its hash and linked to the one before, every manifest a
    /// push names present and hashing to its digest. Reads `chunk` records at a time.
    @_spi(Cluster)
    public static func verifySharedLog(_ shared: any SharedLog, chunk: Int = 10_000,
                                       progress: ((UInt64, UInt64) -> Void)? = nil) throws -> SharedLogReport {
        let head = try shared.head().seq
        var (link, expected, manifests) = (EventRecord.genesisHash, UInt64(1), 0)
        var problems: [String] = []
        func fail(_ seq: UInt64, _ why: String) -> SharedLogReport {
            problems.append("seq \(seq): \(why)")
            return SharedLogReport(headSeq: head, eventsVerified: seq - 1, manifestsVerified: manifests, firstBadSeq: seq, problems: problems)
        }
        while expected <= head {
            let stored = try shared.records(after: expected - 1, limit: chunk)
            guard !stored.isEmpty else { return fail(expected, "the record is missing") }
            var pushed: [(seq: UInt64, digest: Digest)] = []
            for record in stored {
                guard record.seq == expected else { return fail(expected, "the record is missing (the next one is seq \(record.seq))") }
                let decoded: EventRecord
                do { decoded = try record.bytes.withUnsafeBytes { try EventRecord.decode($0) } } catch {
                    return fail(expected, "the record does not verify: \(error)")
                }
                guard decoded.seq == expected, decoded.prevHash == link, decoded.hash == record.hash, decoded.prevHash == record.previousHash else {
                    return fail(expected, "the record's seq or hashes do not continue the chain")
                }
                if case .imagePushed(_, let digest, _, _, _) = decoded.event { pushed.append((expected, digest)) }
                link = decoded.hash
                expected += 1
            }
            let found = try shared.manifests(Array(Set(pushed.map(\.digest.rawBytes))))
            var held = Set<Digest>()
            for manifest in found where Digest(of: manifest.bytes) == Digest(rawBytes: manifest.digest) { held.insert(Digest(rawBytes: manifest.digest)) }
            if let missing = pushed.first(where: { !held.contains($0.digest) }) {
                return fail(missing.seq, "manifest \(missing.digest) is missing or does not hash to its digest")
            }
            manifests += held.count
            progress?(expected - 1, head)
        }
        return SharedLogReport(headSeq: head, eventsVerified: head, manifestsVerified: manifests, firstBadSeq: nil, problems: [])
    }

    /// The first seq at which this store's local log differs from the cluster's (nil: the local
    /// copy equals the cluster's log up to the local head).
    @_spi(Cluster)
    public func firstDifference(from shared: any SharedLog, chunk: Int = 10_000) throws -> UInt64? {
        let head = try headSeq()
        var next: UInt64 = 1
        while next <= head {
            let theirs = try shared.records(after: next - 1, limit: chunk)
            var ours: [EventRecord] = []
            try forEachEvent(seqs: next...min(head, next + UInt64(chunk) - 1), chunkSize: UInt64(chunk)) { ours.append($0) }
            for (index, record) in ours.enumerated() {
                guard index < theirs.count, theirs[index].seq == record.seq, theirs[index].bytes == record.encoded else { return record.seq }
            }
            next += UInt64(ours.count)
            if ours.isEmpty { break }
        }
        return nil
    }
}
