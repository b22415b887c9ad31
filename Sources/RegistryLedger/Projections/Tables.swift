import LMDB

/// The tables of one projection generation: current state, its listing index, the history
/// indexes and the temporal index. Two generations exist so that `rebuild` can fill a fresh one
/// and switch to it in one commit. Each table's layout is its codecs.
struct ProjectionTables: Sendable {
    // Current state.
    let repos: Table<RepositoryKey, RepoRecord>
    let images: Table<ImageKey, ImageRecord>
    let tags: Table<TagKey, TagRecord>
    /// ListImages entries (``ListingEntries``): the image's status.
    let listing: Table<ListingKey, ImageStatusCode>
    /// (scope, creation seq) → policy.
    let policies: Table<ThenSeq<PolicyScopeKey>, PolicyRecord>
    /// uuid → where the policy is.
    let policyIndex: Table<UTF8Text, ThenSeq<PolicyScopeKey>>
    /// (scope, pattern hash) → the uuid of the scope's policy with that pattern.
    let policyPatterns: Table<PolicyPatternKey, UTF8Text>
    /// organization → the seq that first named it.
    let organizations: Table<OrganizationKey, BigEndianU64>
    /// name → value (``ProjectionTables/nextRepoId``).
    let counters: Table<UTF8Text, BigEndianU64>
    // History indexes (``HistoryIndex``).
    /// (history id, first seq) → later seqs of the repository's events (``SeqRun``).
    let repoEvents: Table<ThenSeq<HistoryIdKey>, RawBytes>
    /// (history id, tag, seq): the events of one tag.
    let tagEvents: Table<ThenSeq<HistoryTagKey>, NoValue>
    /// history id → the repository it is of.
    let repoHistory: Table<HistoryIdKey, RepositoryKey>
    // The temporal index time travel reads (``Versions``).
    /// (history id, seq) → the repository record, or none: deleted.
    let repoVersions: Table<ThenSeq<HistoryIdKey>, EmptyMeansNone<RepoRecord>>
    /// (repository id, entity, seq) → the entity's version (``Versions/ContentVersion``), or empty: gone.
    let contentVersions: Table<ThenSeq<ContentEntityKey>, RawBytes>
    /// ((organization scope, creation seq), seq) → the policy, or none: deleted.
    let organizationVersions: Table<ThenSeq<ThenSeq<PolicyScopeKey>>, EmptyMeansNone<PolicyRecord>>
    // Registry-API relations.
    /// (repository id, digest) → a blob the repository holds (same layout as an image key).
    let blobs: Table<ImageKey, BlobRecord>
    /// (repository id, subject, referrer): the images that refer to another.
    let referrers: Table<ReferrerKey, NoValue>

    // Where the log holds each manifest.
    /// digest → the seq of the first `image.pushed` event naming it: where ``LogTables/manifestLog``
    /// holds the manifest (or, for one an earlier version stored, where the event that brought it is).
    let manifestSeqs: Table<DigestKey, BigEndianU64>

    /// The last repository id allocated.
    var nextRepoId: Setting<BigEndianU64> { Setting(Self.nextRepoIdName, in: counters) }
    static let nextRepoIdName = "nextRepoId"

    /// The tables by name; a table's position is its place in the state digest.
    enum Name: UInt8, CaseIterable {
        case repos, images, tags, listing, policies, policyIndex, policyPatterns, organizations, counters,
             repoEvents, tagEvents, repoHistory, repoVersions, contentVersions, organizationVersions,
             blobs, referrers, manifestSeqs
    }

    /// A table's rows as bytes, whatever its layout.
    subscript(raw name: Name) -> Table<RawBytes, RawBytes> {
        switch name {
        case .repos: repos.raw
        case .images: images.raw
        case .tags: tags.raw
        case .listing: listing.raw
        case .policies: policies.raw
        case .policyIndex: policyIndex.raw
        case .policyPatterns: policyPatterns.raw
        case .organizations: organizations.raw
        case .counters: counters.raw
        case .repoEvents: repoEvents.raw
        case .tagEvents: tagEvents.raw
        case .repoHistory: repoHistory.raw
        case .repoVersions: repoVersions.raw
        case .contentVersions: contentVersions.raw
        case .organizationVersions: organizationVersions.raw
        case .blobs: blobs.raw
        case .referrers: referrers.raw
        case .manifestSeqs: manifestSeqs.raw
        }
    }

    /// A table's database name in `generation`.
    static func databaseName(_ name: Name, generation: Int) -> String { "g\(generation).\(name)" }

