import LMDB

/// Projected state held in memory while rebuild or verification folds the whole log: no B-tree
/// work per event. One half of a ``LogFold``, which then stores every row once, in key order,
/// with appends, and computes the state digest on the way.
///
/// Rows are laid out by the same codecs (``ProjectionTables``) and record encoders as
/// ``LMDBProjections``; the rebuild tests compare the two byte for byte (state digests).
final class MemoryProjections: HistoryStore {
    typealias TableName = ProjectionTables.Name

    /// One repository's images and tags. Its listing entries are not kept: they follow from the
    /// images when rows are written.
    final class Contents {
        var images: [Digest: ImageRecord] = [:]
        var tags: [String: TagRecord] = [:]
        var blobs: [Digest: BlobRecord] = [:]
        /// subject → the images that refer to it.
        var referrers: [Digest: Set<Digest>] = [:]
        /// The images' positions in key order, sorted once when rows are made: the images and
        /// the listing tables both walk them, on the same row-making thread (``LogFold``).
        lazy var imagesInKeyOrder = MemoryProjections.keyOrder(images)
    }

    struct PatternKey: Hashable {
        let scope: PolicyScope
        let pattern: String
    }

    /// One history id's indexed events, repository key and versions.
    final class History {
        /// The history id (16 bytes).
        let id: [UInt8]
        var seqs: [UInt64] = []
        /// Every (tag, seq) indexed, in the order indexed (seq order): ordered by tag only when
        /// rows are made, which costs a fold far less than a dictionary of tags.
        var tagEvents: [(tag: String, seq: UInt64)] = []
        var repositoryKey: [UInt8]?
        /// (seq, encoded record or empty) in seq order.
        var versions: [(seq: UInt64, value: [UInt8])] = []

        init(id: [UInt8]) { self.id = id }
    }

    /// One repository id's content versions as they came (in seq order): each an entity key,
    /// seq and value, length-prefixed in one buffer; sorted by key only when written.
    struct ContentVersions {
        var buffer = BinaryWriter(capacity: 256)
    }

    /// A history id as a dictionary key: two words hash far faster than sixteen bytes.
    struct HistoryKey: Hashable {
        let high, low: UInt64

