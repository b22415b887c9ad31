import LMDB

/// A point in the log: a seq, or a time (meaning the last event at or before it).
public enum LogPoint: Sendable, Hashable {
    case seq(UInt64)
    /// Microseconds since 1970.
    case time(UInt64)
}

/// One line of a tag's history: a change from the log, or a refused attempt from the denial log.
public enum TagHistoryEntry: Sendable, Hashable {
    case event(EventRecord)
    case denied(Denial)

    public var timestamp: UInt64 {
        switch self {
        case .event(let r): r.timestamp
        case .denied(let d): d.timestamp
        }
    }
}

/// Time travel: state as of any point, at a cost set by the repository's size, not the log's length.
extension Ledger {
    /// The last event at or before `point`: its seq and time.
    ///
    /// - Throws: `InvalidParameterException` when the log is empty, for seq 0, or for a time
    ///   before the first event.
    public func resolve(_ point: LogPoint) throws -> (seq: UInt64, timestamp: UInt64) {
        try readBoth { stxn, txn in
            // The last point the derived state can answer for: the log's head once caught up.
            let head = try AppliedPoint.read(stxn, stateTables).seq
            guard head > 0 else { throw LedgerError.invalid("the log is empty") }
            func time(_ seq: UInt64) throws -> UInt64 {
                let stored = try txn.withCursor(logTables.log) { c in try c.seek(atOrAfter: seq).flatMap { e in
                    try e.key() == seq ? EventRecord.timestamp(of: e.rawValue) : nil
                } }
                guard let stored else { throw LogReplay.corrupt(seq, "the record is missing or short") }
                return stored
            }
            switch point {
            case .seq(let seq):
                guard seq >= 1 else { throw LedgerError.invalid("seq must be at least 1") }
                let s = min(seq, head)
                return (s, try time(s))
            case .time(let t):
                let first = try time(1)
                guard t >= first else {
                    throw LedgerError.invalid("the time is before the first event (seq 1 at \(ISO8601.format(first)))")
                }
                // Timestamps never decrease: binary search for the last seq with time ≤ t.
                var (low, high) = (UInt64(1), head)
                while low < high {
                    let mid = low + (high - low + 1) / 2
                    if try time(mid) <= t { low = mid } else { high = mid - 1 }
                }
                return (low, try time(low))
            }
        }
    }

    /// The registry as it was at `point`: every repository (or only `repository`, with its
    /// organization) and every organization with its policies.
    public func state(at point: LogPoint, repository: RepositoryRef? = nil) throws -> RegistryState {
        let (seq, timestamp) = try resolve(point)
        let refs = try repository.map { [$0] } ?? knownRepositories()
        let orgs: [(RegistryId, String)]
        if let repository {
            orgs = repository.name.namespace.map { [(repository.registryId, $0)] } ?? []
        } else {
            orgs = try knownOrganizations()
        }
        return try state(seq: seq, timestamp: timestamp, repositories: refs, organizations: orgs)
    }

