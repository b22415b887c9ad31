import Foundation
import LMDB

/// The log boundary in cluster mode: appends go to the shared log (the truth, where the chain is
/// enforced) and then to the node's local log, which is a copy that every read uses; following
/// copies what other nodes appended, each record's hash and link checked as it arrives.
final class ReplicatedLogStore: LogStore {
    let shared: any SharedLog
    let local: LMDBLogStore
    /// Records fetched from the shared log at a time.
    static let chunk = 2_000

    init(shared: any SharedLog, local: LMDBLogStore) {
        self.shared = shared
        self.local = local
    }

    func head() throws -> LogHead {
        let head = try shared.head()
        return LogHead(seq: head.seq, hash: head.hash)
    }

    func lastDenial() throws -> UInt64 { try shared.lastDenial() }

    func append(_ group: LogGroup) throws {
        try shared.append(SharedLogGroup(group))
        // The group stands. The local copy takes it as it is when it ends where the group
        // starts; otherwise (a copy that failed earlier) it follows the shared log instead.
        do {
            let (seq, denial) = (try local.head().seq, try local.lastDenial())
            if (group.records.first?.seq ?? seq + 1) == seq + 1, (group.denials.first?.number ?? denial + 1) == denial + 1 {
                try local.append(group)
            } else {
                _ = try follow()
            }
        } catch {
            throw LogAppendOutcomeUnknown(reason: "the shared log holds the group, but the local copy could not take it (\(error))")
        }
    }

    func follow() throws -> (head: LogHead, lastDenial: UInt64) {
        var head = try local.head()
        while true {
            let records = try shared.records(after: head.seq, limit: Self.chunk)
            guard !records.isEmpty else { break }
            var group = LogGroup()
            for stored in records {
                let record = try stored.bytes.withUnsafeBytes { bytes -> EventRecord in
                    do { return try EventRecord.decode(bytes) } catch {
                        throw LedgerError(.storage, "the cluster's log holds a malformed record at seq \(stored.seq): \(error)")
                    }
                }
                guard record.seq == head.seq + 1, record.prevHash == head.hash else {
                    throw LedgerError(.storage, "the cluster's log does not continue the local copy at seq \(head.seq + 1)")
                }
                group.records.append(record)
                head = LogHead(seq: record.seq, hash: record.hash, timestamp: record.timestamp)
            }
            group.manifests = try missingManifests(of: group.records)
            try local.append(group)
        }
        var lastDenial = try local.lastDenial()
        while true {
            let denials = try shared.denials(after: lastDenial, limit: Self.chunk)
            guard !denials.isEmpty else { break }
            var group = LogGroup()
            for stored in denials {
                guard stored.number == lastDenial + 1 else { throw LedgerError(.storage, "the cluster's denial log has a gap at \(lastDenial + 1)") }
                let denial = try stored.bytes.withUnsafeBytes { try Denial.decode($0) }
                group.denials.append((stored.number, denial))
                lastDenial = stored.number
            }
            try local.append(group)
        }
        return (head, lastDenial)
    }

    /// Checks that the local copy is a prefix of the shared log: the shared record at the local
    /// head's seq has the same hash. - Throws: naming the seq where they part.
    func checkLocalCopy() throws {
        let head = try local.head()
        guard head.seq > 0 else { return }
        let theirs = try shared.records(after: head.seq - 1, limit: 1).first
        guard let theirs, theirs.seq == head.seq else {
            throw LedgerError(.storage, "the local copy of the log reaches seq \(head.seq), beyond the cluster's log: this node's data directory belongs to another log")
        }
        guard theirs.hash == head.hash else {
            throw LedgerError(.storage, "the local copy of the log disagrees with the cluster's log at seq \(head.seq): this node's data directory belongs to another log")
        }
    }

    /// The manifests the pushes among `records` name that the local log lacks, from the shared log
    /// (each under the seq of the first push in `records` naming it; the local copy keeps them by
    /// digest).
    private func missingManifests(of records: [EventRecord]) throws -> [LogGroup.Manifest] {
        var wanted: [Digest: UInt64] = [:]
        for record in records {
            if case .imagePushed(_, let digest, _, _, _) = record.event, wanted[digest] == nil { wanted[digest] = record.seq }
        }
        let missing = try local.env.read { txn in Set(try wanted.keys.filter { try !txn.contains(local.tables.manifests, $0) }) }
        guard !missing.isEmpty else { return [] }
        var found: [Digest: [UInt8]] = [:]
        for manifest in try shared.manifests(missing.map(\.rawBytes)) {
            let digest = Digest(rawBytes: manifest.digest)
            guard Digest(of: manifest.bytes) == digest else { throw LedgerError(.storage, "the cluster's manifest \(digest) does not hash to its digest") }
            found[digest] = manifest.bytes
        }
        guard found.count == missing.count else {
            throw LedgerError(.storage, "the cluster's log names manifests it does not hold: \(missing.subtracting(found.keys).map(\.description).sorted().joined(separator: ", "))")
        }
        return found.map { LogGroup.Manifest(seq: wanted[$0.key]!, digest: $0.key, bytes: $0.value) }.sorted { $0.seq < $1.seq }
    }
}