        init(_ id: [UInt8]) {
            (high, low) = id.withUnsafeBytes { ($0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
        }
    }

    /// What is known of a repository name: its history id, and its record while it exists.
    final class Known {
        let historyId: [UInt8]
        var record: RepoRecord?

        init(historyId: [UInt8]) { self.historyId = historyId }
    }

    /// Every repository name an event named: one lookup serves an event's history id and record.
    private var known: [RepositoryRef: Known] = [:]
    /// The repositories that exist, with their records.
    var repositories: [(ref: RepositoryRef, record: RepoRecord)] {
        known.compactMap { entry in entry.value.record.map { (entry.key, $0) } }
    }
    private(set) var contents: [UInt64: Contents] = [:]
    /// The ids of this half's repository creations, in order (``LogFold`` assigns them).
    private var assignedRepositoryIds: [UInt64] = []
    private var nextAssigned = 0
    /// ``OrganizationKey`` bytes → the seq it became known.
    private(set) var organizations: [[UInt8]: UInt64] = [:]
    /// Every (digest, seq) ``ProjectionStore/noteManifest(_:seq:)`` heard, in the order it heard
    /// them: the earliest seq of each digest is its row. Appending costs a fold far less than a
    /// dictionary of a million digests, and the rows need sorting anyway.
    private(set) var manifestNotes: [(digest: Digest, seq: UInt64)] = []
    private(set) var policies: [PolicyScope: [UInt64: Policy]] = [:]
    private(set) var policyIndex: [String: (scope: PolicyScope, seq: UInt64)] = [:]
    private(set) var policyPatterns: [PatternKey: String] = [:]
    private(set) var histories: [HistoryKey: History] = [:]
    /// Per organization scope, (creation seq, seq, policy or empty) in seq order.
    private(set) var organizationVersions: [PolicyScope: [(createdSeq: UInt64, seq: UInt64, value: [UInt8])]] = [:]
    private(set) var contentVersions: [UInt64: ContentVersions] = [:]
    /// The last repository, contents and history looked up: one event touches the same ones
    /// several times.
    private var lastKnown: (ref: RepositoryRef, known: Known)?
    private var lastContents: (id: UInt64, contents: Contents)?
    private var lastHistory: History?

    /// Frees everything held (the half of a fold whose rows are made): hundreds of megabytes in
    /// small allocations after a large log, freed on the calling thread.
    func removeAll() {
        (known, contents, organizations, policies, policyIndex, policyPatterns) = ([:], [:], [:], [:], [:], [:])
        manifestNotes = []
        (histories, organizationVersions, contentVersions) = ([:], [:], [:])
        (lastKnown, lastContents, lastHistory) = (nil, nil, nil)
        (assignedRepositoryIds, nextAssigned) = ([], 0)
    }

    // MARK: repositories and organizations

    /// What is known of `ref`, made (with its history id) on first sight.
    private func knownOrNew(_ ref: RepositoryRef) -> Known {
        if let last = lastKnown, last.ref == ref { return last.known }
        let found: Known
        if let k = known[ref] { found = k } else {
            found = Known(historyId: HistoryIdKey.of(ref))
            known[ref] = found
        }
        lastKnown = (ref, found)
        return found
    }

    /// Without copying the record out (its strings and arrays): the fold asks for ids most.
    func repositoryId(_ ref: RepositoryRef) -> UInt64? { knownOrNew(ref).record?.repoId }

    func repository(_ ref: RepositoryRef) -> RepoRecord? { knownOrNew(ref).record }

    func putRepository(_ ref: RepositoryRef, _ record: RepoRecord) { knownOrNew(ref).record = record }

    func deleteRepository(_ ref: RepositoryRef, repoId: UInt64) {
        contents[repoId] = nil
        let scope = PolicyScope.repository(ref.registryId, ref.name)
        for policy in (policies[scope] ?? [:]).values {
            policyIndex[policy.uuid] = nil
            policyPatterns[PatternKey(scope: scope, pattern: policy.tagPattern)] = nil
        }
        policies[scope] = nil
        knownOrNew(ref).record = nil
        lastContents = nil
    }

    /// The next of the ids ``assignRepositoryIds(_:)`` gave.
    func allocateRepositoryId() -> UInt64 {
        precondition(nextAssigned < assignedRepositoryIds.count, "a repository creation without an assigned id")
        defer { nextAssigned += 1 }
        return assignedRepositoryIds[nextAssigned]
    }

    /// Queues the ids of this half's next repository creations.
    func assignRepositoryIds(_ ids: [UInt64]) {
        assignedRepositoryIds.removeFirst(nextAssigned)
        nextAssigned = 0
        assignedRepositoryIds.append(contentsOf: ids)
    }

    func noteOrganization(_ registry: RegistryId, _ name: String, seq: UInt64) {
        let key = OrganizationKey.encode((registry, name))
        if organizations[key] == nil { organizations[key] = seq }
    }

    /// Hands over the organizations noted here, leaving none.
    func takeOrganizations() -> [[UInt8]: UInt64] {
        defer { organizations = [:] }
        return organizations
    }

    /// Adds organizations another half noted: each is known since the earlier of the two seqs.
    func mergeOrganizations(_ other: [[UInt8]: UInt64]) {
        organizations.merge(other, uniquingKeysWith: min)
    }

    // MARK: manifests

    func noteManifest(_ digest: Digest, seq: UInt64) { manifestNotes.append((digest, seq)) }

    /// Hands over the manifests noted here, leaving none.
    func takeManifestNotes() -> [(digest: Digest, seq: UInt64)] {
        defer { manifestNotes = [] }
        return manifestNotes
    }

    /// Adds manifests another half noted.
    func mergeManifestNotes(_ other: [(digest: Digest, seq: UInt64)]) { manifestNotes += other }

    /// Each noted digest with the earliest seq noted for it, in key order (sorts the notes).
    func manifestSeqRows() -> [(digest: Digest, seq: UInt64)] {
        // The first word decides almost every comparison (digests are uniform).
        manifestNotes.sort { a, b in a.digest.w0 != b.digest.w0 ? a.digest.w0 < b.digest.w0 : (a.digest, a.seq) < (b.digest, b.seq) }
        var rows: [(digest: Digest, seq: UInt64)] = []
        rows.reserveCapacity(manifestNotes.count)
        for note in manifestNotes where rows.last?.digest != note.digest { rows.append(note) }
        return rows
    }

    // MARK: images and tags

    /// The contents of `repoId`, created empty when asked to (a put) and missing.
    func contents(_ repoId: UInt64, create: Bool = false) -> Contents? {
        if let last = lastContents, last.id == repoId { return last.contents }
        var c = contents[repoId]
        if c == nil, create {
            c = Contents()
            contents[repoId] = c
        }
        if let c { lastContents = (repoId, c) }
        return c
    }

    func image(_ repoId: UInt64, _ digest: Digest) -> ImageRecord? { contents(repoId)?.images[digest] }
    func putImage(_ repoId: UInt64, _ digest: Digest, _ record: ImageRecord) { contents(repoId, create: true)!.images[digest] = record }

    /// In place: the record (and its tags) is not copied.
    func updateImage<R>(_ repoId: UInt64, _ digest: Digest, _ body: (inout ImageRecord) throws -> R) rethrows -> R? {
        guard let c = contents(repoId), let position = c.images.index(forKey: digest) else { return nil }
        return try body(&c.images.values[position])
    }

    func deleteImage(_ repoId: UInt64, _ digest: Digest) { contents(repoId)?.images[digest] = nil }

    func tag(_ repoId: UInt64, _ tag: String) -> TagRecord? { contents(repoId)?.tags[tag] }
    func putTag(_ repoId: UInt64, _ tag: String, _ record: TagRecord) { contents(repoId, create: true)!.tags[tag] = record }

    func deleteTag(_ repoId: UInt64, _ tag: String) { contents(repoId)?.tags[tag] = nil }

    // Tags are ASCII (validated when decoded), so String order is their key order.
    func tagNames(_ repoId: UInt64) -> [String] { contents(repoId)?.tags.keys.sorted() ?? [] }

    // An image's listing entries are its tags, each with the image's status, or one untagged
    // entry when it has no tags: ``ProjectionWriter`` keeps them so. Memory therefore keeps
    // none; its rows are derived from the images when written (`rowsOfContents`), and the
    // state digest proves them equal to the entries ``LMDBProjections`` keeps.
    func putListing(_ repoId: UInt64, _ digest: Digest, tag: String?, status: ImageStatus) {}
    func deleteListing(_ repoId: UInt64, _ digest: Digest, tag: String?) {}

    // MARK: registry-API relations

    func blob(_ repoId: UInt64, _ digest: Digest) -> BlobRecord? { contents(repoId)?.blobs[digest] }
    func putBlob(_ repoId: UInt64, _ digest: Digest, _ record: BlobRecord) { contents(repoId, create: true)!.blobs[digest] = record }
    func deleteBlob(_ repoId: UInt64, _ digest: Digest) { contents(repoId)?.blobs[digest] = nil }

    func putReferrer(_ repoId: UInt64, subject: Digest, _ referrer: Digest) {
        contents(repoId, create: true)!.referrers[subject, default: []].insert(referrer)
    }

    func deleteReferrer(_ repoId: UInt64, subject: Digest, _ referrer: Digest) {
        guard let c = contents(repoId) else { return }
        c.referrers[subject]?.remove(referrer)
        if c.referrers[subject]?.isEmpty == true { c.referrers[subject] = nil }
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

    func historyId(_ ref: RepositoryRef) -> [UInt8] { knownOrNew(ref).historyId }

    private func history(_ historyId: [UInt8]) -> History {
        if let last = lastHistory, last.id == historyId { return last }
        let key = HistoryKey(historyId)
        let h: History
        if let known = histories[key] { h = known } else { h = History(id: historyId); histories[key] = h }
        lastHistory = h
        return h
    }

    // An index row put twice is one row in LMDB: a seq is added once.
    func indexRepositoryEvent(historyId: [UInt8], seq: UInt64) { history(historyId).seqs.appendOnce(seq) }
    func indexTagEvent(historyId: [UInt8], tag: String, seq: UInt64) { history(historyId).tagEvents.append((tag, seq)) }

    func noteRepository(historyId: [UInt8], _ ref: RepositoryRef) { history(historyId).repositoryKey = RepositoryKey.encode(ref) }

    func putRepositoryVersion(historyId: [UInt8], seq: UInt64, _ record: RepoRecord?) {
        history(historyId).versions.append((seq, EmptyMeansNone<RepoRecord>.encode(record)))
    }

    func putOrganizationPolicyVersion(_ scope: PolicyScope, createdSeq: UInt64, seq: UInt64, _ policy: Policy?) {
        organizationVersions[scope, default: []].append((createdSeq, seq, EmptyMeansNone<PolicyRecord>.encode(policy)))
    }

    func putContentVersion(repoId: UInt64, _ entity: ContentEntityKey.Entity, seq: UInt64, _ value: [UInt8]) {
        contentVersions[repoId, default: ContentVersions()].append(repoId, entity, seq: seq, value)
    }
}

extension MemoryProjections.ContentVersions {
    mutating func append(_ repoId: UInt64, _ entity: ContentEntityKey.Entity, seq: UInt64, _ value: [UInt8]) {
        buffer.data { ContentEntityKey.encode((repoId, entity), into: &$0) }
        buffer.u64(seq)
        buffer.data(value)
    }

    /// Visits every version as a `contentVersions` row, in key order.
    func forEachRow(_ body: (_ key: (inout BinaryWriter) -> Void, _ value: UnsafeRawBufferPointer) throws -> Void) throws {
        try buffer.bytes.withUnsafeBytes { all in
            var reader = BinaryReader(all)
            var rows: [(entity: UnsafeRawBufferPointer, seq: UInt64, value: UnsafeRawBufferPointer)] = []
            while !reader.isAtEnd { rows.append((try reader.dataBuffer(), try reader.u64(), try reader.dataBuffer())) }
            // Versions came in seq order: sorting by entity, then seq, puts them in key order.
            rows.sort { a, b in
                let c = KeyOrder.compare(a.entity, b.entity)
                return c != 0 ? c < 0 : a.seq < b.seq
            }
            for row in rows {
                try body({ ThenSeq<ContentEntityKey>.encode(head: row.entity, seq: row.seq, into: &$0) }, row.value)
            }
        }
    }
}

private extension Array where Element == UInt64 {
    /// Appends `seq` unless it is already last (seqs arrive in ascending order).
    mutating func appendOnce(_ seq: UInt64) { if last != seq { append(seq) } }
}
