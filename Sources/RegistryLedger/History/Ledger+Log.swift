import LMDB

extension Ledger {
    /// Calls `body` with every event (of `repository` only, when given) whose time lies in
    /// [`since`, `until`] (µs), in seq order, verifying each record's hash and chain link. Reads
    /// in chunks of `chunkSize` records, each in its own short read transaction, so a long walk
    /// never pins old pages.
    public func forEachEvent(repository: RepositoryRef? = nil, since: UInt64? = nil, until: UInt64? = nil,
                             chunkSize: UInt64 = 10_000, _ body: (EventRecord) throws -> Void) throws {
        let head = try headSeq()
        guard head > 0 else { return }
        var from: UInt64 = 1
        if let since, since > 0, let before = try? resolve(.time(since - 1)) { from = before.seq + 1 }
        let through = until.map { u in (try? resolve(.time(u)))?.seq ?? 0 } ?? head
        guard from <= through else { return }
        if let repository {
            let hid = HistoryIdKey.of(repository)
            var next = from
            while next <= through {
                let batch = try readBoth { stxn, ltxn in
                    let dbs = try stateTables.current(stxn)
                    let seqs = try repositorySeqs(stxn, dbs, historyId: hid, from: next, through: through, limit: Int(chunkSize))
                    return try seqs.map { try record(ltxn, $0) }
                }
                for record in batch { try body(record) }
                guard let last = batch.last, last.seq < through, batch.count == Int(chunkSize) else { return }
                next = last.seq + 1
            }
            return
        }
        try forEachEvent(seqs: from...through, chunkSize: chunkSize, body)
    }

    /// Calls `body` with the records of `seqs`, read in chunks of `chunkSize` (each in its own
    /// read transaction), verified against the chain.
    func forEachEvent(seqs: ClosedRange<UInt64>, chunkSize: UInt64 = 10_000, _ body: (EventRecord) throws -> Void) throws {
        var next = seqs.lowerBound
        while next <= seqs.upperBound {
            let end = min(seqs.upperBound, next + chunkSize - 1)
            let batch = try logEnv.read { txn in
                var out: [EventRecord] = []
                try LogReplay.forEach(txn, logTables.log, from: next, through: end) { out.append($0) }
                return out
            }
            for record in batch { try body(record) }
            next = end + 1
        }
    }
}
