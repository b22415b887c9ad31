import LMDB

/// Projected state held in memory while rebuild or verification folds the whole log: no B-tree
/// work per event. ``write(into:_:digest:)`` then stores every row once, in key order, with
/// appends, and feeds the state digest on the way. Checkpoints go to a sink as they are taken,
/// so memory holds only current state and the history indexes' seqs.
///
/// Rows are laid out by the same ``KeyLayout`` functions and record encoders as
/// ``LMDBProjections``; the rebuild tests compare the two byte for byte (state digests).
final class MemoryProjections: ProjectionStore {
    typealias Table = ProjectionDatabases.Table

    /// One repository's images, tags and listing entries: in memory, over the rows of a
    /// checkpoint when time travel restored one (``base``). A base row is hidden by an entry
    /// here for the same key, or by its key in a `removed` set.
    final class Contents {
        var images: [Digest: ImageRecord] = [:]
        var tags: [String: TagRecord] = [:]
        /// Listing entries grouped by image, so that key order needs only the digests sorted.
        var listing: [Digest: ListingEntries] = [:]
        var base: CheckpointContents?
        var removedImages: Set<Digest> = []
        var removedTags: Set<String> = []
        var removedListing: Set<Digest> = []

        func image(_ digest: Digest) throws -> ImageRecord? {
            if let image = images[digest] { return image }
            guard let base, !removedImages.contains(digest) else { return nil }
            return try base.image(digest)
        }

        func tag(_ name: String) throws -> TagRecord? {
            if let tag = tags[name] { return tag }
            guard let base, !removedTags.contains(name) else { return nil }
            return try base.tag(name)
        }

        func listingEntries(_ digest: Digest) throws -> ListingEntries {
            if let entries = listing[digest] { return entries }
            guard let base, !removedListing.contains(digest) else { return ListingEntries() }
            return try base.listingEntries(digest) ?? ListingEntries()
        }

        func setListing(_ digest: Digest, _ entries: ListingEntries) {
            if entries.isEmpty {
                listing[digest] = nil
                if base != nil { removedListing.insert(digest) }
            } else {
                listing[digest] = entries
            }
        }
    }

    /// An image's listing entries: one per tag, and the untagged one.
    struct ListingEntries {
        /// Sorted by tag.
        var tagged: [(tag: String, status: ImageStatus)] = []
        var untagged: ImageStatus?

        var isEmpty: Bool { tagged.isEmpty && untagged == nil }

        mutating func set(_ tag: String?, _ status: ImageStatus?) {
            guard let tag else { return untagged = status }
            let at = tagged.firstIndex { $0.tag >= tag } ?? tagged.endIndex
            let present = at < tagged.endIndex && tagged[at].tag == tag
            switch (status, present) {
            case (let status?, true): tagged[at].status = status
            case (let status?, false): tagged.insert((tag, status), at: at)
            case (nil, true): tagged.remove(at: at)
            case (nil, false): break
            }
        }
    }

    struct PatternKey: Hashable {
        let scope: PolicyScope
        let pattern: String
    }

    /// One history id's indexed events and checkpoint schedule.
    final class History {
        /// The history id (16 bytes).
        let id: [UInt8]
        var seqs: [UInt64] = []
        var tagSeqs: [String: [UInt64]] = [:]
        var schedule: (since: UInt64, interval: UInt64, ref: RepositoryRef)?

        init(id: [UInt8]) { self.id = id }
    }

    /// A history id as a dictionary key: two words hash far faster than sixteen bytes.
    struct HistoryKey: Hashable {
        let high, low: UInt64