    static func open(_ env: Environment, generation: Int, create: Bool) throws -> ProjectionTables {
        func table<K, V>(_ name: Name) throws -> Table<K, V> {
            try env.openTable(named: databaseName(name, generation: generation), create: create)
        }
        return ProjectionTables(
            repos: try table(.repos), images: try table(.images), tags: try table(.tags), listing: try table(.listing),
            policies: try table(.policies), policyIndex: try table(.policyIndex), policyPatterns: try table(.policyPatterns),
            organizations: try table(.organizations), counters: try table(.counters),
            repoEvents: try table(.repoEvents), tagEvents: try table(.tagEvents), repoHistory: try table(.repoHistory),
            repoVersions: try table(.repoVersions), contentVersions: try table(.contentVersions),
            organizationVersions: try table(.organizationVersions),
            blobs: try table(.blobs), referrers: try table(.referrers), manifestSeqs: try table(.manifestSeqs))
    }
}

/// The log environment's tables (`DIR/data.mdb`): the log and what reading it needs — the
/// manifests its events name, the denial log, the store's identity. The only durable truth:
/// written by durable group commits that touch nothing else (SPEC §3).
struct LogTables: Sendable {
    /// seq → record.
    let log: Table<BigEndianU64, StoredRecord>
    /// denial number → refusal.
    let denials: Table<BigEndianU64, StoredDenial>
    /// seq → manifest bytes: the manifest the `image.pushed` event at that seq is the first to
    /// name, appended at the log's tail with it (content addressed through the derived state's
    /// ``ProjectionTables/manifestSeqs``). Absent from a store no version with it has written
    /// to yet (a read-only open of an earlier store).
    let manifestLog: Table<BigEndianU64, RawBytes>?
    /// digest → manifest bytes: how earlier versions stored manifests, and how a cluster node's
    /// local copy of the log (never fsynced) still does. Read where ``manifestLog`` has none.
    let manifests: Table<DigestKey, RawBytes>
    /// The store's identity: ``defaultRegistryId``, ``tokenSecret``.
    let meta: Table<UTF8Text, RawBytes>

    /// The registry id requests name when they name none.
    var defaultRegistryId: Setting<UTF8Text> { Setting("defaultRegistryId", in: meta) }
    /// The key page tokens are sealed with.
    var tokenSecret: Setting<RawBytes> { Setting("tokenSecret", in: meta) }

    static func open(_ env: Environment, create: Bool) throws -> LogTables {
        LogTables(log: try env.openTable(named: "log", create: create),
                  denials: try env.openTable(named: "denials", create: create),
                  manifestLog: create ? try env.openTable(named: "manifestLog", create: true) : try? env.openTable(named: "manifestLog", create: false),
                  manifests: try env.openTable(named: "manifests", create: create),
                  meta: try env.openTable(named: "meta", create: create))
    }
}

/// The derived-state environment's tables (`DIR/state/`): both projection generations, the
/// denial index, and what the state reflects. Everything here follows from the log tables.
struct StateTables: Sendable {
    /// ``generation``, ``projectionFormat``, ``applied``.
    let meta: Table<UTF8Text, RawBytes>
    /// (history id, tag, denial number): the refused attempts on one tag.
    let tagDenials: Table<ThenSeq<HistoryTagKey>, NoValue>
    /// Two generations, so that `rebuild` can fill a fresh one and switch to it in one commit.
    let generations: [ProjectionTables]

    /// Which generation is current (0 or 1).
    var generation: Setting<SingleByte> { Setting("generation", in: meta) }
    /// The layout the projections were written with (``Ledger/projectionFormat``).
    var projectionFormat: Setting<SingleByte> { Setting(Self.projectionFormatName, in: meta) }
    private static let (metaName, projectionFormatName) = ("meta", "projectionFormat")
    /// How far the state follows the log.
    var applied: Setting<AppliedPoint> { Setting("applied", in: meta) }

    static func open(_ env: Environment, create: Bool) throws -> StateTables {
        StateTables(
            meta: try env.openTable(named: Self.metaName, create: create),
            tagDenials: try env.openTable(named: "tagDenials", create: create),
            generations: [try .open(env, generation: 0, create: create), try .open(env, generation: 1, create: create)])
    }

    /// The projection format `env` records, read through its meta table alone: a state of an
    /// earlier format may lack tables that ``open(_:create:)`` opens.
    static func recordedFormat(_ env: Environment) throws -> UInt8? {
        let meta: Table<UTF8Text, RawBytes> = try env.openTable(named: metaName, create: false)
        return try env.read { txn in try txn.get(Setting<SingleByte>(projectionFormatName, in: meta)) }
    }

    /// The projections readers should use in `txn`.
    func current(_ txn: some ReadingTransaction) throws -> ProjectionTables {
        generations[Int(try txn.get(generation) ?? 0) & 1]
    }
}

/// digest(32): a content-addressed manifest.
enum DigestKey: TableCodec {
    static func encode(_ digest: Digest) -> [UInt8] { digest.rawBytes }
    static func encode(_ digest: Digest, into w: inout BinaryWriter) { w.digest(digest) }
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> Digest {
        guard bytes.count == 32 else { throw DecodingError(reason: "a digest of \(bytes.count) bytes") }
        return Digest(rawPointer: bytes)
    }
}
