import LMDB

/// How far the derived state follows the log: the last record applied (seq and hash, so that a
/// state built from another log is recognised) and the last denial indexed. Written in every
/// derived-state commit.
struct AppliedPoint: Equatable, Sendable {
    var seq: UInt64 = 0
    var hash: [UInt8] = EventRecord.genesisHash
    var denial: UInt64 = 0

    static let key = Array("applied".utf8)

    /// seq(8) hash(32) denial(8).
    func encoded() -> [UInt8] { KeyLayout.u64(seq) + hash + KeyLayout.u64(denial) }

    /// The point recorded in `txn`; the empty point when none is (a new derived state).
    static func read(_ txn: Transaction, _ tables: StateTables) throws -> AppliedPoint {
        try txn.withValue(tables.meta, key: key) { v in
            guard let v else { return AppliedPoint() }
            guard v.count == 48 else { throw LedgerError(.storageFault, "the derived state's applied point is malformed") }
            return AppliedPoint(seq: KeyLayout.readU64(v), hash: Array(v[8..<40]), denial: KeyLayout.readU64(v, at: 40))
        }
    }

    func write(_ txn: Transaction, _ tables: StateTables) throws {
        try txn.put(tables.meta, key: Self.key, value: encoded())
    }
}

/// Keeps the derived state up with the log: folds records and indexes denials into a state
/// transaction. Apply is total: an event never fails to apply to the state it follows.
enum DerivedState {
    /// Indexes `denials` by their repository and tag (the refused attempts `tagHistory` shows).
    static func index(denials: [(number: UInt64, denial: Denial)], _ txn: Transaction, _ tables: StateTables) throws {
        for (number, denial) in denials {
            if let repository = denial.repository, let tag = denial.tag {
                try txn.put(tables.tagDenials, key: HistoryIndex.tagPrefix(repository, tag) + KeyLayout.u64(number), value: [])
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
    static func denials(_ ltxn: Transaction, _ logTables: LogTables, after: UInt64) throws -> [(number: UInt64, denial: Denial)] {
        try ltxn.withCursor(logTables.denials) { c in
            var out: [(number: UInt64, denial: Denial)] = []
            var entry = try c.seek(atOrAfter: KeyLayout.u64(after + 1))
            while let e = entry {
                out.append((KeyLayout.readU64(e.key), try Denial.decode(e.value)))
                entry = try c.next()
            }
            return out
        }
    }
}
