import LMDB

/// The log folded into derived state held in memory, on two threads: every event applies, in
/// log order, to the half its repository (or, for an organization's policy, its organization)
/// hashes to, so each repository, history and policy scope lives in exactly one half. Rebuild
/// and verification fold so; ``write(into:_:)`` and ``stateDigest()`` merge the halves' rows in
/// key order, so the result is byte for byte what one fold (or ``LMDBProjections``) yields.
///
/// What crosses halves is settled by the thread that reads the log: repository ids (given out in
/// creation order over the whole log) are assigned as it dispatches, and the organizations and
/// manifests both halves noted are merged (the earlier seq) before rows are written.
final class LogFold {
    /// The halves. `parts[0]` is applied by the dispatching thread, `parts[1]` by the caller's.
    let parts: [MemoryProjections]
    /// Repository creations applied so far: the last repository id given out.
    private(set) var lastRepositoryId: UInt64 = 0

    private init() { parts = [MemoryProjections(), MemoryProjections()] }

    /// What the dispatching thread hands to the caller's.
    private enum Item {
        /// A chunk of records as the reader made it, the positions in it of `parts[1]`'s
        /// records in the order they apply (``ApplyOrder``) and the ids of the repositories those
        /// create, in log order; `through` is the chunk's last seq. The chunk is shared, not copied.
        case records([EventRecord], positions: [Int32], repositoryIds: [UInt64], through: UInt64)
        case failed(any Error)
    }

    /// Reads, verifies and folds the log through `head`, applying the records through
    /// `applying` (verification walks the whole chain but compares the state at the seq the
    /// stored state reflects), and with `manifests` checks the manifests stored at the seqs read.
    /// `progress` hears the last seq folded every `chunk` records, on the caller's thread.
    ///
    /// - Throws: ``LogCorruption`` naming the first seq that does not verify, or the error of a
    ///   record that does not apply (a log that contradicts itself).
    static func fold(_ env: Environment, _ log: Table<BigEndianU64, StoredRecord>, through head: UInt64, applying: UInt64? = nil,
                     chunk: UInt64 = 4096, checking manifests: ManifestCheck? = nil, progress: (UInt64) -> Void = { _ in }) throws -> LogFold {
        let fold = LogFold()
        let applyThrough = min(applying ?? head, head)
        // Until `pipeline` returns, the dispatching thread alone uses `parts[0]` and
        // `lastRepositoryId`, and this thread alone `parts[1]`.
        let shared = Unchecked(value: fold)
        try Handoff<Item>.pipeline(capacity: 8, name: "regledger-fold", produce: { handoff in
            let fold = shared.value
            let first = ProjectionWriter(fold.parts[0])
            do {
                // A chunk's records go to the other thread before this one applies its own half;
                // the reader hands over every record before a bad one, so all of them are folded.
                try LogReplay.forEachChunkConcurrently(env, log, through: head, chunk: chunk, checking: manifests) { chunk in
                    var halves: [[ApplyOrder.Entry]] = [[], []]
                    var ids: [UInt64] = []
                    for i in chunk.indices where chunk[i].seq <= applyThrough {
                        let (half, group) = ApplyOrder.place(chunk[i].event)
                        if case .repositoryCreated = chunk[i].event {
                            fold.lastRepositoryId += 1
                            if half == 0 { fold.parts[0].assignRepositoryIds([fold.lastRepositoryId]) } else { ids.append(fold.lastRepositoryId) }
                        }
                        halves[half].append(ApplyOrder.Entry(group: group, position: Int32(i)))
                    }
                    handoff.put(.records(chunk, positions: ApplyOrder.grouped(&halves[1]), repositoryIds: ids, through: chunk.last?.seq ?? 0))
                    for position in ApplyOrder.grouped(&halves[0]) { try first.apply(chunk[Int(position)]) }
                    if handoff.isCancelled { throw CancellationError() }
                }
            } catch {
                handoff.put(.failed(error))
            }
        }, consume: { handoff in
            let second = ProjectionWriter(fold.parts[1])
            while let item = handoff.take() {
                switch item {
                case .records(let records, let positions, let ids, let through):
                    fold.parts[1].assignRepositoryIds(ids)
                    for position in positions { try second.apply(records[Int(position)]) }
                    if through > 0 { progress(through) }
                case .failed(let error):
                    throw error
                }
            }
        })
        fold.mergeAcrossHalves()
        return fold
    }

