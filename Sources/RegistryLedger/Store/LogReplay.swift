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
    /// Calls `body` with every record from `from` through `through`.
    ///
    /// - Throws: ``LogCorruption`` naming the first seq that does not verify.
    static func forEach(_ txn: Transaction, _ log: Database, from: UInt64 = 1, through: UInt64 = .max,
                        _ body: (EventRecord) throws -> Void) throws {
        try txn.withCursor(log) { c in
            var previous: (seq: UInt64, hash: [UInt8])?
            if from > 1 {
                guard let e = try c.seek(atOrAfter: KeyLayout.u64(from - 1)) else { return }
                let r = try decode(e, expected: from - 1)
                previous = (r.seq, r.hash)
            }
            var entry = try c.seek(atOrAfter: KeyLayout.u64(from))
            var expected = from
            while let e = entry, expected <= through {
                let record = try decode(e, expected: expected)
                let link = previous?.hash ?? EventRecord.genesisHash
                guard record.prevHash == link else { throw corrupt(expected, "its previous hash does not match the record before it") }
                try body(record)
                previous = (record.seq, record.hash)
                expected += 1
                entry = try c.next()
            }
        }
    }

    private static func decode(_ e: Cursor.Entry, expected: UInt64) throws -> EventRecord {
        guard e.key.count == 8, KeyLayout.readU64(e.key) == expected else { throw corrupt(expected, "the log has a gap or a bad key") }
        let record: EventRecord
        do { record = try EventRecord.decode(e.value) } catch { throw corrupt(expected, "\(error)") }
        guard record.seq == expected else { throw corrupt(expected, "the record says seq \(record.seq)") }
        return record
    }

    static func corrupt(_ seq: UInt64, _ why: String) -> LogCorruption {
        LogCorruption(seq: seq, reason: why)
    }
}