        init(_ id: [UInt8]) {
            (high, low) = id.withUnsafeBytes { ($0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
        }
    }

    /// Receives each checkpoint as it is taken, with its key (history id, seq).
    private let checkpointSink: (_ key: [UInt8], _ rows: Checkpoint) throws -> Void

    private var repositories: [RepositoryRef: RepoRecord] = [:]
    private var contents: [UInt64: Contents] = [:]
    private var lastRepositoryId: UInt64 = 0
    /// ``KeyLayout/organization(_:_:)`` → the seq it became known.
    private var organizations: [[UInt8]: UInt64] = [:]
    private var policies: [PolicyScope: [UInt64: Policy]] = [:]
    private var policyIndex: [String: (scope: PolicyScope, seq: UInt64)] = [:]
    private var policyPatterns: [PatternKey: String] = [:]
    private var histories: [HistoryKey: History] = [:]
    private var historyIds: [RepositoryRef: [UInt8]] = [:]
    private var organizationEvents: [PolicyScope: [UInt64]] = [:]
    /// The last repository, contents and history looked up: one event touches the same ones
    /// several times.
    private var lastRepository: (ref: RepositoryRef, record: RepoRecord?)?
    private var lastContents: (id: UInt64, contents: Contents)?
    private var lastHistory: History?

    init(checkpointSink: @escaping (_ key: [UInt8], _ rows: Checkpoint) throws -> Void) {
        self.checkpointSink = checkpointSink
    }

    // MARK: repositories and organizations

    func repository(_ ref: RepositoryRef) -> RepoRecord? {
        if let last = lastRepository, last.ref == ref { return last.record }
        let record = repositories[ref]
        lastRepository = (ref, record)
        return record
    }

    func putRepository(_ ref: RepositoryRef, _ record: RepoRecord) {
        repositories[ref] = record
        lastRepository = (ref, record)
    }

    func deleteRepository(_ ref: RepositoryRef, repoId: UInt64) {
        contents[repoId] = nil
        let scope = PolicyScope.repository(ref.registryId, ref.name)
        for policy in policies[scope]?.values ?? [:].values {
            policyIndex[policy.uuid] = nil
            policyPatterns[PatternKey(scope: scope, pattern: policy.tagPattern)] = nil
        }
        policies[scope] = nil
        repositories[ref] = nil
        (lastRepository, lastContents) = (nil, nil)
    }

    func allocateRepositoryId() -> UInt64 {
        lastRepositoryId += 1
        return lastRepositoryId
    }

    func noteOrganization(_ registry: RegistryId, _ name: String, seq: UInt64) {
        let key = KeyLayout.organization(registry, name)
        if organizations[key] == nil { organizations[key] = seq }
    }

    // MARK: images, tags and the listing index

    /// The contents of `repoId`, created empty when asked to (a put) and missing.
    private func contents(_ repoId: UInt64, create: Bool = false) -> Contents? {
        if let last = lastContents, last.id == repoId { return last.contents }
        var c = contents[repoId]
        if c == nil, create {
            c = Contents()
            contents[repoId] = c
        }
        if let c { lastContents = (repoId, c) }
        return c
    }

    func image(_ repoId: UInt64, _ digest: Digest) throws -> ImageRecord? { try contents(repoId)?.image(digest) }
    func putImage(_ repoId: UInt64, _ digest: Digest, _ record: ImageRecord) { contents(repoId, create: true)!.images[digest] = record }

    func deleteImage(_ repoId: UInt64, _ digest: Digest) {
        guard let c = contents(repoId) else { return }
        c.images[digest] = nil
        if c.base != nil { c.removedImages.insert(digest) }
    }

    func tag(_ repoId: UInt64, _ tag: String) throws -> TagRecord? { try contents(repoId)?.tag(tag) }
    func putTag(_ repoId: UInt64, _ tag: String, _ record: TagRecord) { contents(repoId, create: true)!.tags[tag] = record }

    func deleteTag(_ repoId: UInt64, _ tag: String) {
        guard let c = contents(repoId) else { return }
        c.tags[tag] = nil
        if c.base != nil { c.removedTags.insert(tag) }
    }

    // Tags are ASCII (validated when decoded), so String order is their key order.
    func tagNames(_ repoId: UInt64) throws -> [String] {
        guard let c = contents(repoId) else { return [] }
        var names = Set(c.tags.keys)
        for (name, _) in c.base?.tags ?? [] {
            let tag = try BinaryReader.string(name)
            if !c.removedTags.contains(tag) { names.insert(tag) }
        }
        return names.sorted()
    }

    func putListing(_ repoId: UInt64, _ digest: Digest, tag: String?, status: ImageStatus) throws {
        let c = contents(repoId, create: true)!
        var entries = try c.listingEntries(digest)
        entries.set(tag, status)
        c.setListing(digest, entries)
    }

    func deleteListing(_ repoId: UInt64, _ digest: Digest, tag: String?) throws {
        guard let c = contents(repoId) else { return }
        var entries = try c.listingEntries(digest)
        entries.set(tag, nil)
        c.setListing(digest, entries)
    }

    // MARK: policies

    func policySeq(_ uuid: String, in scope: PolicyScope) -> UInt64? {
        guard let at = policyIndex[uuid], at.scope == scope else { return nil }
        return at.seq
    }

    func policy(_ scope: PolicyScope, createdSeq: UInt64) -> Policy? { policies[scope]?[createdSeq] }

    func createPolicy(_ scope: PolicyScope, createdSeq: UInt64, _ policy: Policy) {
        policies[scope, default: [:]][createdSeq] = policy
        policyIndex[policy.uuid] = (scope, createdSeq)
        policyPatterns[PatternKey(scope: scope, pattern: policy.tagPattern)] = policy.uuid
    }

    func replacePolicy(_ scope: PolicyScope, createdSeq: UInt64, old: Policy, new: Policy) {
        policyPatterns[PatternKey(scope: scope, pattern: old.tagPattern)] = nil
        policies[scope, default: [:]][createdSeq] = new
        policyPatterns[PatternKey(scope: scope, pattern: new.tagPattern)] = new.uuid
    }

    func deletePolicy(_ scope: PolicyScope, createdSeq: UInt64, _ policy: Policy) {
        policies[scope]?[createdSeq] = nil
        policyIndex[policy.uuid] = nil
        policyPatterns[PatternKey(scope: scope, pattern: policy.tagPattern)] = nil
    }

    // MARK: history indexes

    func historyId(_ ref: RepositoryRef) -> [UInt8] {
        if let id = historyIds[ref] { return id }
        let id = HistoryIndex.repoPrefix(ref)
        historyIds[ref] = id
        return id
    }

    private func history(_ historyId: [UInt8]) -> History {
        if let last = lastHistory, last.id == historyId { return last }
        let key = HistoryKey(historyId)
        let h = histories[key] ?? History(id: historyId)
        if histories[key] == nil { histories[key] = h }
        lastHistory = h
        return h
    }

    func indexRepositoryEvent(historyId: [UInt8], seq: UInt64) {
        let h = history(historyId)
        if h.seqs.last != seq { h.seqs.append(seq) }
    }

    func indexTagEvent(historyId: [UInt8], tag: String, seq: UInt64) {
        let h = history(historyId)
        if h.tagSeqs[tag]?.last != seq { h.tagSeqs[tag, default: []].append(seq) }
    }

    func indexOrganizationEvent(_ scope: PolicyScope, seq: UInt64) {
        if organizationEvents[scope]?.last != seq { organizationEvents[scope, default: []].append(seq) }
    }

    func checkpointSchedule(historyId: [UInt8]) -> (since: UInt64, interval: UInt64)? {
        history(historyId).schedule.map { ($0.since, $0.interval) }
    }

    func setCheckpointSchedule(historyId: [UInt8], since: UInt64, interval: UInt64, _ ref: RepositoryRef) {
        history(historyId).schedule = (since, interval, ref)
    }

    func checkpoint(_ ref: RepositoryRef, historyId: [UInt8], seq: UInt64) throws -> Int {
        var rows = Checkpoint()
        if let repo = repositories[ref] {
            try rows.row(.repos, key: KeyLayout.repository(ref), value: repo.encoded())
            for table in [Table.images, .tags, .listing] { try rowsOfContents(repo.repoId, table, into: &rows) }
            let scope = PolicyScope.repository(ref.registryId, ref.name)
            try rowsOfPolicies(scope, into: &rows)
            for (key, uuid) in patternRows(of: [scope]) { try rows.row(.policyPatterns, key: key, value: Array(uuid.utf8)) }
            for (seq, policy) in sortedPolicies(scope) {
                try rows.row(.policyIndex, key: Array(policy.uuid.utf8), value: KeyLayout.scope(scope) + KeyLayout.u64(seq))
            }
        }
        try checkpointSink(historyId + KeyLayout.u64(seq), rows)
        return rows.rowCount
    }
}

/// Takes projection rows one at a time, each encoded straight into the sink's own buffers.
protocol RowSink {
    mutating func row(_ table: ProjectionDatabases.Table, key: (inout BinaryWriter) -> Void, value: (inout BinaryWriter) -> Void) throws
}

extension RowSink {
    mutating func row(_ table: ProjectionDatabases.Table, key: [UInt8], value: [UInt8]) throws {
        try row(table, key: { $0.raw(key) }, value: { $0.raw(value) })
    }
}

/// Feeds rows to a state digest and, given a cursor, appends them (they must come in key order)
/// to its empty database.
struct DigestingRowSink: RowSink {
    var digest: StateDigest
    var cursor: Cursor?
    private var key = BinaryWriter(capacity: 640)
    private var value = BinaryWriter(capacity: 512)