    /// Frees the folded state, both halves at once on two threads (freeing a 1M-event fold took
    /// a fifth of a second on one). The fold holds nothing afterwards.
    func free() {
        let second = Unchecked(value: parts[1])
        Handoff<Never>.pipeline(capacity: 1, name: "regledger-free", produce: { _ in second.value.removeAll() }, consume: { _ in
            parts[0].removeAll()
        })
    }

    /// Both halves may have noted an organization or a manifest (each from its own
    /// repositories): the earlier seq is when it became known. `parts[0]` keeps them all.
    private func mergeAcrossHalves() {
        parts[0].mergeOrganizations(parts[1].takeOrganizations())
        parts[0].mergeManifestNotes(parts[1].takeManifestNotes())
    }
}

// MARK: rows in key order

extension LogFold {
    typealias TableName = ProjectionTables.Name

    /// Stores every row into `dbs`, whose tables must be empty, appending each table in key
    /// order. Returns the state digest.
    func write(into txn: WriteTransaction, _ dbs: ProjectionTables) throws -> StateDigest {
        try digest(storingInto: (txn, dbs))
    }

    /// The state digest the folded projections would have.
    func stateDigest() throws -> StateDigest { try digest(storingInto: nil) }

    /// Which of the two row-producing threads makes a table's rows: about half the work each (the
    /// repositories' images and listing, which share their order, and the manifests' seqs on one;
    /// their tags, the temporal index and the history indexes on the other).
    private static func producer(of table: TableName) -> Int {
        switch table {
        case .tags, .contentVersions, .tagEvents, .repoEvents, .repoVersions: 1
        default: 0
        }
    }

    /// Rows are sorted, encoded and digested on two threads, each making its tables one after the
    /// other, while this one stores them (when `target` is given) as they come: tables are
    /// separate B-trees, so only each table's own rows need to come in key order.
    private func digest(storingInto target: (txn: WriteTransaction, dbs: ProjectionTables)?) throws -> StateDigest {
        // Until it returns, the producers only read this fold; this thread only writes `txn`.
        let fold = Unchecked(value: self)
        let digests = try Handoff<ChunkingRowSink.Item>.pipeline(capacity: 8, name: "regledger-rows", producers: 2, produce: { producer, handoff in
            var sink = ChunkingRowSink(handoff)
            do {
                for table in TableName.allCases where Self.producer(of: table) == producer && !handoff.isCancelled {
                    try fold.value.rows(of: table, into: &sink)
                    sink.endTable(table)
                }
            } catch {
                handoff.put(.failed(error))
            }
        }, consume: { handoff in
            var digests: [TableName: [UInt8]] = [:]
            while let item = handoff.take() {
                switch item {
                case .rows(let table, let rows):
                    guard let (txn, dbs) = target else { continue }
                    try txn.withCursor(dbs[raw: table]) { cursor in
                        try rows.forEachRow { key, value in try cursor.put(rawKey: key, rawValue: value, flags: .append) }
                    }
                case .tableEnd(let table, let digest):
                    digests[table] = digest
                case .failed(let error):
                    throw error
                }
            }
            return digests
        })
        return StateDigest(tables: try TableName.allCases.map { table in
            guard let digest = digests[table] else { throw LedgerError(.storage, "the rows of \(table) were not all made") }
            return digest
        })
    }

