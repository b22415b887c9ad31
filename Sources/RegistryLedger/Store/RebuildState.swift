import LMDB

/// Derived state made anew from the log: the log folds in memory (``LogFold``: read and verified
/// a chunk ahead on one thread, applied on two), each table is then written once, in key order,
/// into the spare projection generation, and one commit switches to it.
///
/// The fold is made before the write transaction and kept: LMDB runs a transaction again after
/// growing a full map, and only the writing needs doing again.
enum RebuildState {
    /// The log folded through `head`, for ``run(_:_:fold:log:_:through:lastDenial:)``;
    /// `progress` hears (folded, head) every 100,000 events and at the end.
    /// - Throws: ``LogCorruption`` naming the first bad seq.
    static func fold(log: Environment, _ logTables: LogTables, through head: LogHead,
                     progress: ((UInt64, UInt64) -> Void)? = nil) throws -> LogFold {
        var reported: UInt64 = 0
        return try LogFold.fold(log, logTables.log, through: head.seq) { seq in
            if seq / 100_000 > reported / 100_000 || seq == head.seq { progress?(seq, head.seq) }
            reported = seq
        }
    }

    /// Rebuilds in `txn` from `fold`, the log folded through `head` (and its denials through
    /// `lastDenial`).
    /// - Returns: the state digest of the new projections.
    static func run(_ txn: WriteTransaction, _ tables: StateTables, fold: LogFold, log: Environment, _ logTables: LogTables,
                    through head: LogHead, lastDenial: UInt64) throws -> String {
        let current = try tables.current(txn)
        let targetIndex = tables.generations[0].repos == current.repos ? 1 : 0
        let target = tables.generations[targetIndex]
        for name in ProjectionTables.Name.allCases { try txn.clear(target[raw: name]) }
        let digest = try fold.write(into: txn, target).hex
        try txn.clear(tables.tagDenials)
        let denials = try log.read { ltxn in try DerivedState.denials(ltxn, logTables, after: 0) }.filter { $0.number <= lastDenial }
        try DerivedState.index(denials: denials, txn, tables)
        try AppliedPoint(seq: head.seq, hash: head.hash, denial: lastDenial).write(txn, tables)
        try txn.put(tables.generation, UInt8(targetIndex))
        try txn.put(tables.projectionFormat, Ledger.projectionFormat)
        return digest
    }
}