    /// The given repositories and organizations as they were after event `seq` (those that
    /// did not exist then are left out).
    func state(seq: UInt64, timestamp: UInt64, repositories refs: [RepositoryRef],
               organizations orgs: [(RegistryId, String)]) throws -> RegistryState {
        var state = RegistryState(seq: seq, timestamp: timestamp, repositories: [], organizations: [])
        for ref in refs.sorted() {
            if let repo = try repositoryState(ref, at: seq) { state.repositories.append(repo) }
        }
        for (registry, org) in orgs.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) {
            if let o = try organizationState(registry, org, at: seq) { state.organizations.append(o) }
        }
        return state
    }

    /// Every change of one tag — pushes, moves, removals, flags, deletion of its repository —
    /// and every refused attempt on it, oldest first. Cost proportional to the tag's history.
    public func tagHistory(_ ref: RepositoryRef, tag: String) throws -> [TagHistoryEntry] {
        _ = try Tag(tag)
        let tagOfHistory = (historyId: HistoryIdKey.of(ref), tag: tag)
        return try readBoth { txn, ltxn in
            let dbs = try stateTables.current(txn)
            var entries: [TagHistoryEntry] = []
            for seq in try seqs(txn, dbs.tagEvents, of: tagOfHistory) { entries.append(.event(try record(ltxn, seq))) }
            var denials: [Denial] = []
            for n in try seqs(txn, stateTables.tagDenials, of: tagOfHistory) {
                if let denial = try ltxn.get(logTables.denials, n) { denials.append(denial) }
            }
            // A denial happened after the event that was the head when it was refused.
            var merged: [TagHistoryEntry] = []
            var pending = denials[...]
            for entry in entries {
                if case .event(let r) = entry {
                    while let d = pending.first, d.atSeq < r.seq { merged.append(.denied(d)); pending = pending.dropFirst() }
                }
                merged.append(entry)
            }
            merged += pending.map { .denied($0) }
            return merged
        }
    }

    // MARK: pieces

    /// The state of `ref` after event `seq` (nil when it did not exist then), from the temporal
    /// index (``Versions``): a cost set by the repository's size, not the log's length.
    func repositoryState(_ ref: RepositoryRef, at seq: UInt64) throws -> RepositoryState? {
        try versionedState(ref, at: seq)?.state
    }

    private func versionedState(_ ref: RepositoryRef, at seq: UInt64) throws -> (record: RepoRecord, state: RepositoryState)? {
        do {
            return try stateEnv.read { txn in try Versions.state(ref, at: seq, txn, try stateTables.current(txn)) }
        } catch let error where error.isMalformedData {
            throw LedgerError(.storage, "the temporal index of \(ref) is damaged: \(error)")
        }
    }

    /// Writes `ref` as of `seq` (its record and listing entries) into the scratch space and lends a
    /// reader over it to `body`. `body` gets nil when the repository did not exist then.
    func withRepository<R>(_ ref: RepositoryRef, at seq: UInt64, _ body: (ProjectionReader) throws -> R?) throws -> R? {
        guard let (record, state) = try versionedState(ref, at: seq) else { return nil }
        return try scratch.withEmptyGeneration { stxn, sdbs in
            let store = LMDBProjections(txn: stxn, dbs: sdbs)
            try store.putRepository(ref, record)
            try stxn.withCursor(sdbs.listing.raw) { cursor in
                try ListingEntries.forEach(repoId: record.repoId, images: state.images.lazy.map { ($0.digest, $0) }) { key, status in
                    var k = BinaryWriter(capacity: 64)
                    key(&k)
                    try k.bytes.withUnsafeBytes { k in try withUnsafeBytes(of: status) { try cursor.put(rawKey: k, rawValue: $0, flags: .append) } }
                }
            }
            return try body(store.reader)
        }
    }

    /// Organization `org` after event `seq`, or nil when it was not known then: from the
    /// temporal index, at a cost set by its policies, not by its repositories.
    func organizationState(_ registry: RegistryId, _ org: String, at seq: UInt64) throws -> OrganizationState? {
        do {
            let policies = try stateEnv.read { txn in
                try Versions.organizationPolicies(registry, org, at: seq, txn, try stateTables.current(txn))
            }
            return policies.map { OrganizationState(registryId: registry, name: org, policies: $0) }
        } catch let error where error.isMalformedData {
            throw LedgerError(.storage, "the temporal index of organization \(org) is damaged: \(error)")
        }
    }

    /// Every repository that has ever had an event.
    func knownRepositories() throws -> [RepositoryRef] {
        try stateEnv.read { txn in
            let dbs = try stateTables.current(txn)
            var refs: [RepositoryRef] = []
            try txn.forEach(dbs.repoHistory) { e in
                refs.append(try e.value())
                return true
            }
            return refs
        }
    }

    /// Every organization that has ever been known.
    func knownOrganizations() throws -> [(RegistryId, String)] {
        try stateEnv.read { txn in
            var orgs: [(RegistryId, String)] = []
            try txn.forEach(try stateTables.current(txn).organizations) { e in
                orgs.append(try e.key())
                return true
            }
            return orgs
        }
    }

    /// The seqs of one tag's rows in `table` (the tag's events, or its denials), ascending.
    func seqs<V>(_ txn: ReadTransaction, _ table: Table<ThenSeq<HistoryTagKey>, V>, of tag: (historyId: [UInt8], tag: String)) throws -> [UInt64] {
        var out: [UInt64] = []
        try txn.forEach(table, prefix: ThenSeq<HistoryTagKey>.prefix(tag)) { e in
            out.append(try e.key().seq)
            return true
        }
        return out
    }

    /// The seqs of one repository's events within [from, through], at most `limit`, from its
    /// ``SeqRun`` rows in `repoEvents`. - Throws: `storage` for a malformed row.
    func repositorySeqs(_ txn: ReadTransaction, _ dbs: ProjectionTables, historyId hid: [UInt8],
                        from: UInt64 = 1, through: UInt64 = .max, limit: Int = .max) throws -> [UInt64] {
        typealias Key = ThenSeq<HistoryIdKey>
        var out: [UInt64] = []
        do {
            try txn.withCursor(dbs.repoEvents) { c in
                // The row that holds `from` starts at it or before it.
                let start = Key.encode((hid, from))
                var entry = try c.seek(atOrAfterBytes: start)
                func startsAtFrom(_ e: Table<Key, RawBytes>.Entry) throws -> Bool { try e.keyHasPrefix(hid) && e.key().seq == from }
                if try !(entry.map(startsAtFrom) ?? false) {
                    let before = try c.seek(beforeBytes: start)
                    entry = before?.keyHasPrefix(hid) == true ? before : try c.seek(atOrAfterBytes: start)
                }
                while out.count < limit, let e = entry, e.keyHasPrefix(hid) {
                    let first = try e.key().seq
                    guard first <= through else { return }
                    for seq in try SeqRun.decode(first: first, e.rawValue) where seq >= from {
                        guard seq <= through, out.count < limit else { return }
                        out.append(seq)
                    }
                    entry = try c.next()
                }
            }
        } catch let error where error.isMalformedData {
            throw LedgerError(.storage, "the event index of a repository is damaged: \(error)")
        }
        return out
    }

    /// The record at `seq` in the log read by `txn`, its hash verified.
    func record(_ txn: ReadTransaction, _ seq: UInt64) throws -> EventRecord {
        do {
            guard let record = try txn.get(logTables.log, seq) else { throw LogReplay.corrupt(seq, "the record is missing") }
            return record
        } catch let error as DecodingError {
            throw LogReplay.corrupt(seq, "\(error)")
        }
    }
}