    init(_ digest: StateDigest, appendingTo cursor: Cursor?) {
        self.digest = digest
        self.cursor = cursor
    }

    mutating func row(_ table: ProjectionDatabases.Table, key: (inout BinaryWriter) -> Void, value: (inout BinaryWriter) -> Void) throws {
        self.key.reset(); key(&self.key)
        self.value.reset(); value(&self.value)
        try self.key.bytes.withUnsafeBytes { k in
            try self.value.bytes.withUnsafeBytes { v in
                digest.add(key: k, value: v)
                try cursor?.put(key: k, value: v, flags: .append)
            }
        }
    }
}

// MARK: one repository, from a checkpoint (time travel)

extension MemoryProjections {
    /// Loads an encoded checkpoint (``Checkpoint``): its repository and policies into memory,
    /// its images, tags and listing entries as a ``CheckpointContents`` base, searched in place.
    /// The checkpoint's bytes must stay valid (its read transaction open) while this store is used.
    /// Its policies' pattern and index rows are implied by the policies themselves.
    func restore(checkpoint encoded: UnsafeRawBufferPointer) throws {
        var r = BinaryReader(encoded)
        var base: CheckpointContents?
        for _ in 0..<(try r.varint()) {
            let tableCode = try r.u8()
            guard let table = Table(rawValue: tableCode) else { throw DecodingError(reason: "checkpoint names database \(tableCode)") }
            let key = try r.dataBuffer(), value = try r.dataBuffer()
            switch table {
            case .repos:
                guard key.count > 12, base == nil else { throw DecodingError(reason: "malformed checkpoint repository row") }
                let ref = RepositoryRef(registryId: RegistryId(unchecked: try BinaryReader.string(UnsafeRawBufferPointer(rebasing: key[..<12]))),
                                        name: RepositoryName(unchecked: try BinaryReader.string(UnsafeRawBufferPointer(rebasing: key[12...]))))
                let record = try RepoRecord(value)
                putRepository(ref, record)
                base = CheckpointContents(repoId: record.repoId)
            case .images, .tags, .listing:
                guard base != nil else { throw DecodingError(reason: "checkpoint rows before their repository") }
                try base!.add(table, key: key, value: value)
            case .policies:
                guard key.count > 8 else { throw DecodingError(reason: "checkpoint policy key of \(key.count) bytes") }
                let scope = try KeyLayout.scope(decoding: UnsafeRawBufferPointer(rebasing: key[..<(key.count - 8)]))
                createPolicy(scope, createdSeq: KeyLayout.readU64(key, at: key.count - 8), try PolicyRecord.decode(value))
            case .policyPatterns, .policyIndex:
                break  // written with each policy above
            default:
                throw DecodingError(reason: "checkpoint holds a row of \(table)")
            }
        }
        guard r.isAtEnd else { throw DecodingError(reason: "trailing bytes in checkpoint") }
        if var base {
            base.sort()
            contents(base.repoId, create: true)!.base = base
        }
    }

