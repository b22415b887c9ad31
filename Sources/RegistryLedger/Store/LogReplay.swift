import Foundation
import LMDB

/// The log failed verification at `seq`: a record is missing, malformed, out of order, or its
/// hash or its link to the record before does not verify.
public struct LogCorruption: Error, Sendable, CustomStringConvertible {
    public let seq: UInt64
    public let reason: String
    public var description: String { "log verification failed at seq \(seq): \(reason)" }
}

/// Walks the log in seq order, checking each record's hash and its link to the one before.
enum LogReplay {
    /// Calls `body` with every record from `from` through `through`. With `forReplay`, records
    /// carry only what applying them needs (``EventRecord/decodeForReplay(_:)``): the hash and
    /// chain link are checked all the same; `cache` carries decoded repositories from one walk to
    /// the next.
    ///
    /// - Throws: ``LogCorruption`` naming the first seq that does not verify.
    static func forEach(_ txn: ReadTransaction, _ log: Table<BigEndianU64, StoredRecord>, from: UInt64 = 1, through: UInt64 = .max, forReplay: Bool = false,
                        cache given: DecodingCache? = nil, _ body: (EventRecord) throws -> Void) throws {
        let cache = forReplay ? given ?? DecodingCache() : nil
        try txn.withCursor(log) { c in
            var link = EventRecord.genesisHash.withUnsafeBytes { Digest(rawPointer: $0) }
            if from > 1 {
                guard let e = try c.seek(atOrAfter: from - 1) else { return }
                _ = try decode(e, expected: from - 1, forReplay: true, cache: cache)
                link = EventRecord.hash(ofStored: e.rawValue)
            }
            var entry = try c.seek(atOrAfter: from)
            var expected = from
            while let e = entry, expected <= through {
                let record = try decode(e, expected: expected, forReplay: forReplay, cache: cache)
                guard EventRecord.previousHash(ofStored: e.rawValue) == link else {
                    throw corrupt(expected, "its previous hash does not match the record before it")
                }
                try body(record)
                link = EventRecord.hash(ofStored: e.rawValue)
                expected += 1
                entry = try c.next()
            }
        }
    }

    private static func decode(_ e: Table<BigEndianU64, StoredRecord>.Entry, expected: UInt64, forReplay: Bool,
                               cache: DecodingCache?) throws -> EventRecord {
        guard (try? e.key()) == expected else { throw corrupt(expected, "the log has a gap or a bad key") }
        let record: EventRecord
        do { record = try forReplay ? EventRecord.decodeForReplay(e.rawValue, cache: cache) : e.value() } catch {
            throw corrupt(expected, "\(error)")
        }
        guard record.seq == expected else { throw corrupt(expected, "the record says seq \(record.seq)") }
        return record
    }

    static func corrupt(_ seq: UInt64, _ why: String) -> LogCorruption {
        LogCorruption(seq: seq, reason: why)
    }
}

/// What the replay reader thread hands to the applying thread.
private enum ReplayChunk {
    case records([EventRecord])
    case failed(any Error)
}

extension LogReplay {
    /// Like ``forEach(_:_:from:through:forReplay:cache:_:)`` over `1...through` with `forReplay`,
    /// in chunks of `chunk` records, with reading, decoding and verifying done on a thread of its
    /// own, a chunk ahead of `body`: replay's two halves on two cores. The reader uses its own
    /// short read transactions, so `body` may write. Every record before a bad one reaches
    /// `body` (the last chunk then ends before it). Returns once the reader has stopped, also on
    /// error.
    ///
    /// With `manifests`, the reader also checks the manifests stored at each chunk's seqs.
    ///
    /// - Throws: ``LogCorruption`` naming the first seq that does not verify or is missing, or
    ///   what `body` throws.
    static func forEachChunkConcurrently(_ env: Environment, _ log: Table<BigEndianU64, StoredRecord>, through head: UInt64, chunk: UInt64 = 4096,
                                         checking manifests: ManifestCheck? = nil, _ body: ([EventRecord]) throws -> Void) throws {
        try Handoff<ReplayChunk>.pipeline(name: "regledger-replay-reader", produce: { handoff in
            let cache = DecodingCache()
            var from: UInt64 = 1
            while from <= head, !handoff.isCancelled {
                let through = min(head, from + chunk - 1)
                var records: [EventRecord] = []
                records.reserveCapacity(Int(through - from + 1))
                do {
                    try env.read { txn in
                        // The manifests of the records that verified are checked also when one does not.
                        let walked = Result { try forEach(txn, log, from: from, through: through, forReplay: true, cache: cache) { records.append($0) } }
                        try manifests?.check(txn, records)
                        try walked.get()
                    }
                    guard records.last?.seq == through else { throw corrupt((records.last?.seq ?? from - 1) + 1, "the record is missing") }
                } catch {
                    if !records.isEmpty { handoff.put(.records(records)) }
                    return handoff.put(.failed(error))
                }
                handoff.put(.records(records))
                from = through + 1
            }
        }, consume: { handoff in
            while let chunk = handoff.take() {
                switch chunk {
                case .records(let records): try body(records)
                case .failed(let error): throw error
                }
            }
        })
    }
}
