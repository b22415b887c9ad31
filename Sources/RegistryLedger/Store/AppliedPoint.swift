import LMDB

/// How far the derived state follows the log: the last record applied (seq and hash, so that a
/// state built from another log is recognised) and the last denial indexed. Written in every
/// derived-state commit.
struct AppliedPoint: Equatable, Sendable {
    var seq: UInt64 = 0
    var hash: [UInt8] = EventRecord.genesisHash
    var denial: UInt64 = 0

    /// The point recorded in `txn`; the empty point when none is (a new derived state).
    static func read(_ txn: some ReadingTransaction, _ tables: StateTables) throws -> AppliedPoint {
        do { return try txn.get(tables.applied) ?? AppliedPoint() } catch let error as DecodingError {
            throw LedgerError(.storageFault, "the derived state's applied point is malformed: \(error)")
        }
    }

    func write(_ txn: WriteTransaction, _ tables: StateTables) throws {
        try txn.put(tables.applied, self)
    }
}

/// seq(8) hash(32) denial(8).
extension AppliedPoint: WriterCodec {
    static func encode(_ point: AppliedPoint, into w: inout BinaryWriter) { w.u64(point.seq); w.raw(point.hash); w.u64(point.denial) }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> AppliedPoint {
        var r = BinaryReader(bytes)
        let point = AppliedPoint(seq: try r.u64(), hash: try r.raw(32), denial: try r.u64())
        try r.end()
        return point
    }
}

/// Keeps the derived state up with the log: folds records and indexes denials into a state
/// transaction. Apply is total: an event never fails to apply to the state it follows.
enum DerivedState {
    /// Indexes `denials` by their repository and tag (the refused attempts `tagHistory` shows).
    static func index(denials: [(number: UInt64, denial: Denial)], _ txn: WriteTransaction, _ tables: StateTables) throws {
        for (number, denial) in denials {
            if let repository = denial.repository, let tag = denial.tag {
                try txn.put(tables.tagDenials, ((HistoryIdKey.of(repository), tag), number), ())
            }
        }
    }

    /// Applies the log's records after `point` (through `head`) and indexes its later denials,
    /// `chunk` records a state transaction; returns the point reached. Every record is verified
    /// against the chain as it is read.
    @discardableResult
    static func catchUp(from point: AppliedPoint, state: Environment, _ stateTables: StateTables,
                        log: Environment, _ logTables: LogTables, through head: UInt64, chunk: UInt64 = 10_000) throws -> AppliedPoint {
        var point = point
        while point.seq < head {
            let through = min(head, point.seq + chunk)
            point = try state.write { txn in
                var reached = point
                let writer = ProjectionWriter(txn: txn, dbs: try stateTables.current(txn))
                try log.read { ltxn in
                    try LogReplay.forEach(ltxn, logTables.log, from: point.seq + 1, through: through) { record in
                        try writer.apply(record)
                        reached.seq = record.seq
                        reached.hash = record.hash
                    }
                }
                guard reached.seq == through else { throw LogReplay.corrupt(reached.seq + 1, "the record is missing") }
                try reached.write(txn, stateTables)
                return reached
            }
        }
        let denials = try log.read { ltxn in try Self.denials(ltxn, logTables, after: point.denial) }
        if !denials.isEmpty {
            point = try state.write { txn in
                try index(denials: denials, txn, stateTables)
                var reached = point
                reached.denial = denials.last!.number
                try reached.write(txn, stateTables)
                return reached
            }
        }
        return point
    }

    /// The denials numbered after `after`.
    static func denials(_ ltxn: ReadTransaction, _ logTables: LogTables, after: UInt64) throws -> [(number: UInt64, denial: Denial)] {
        var out: [(number: UInt64, denial: Denial)] = []
        try ltxn.forEach(logTables.denials, from: BigEndianU64.encode(after + 1)) { e in
            out.append((try e.key(), try e.value()))
            return true
        }
        return out
    }
}