    /// The state of `ref` as held here, or nil if it does not exist.
    func repositoryState(_ ref: RepositoryRef) throws -> RepositoryState? {
        guard let repo = repositories[ref] else { return nil }
        var images: [ImageState] = [], tags: [TagState] = []
        if let c = contents(repo.repoId) {
            try Self.merge(base: c.base?.images ?? [], key: \.digest, memory: c.images.keys.sorted(), removed: c.removedImages.sorted(),
                           fromBase: { ($0.digest, try ImageRecord($0.value, mediaType: false)) }, fromMemory: { ($0, c.images[$0]!) }) {
                images.append(ImageState(digest: $0, tags: $1.tags, status: $1.status))
            }
            let baseTags = try (c.base?.tags ?? []).map { (name: try BinaryReader.string($0.name), value: $0.value) }
            try Self.merge(base: baseTags, key: \.name, memory: c.tags.keys.sorted(), removed: c.removedTags.sorted(),
                           fromBase: { ($0.name, try TagRecord($0.value)) }, fromMemory: { ($0, c.tags[$0]!) }) {
                tags.append(TagState(tag: $0, digest: $1.digest, immutable: $1.immutable))
            }
        }
        return RepositoryState(registryId: ref.registryId, name: ref.name, mutability: repo.mutability,
                               policies: sortedPolicies(.repository(ref.registryId, ref.name)).map(\.policy), images: images, tags: tags)
    }