    /// Every row of `table` in key order, the halves' merged: each unit a table's rows come in
    /// (a repository, a history, a scope, a policy) lives in one half.
    func rows(of table: TableName, into sink: inout some RowSink) throws {
        switch table {
        case .repos:
            let keyed = parts.flatMap { part in part.repositories.map { (key: RepositoryKey.encode($0.ref), record: $0.record) } }
            for (key, record) in keyed.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                try sink.row(table, key: key, value: record.encoded())
            }
        case .images, .tags, .listing, .blobs, .referrers:
            for (id, part) in units(\.contents.keys) { try part.rowsOfContents(id, table, into: &sink) }
        case .policies:
            for (scope, part) in sortedScopes(\.policies.keys) { try part.rowsOfPolicies(scope, into: &sink) }
        case .policyIndex:
            let all = parts.flatMap { $0.policyIndex.map { (uuid: $0.key, at: $0.value) } }
            for (uuid, at) in Self.laterCreationPerUUID(all) {
                try sink.row(table, key: UTF8Text.encode(uuid), value: ThenSeq<PolicyScopeKey>.encode((at.scope, at.seq)))
            }
        case .policyPatterns:
            for (key, uuid) in parts.flatMap({ $0.patternRows(of: nil) }).sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                try sink.row(table, key: key, value: Array(uuid.utf8))
            }
        case .organizations:
            for (key, seq) in parts[0].organizations.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                try sink.row(table, key: key, value: BigEndianU64.encode(seq))
            }
        case .manifestSeqs:
            for (digest, seq) in parts[0].manifestSeqRows() {
                try sink.row(table, key: { DigestKey.encode(digest, into: &$0) }, value: { $0.u64(seq) })
            }
        case .counters:
            if lastRepositoryId > 0 { try sink.row(table, key: UTF8Text.encode(ProjectionTables.nextRepoIdName), value: BigEndianU64.encode(lastRepositoryId)) }
        case .repoEvents:
            for h in sortedHistories() {
                for start in stride(from: 0, to: h.seqs.count, by: SeqRun.capacity) {
                    let run = h.seqs[start..<min(start + SeqRun.capacity, h.seqs.count)]
                    try sink.row(table, key: { ThenSeq<HistoryIdKey>.encode((h.id, run.first!), into: &$0) }, value: { SeqRun.encode(run, into: &$0) })
                }
            }
        case .tagEvents:
            for h in sortedHistories() {
                // A stable sort by tag keeps each tag's seqs in order; a row indexed twice is one row.
                var last: (tag: String, seq: UInt64)?
                let byTag = h.tagEvents.map { (order: TagOrder(tag: $0.tag), seq: $0.seq) }.sorted { $0.order < $1.order }
                for (order, seq) in byTag where last.map({ $0.tag != order.tag || $0.seq != seq }) ?? true {
                    try sink.row(table, key: { ThenSeq<HistoryTagKey>.encode(((h.id, order.tag), seq), into: &$0) }, value: { _ in })
                    last = (order.tag, seq)
                }
            }
        case .repoHistory:
            for h in sortedHistories() {
                if let key = h.repositoryKey { try sink.row(table, key: h.id, value: key) }
            }
        case .repoVersions:
            for h in sortedHistories() {
                for version in h.versions { try sink.row(table, key: { ThenSeq<HistoryIdKey>.encode((h.id, version.seq), into: &$0) }, value: { $0.raw(version.value) }) }
            }
        case .organizationVersions:
            for (scope, part) in sortedScopes(\.organizationVersions.keys) {
                // Versions came in seq order: by creation seq, then seq, is key order.
                for v in part.organizationVersions[scope]!.sorted(by: { ($0.createdSeq, $0.seq) < ($1.createdSeq, $1.seq) }) {
                    try sink.row(table, key: ThenSeq<ThenSeq<PolicyScopeKey>>.encode(((scope, v.createdSeq), v.seq)), value: v.value)
                }
            }
        case .contentVersions:
            for (id, part) in units(\.contentVersions.keys) {
                try part.contentVersions[id]!.forEachRow { key, value in try sink.row(table, key: key, value: { $0.raw(value) }) }
            }
        }
    }

    /// Every repository id the halves hold under `ids`, in order, with the half holding it.
    private func units(_ ids: KeyPath<MemoryProjections, Dictionary<UInt64, some Any>.Keys>) -> [(UInt64, MemoryProjections)] {
        parts.flatMap { part in part[keyPath: ids].map { ($0, part) } }.sorted { $0.0 < $1.0 }
    }

    /// Every scope the halves hold under `scopes`, in key order, with the half holding it.
    private func sortedScopes(_ scopes: KeyPath<MemoryProjections, Dictionary<PolicyScope, some Any>.Keys>) -> [(PolicyScope, MemoryProjections)] {
        parts.flatMap { part in part[keyPath: scopes].map { (PolicyScopeKey.encode($0), $0, part) } }
            .sorted { $0.0.lexicographicallyPrecedes($1.0) }.map { ($0.1, $0.2) }
    }

    private func sortedHistories() -> [MemoryProjections.History] {
        parts.flatMap(\.histories.values).sorted { $0.id.lexicographicallyPrecedes($1.id) }
    }

    /// The policy index's entries in key order. A uuid in two halves (two scopes: never made by
    /// the store, only by a crafted log) keeps the later creation, as one fold's index would.
    static func laterCreationPerUUID(_ all: [(uuid: String, at: (scope: PolicyScope, seq: UInt64))])
        -> [(uuid: String, at: (scope: PolicyScope, seq: UInt64))] {
        var result: [(uuid: String, at: (scope: PolicyScope, seq: UInt64))] = []
        for entry in all.sorted(by: { ($0.uuid.utf8.lexicographicallyPrecedes($1.uuid.utf8)) || ($0.uuid == $1.uuid && $0.at.seq < $1.at.seq) }) {
            if result.last?.uuid == entry.uuid { result[result.count - 1] = entry } else { result.append(entry) }
        }
        return result
    }
}