    /// Visits, in key order, the rows of a checkpoint base and the entries held in memory, all
    /// sorted: an entry in memory hides the base row of its key, and so does a removed key.
    private static func merge<Row, Key: Comparable, Value>(
        base: [Row], key: (Row) -> Key, memory: [Key], removed: [Key],
        fromBase: (Row) throws -> (Key, Value), fromMemory: (Key) -> (Key, Value), _ body: (Key, Value) -> Void
    ) throws {
        var (m, r) = (memory[...], removed[...])
        for row in base {
            let k = key(row)
            while let next = m.first, next < k {
                let (key, value) = fromMemory(next)
                body(key, value)
                m = m.dropFirst()
            }
            while let next = r.first, next < k { r = r.dropFirst() }
            if m.first == k || r.first == k { continue }
            let (key, value) = try fromBase(row)
            body(key, value)
        }
        for next in m {
            let (key, value) = fromMemory(next)
            body(key, value)
        }
    }
}

// MARK: rows in key order

extension MemoryProjections {
    /// Stores every row except checkpoints (already in `dbs`) into `dbs`, whose other tables must
    /// be empty, appending each table in key order. Returns the state digest.
    func write(into txn: Transaction, _ dbs: ProjectionDatabases) throws -> String {
        try digest(checkpointsIn: txn, dbs, appending: true)
    }

    /// The state digest the projections would have, checkpoints read from `dbs`.
    func stateDigest(checkpointsIn txn: Transaction, _ dbs: ProjectionDatabases) throws -> String {
        try digest(checkpointsIn: txn, dbs, appending: false)
    }

    private func digest(checkpointsIn txn: Transaction, _ dbs: ProjectionDatabases, appending: Bool) throws -> String {
        var digest = StateDigest()
        for table in Table.allCases where table != .checkpoints {
            digest.begin(table)
            digest = try txn.withCursor(dbs[table]) { cursor in
                var sink = DigestingRowSink(digest, appendingTo: appending ? cursor : nil)
                try rows(of: table, into: &sink)
                return sink.digest
            }
        }
        try digest.add(.checkpoints, from: txn, dbs)
        return digest.finalize()
    }

    /// Every row of `table` in key order.
    func rows(of table: Table, into sink: inout some RowSink) throws {
        switch table {
        case .repos:
            for (key, ref) in repositories.keys.map({ (KeyLayout.repository($0), $0) }).sorted(by: { $0.0.lexicographicallyPrecedes($1.0) }) {
                try sink.row(table, key: key, value: repositories[ref]!.encoded())
            }
        case .images, .tags, .listing:
            for id in contents.keys.sorted() { try rowsOfContents(id, table, into: &sink) }
        case .policies:
            for scope in sortedScopes(policies.keys) { try rowsOfPolicies(scope, into: &sink) }
        case .policyIndex:
            for (uuid, at) in policyIndex.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                try sink.row(table, key: Array(uuid.utf8), value: KeyLayout.scope(at.scope) + KeyLayout.u64(at.seq))
            }
        case .policyPatterns:
            for (key, uuid) in patternRows(of: nil) { try sink.row(table, key: key, value: Array(uuid.utf8)) }
        case .organizations:
            for (key, seq) in organizations.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                try sink.row(table, key: key, value: KeyLayout.u64(seq))
            }
        case .counters:
            if lastRepositoryId > 0 { try sink.row(table, key: LMDBProjections.nextRepoIdKey, value: KeyLayout.u64(lastRepositoryId)) }
        case .repoEvents:
            for (id, h) in sortedHistories() {
                for seq in h.seqs { try sink.row(table, key: { $0.raw(id); $0.u64(seq) }, value: { _ in }) }
            }
        case .tagEvents:
            for (id, h) in sortedHistories() {
                for (tag, seqs) in h.tagSeqs.sorted(by: { $0.key < $1.key }) {
                    for seq in seqs { try sink.row(table, key: { $0.raw(id); $0.utf8(tag); $0.u8(0); $0.u64(seq) }, value: { _ in }) }
                }
            }
        case .scopeEvents:
            for scope in sortedScopes(organizationEvents.keys) {
                let prefix = KeyLayout.scope(scope)
                for seq in organizationEvents[scope]! { try sink.row(table, key: { $0.raw(prefix); $0.u64(seq) }, value: { _ in }) }
            }
        case .repoHistory:
            for (id, h) in sortedHistories() {
                if let s = h.schedule { try sink.row(table, key: id, value: HistoryIndex.schedule(since: s.since, interval: s.interval, s.ref)) }
            }
        case .checkpoints:
            break  // given to the sink as they were taken
        }
    }

    /// The images, tags or listing rows of one repository, in key order. Only for contents
    /// held wholly in memory (rebuild and verification restore no checkpoint).
    private func rowsOfContents(_ repoId: UInt64, _ table: Table, into sink: inout some RowSink) throws {
        guard let c = contents(repoId) else { return }
        precondition(c.base == nil, "rows of time travel's checkpointed contents")
        switch table {
        case .images:
            for (digest, record) in c.images.sorted(by: { $0.key < $1.key }) {
                try sink.row(table, key: { KeyLayout.image(repoId, digest, into: &$0) }, value: { record.encode(into: &$0) })
            }
        case .tags:
            for (tag, record) in c.tags.sorted(by: { $0.key < $1.key }) {
                try sink.row(table, key: { KeyLayout.tag(repoId, tag, into: &$0) }, value: { record.encode(into: &$0) })
            }
        case .listing:
            // Tagged entries (by digest, then tag) sort before untagged ones (by digest).
            let entries = c.listing.sorted { $0.key < $1.key }
            for (digest, entry) in entries {
                for (tag, status) in entry.tagged {
                    try sink.row(table, key: { KeyLayout.listing(repoId, digest, tag: tag, into: &$0) },
                                 value: { $0.u8(EventCodec.statusCode(status)) })
                }
            }
            for (digest, entry) in entries {
                guard let status = entry.untagged else { continue }
                try sink.row(table, key: { KeyLayout.listing(repoId, digest, tag: nil, into: &$0) }, value: { $0.u8(EventCodec.statusCode(status)) })
            }
        default:
            preconditionFailure("\(table) is not a repository's contents")
        }
    }

    private func sortedPolicies(_ scope: PolicyScope) -> [(seq: UInt64, policy: Policy)] {
        (policies[scope] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    private func rowsOfPolicies(_ scope: PolicyScope, into sink: inout some RowSink) throws {
        let prefix = KeyLayout.scope(scope)
        for (seq, policy) in sortedPolicies(scope) { try sink.row(.policies, key: prefix + KeyLayout.u64(seq), value: PolicyRecord.encode(policy)) }
    }
    /// The pattern rows of `scopes` (nil: every scope), in key order.
    private func patternRows(of scopes: Set<PolicyScope>?) -> [(key: [UInt8], uuid: String)] {
        policyPatterns.compactMap { entry -> (key: [UInt8], uuid: String)? in
            guard scopes?.contains(entry.key.scope) ?? true else { return nil }
            return (KeyLayout.policyPattern(entry.key.scope, entry.key.pattern), entry.value)
        }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    private func sortedScopes(_ scopes: some Collection<PolicyScope>) -> [PolicyScope] {
        scopes.map { (KeyLayout.scope($0), $0) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }.map(\.1)
    }

    private func sortedHistories() -> [(id: [UInt8], history: History)] {
        histories.values.map { ($0.id, $0) }.sorted { $0.id.lexicographicallyPrecedes($1.id) }
    }
}
