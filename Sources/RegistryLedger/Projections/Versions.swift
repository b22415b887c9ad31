import Foundation
import LMDB

/// The temporal index that time travel reads: every value a repository or one of its images,
/// tags or repository-scope policies took, keyed by the seq that gave it, so that the state at
/// seq S is, per entity, its latest version at or before S. No state is ever copied: an event
/// adds a version for each entity it changes (one or two; an image deletion one per tag it
/// removes, each of which an earlier event created), whatever the size of its repository.
///
/// | database        | key                                  | value |
/// |-----------------|--------------------------------------|-------|
/// | repoVersions    | history id(16), seq(8)               | ``RepoRecord``, or empty: deleted |
/// | contentVersions | repoId(8), ``Entity`` key, seq(8)    | the entity's version, or empty: gone |
/// | organizationVersions | organization scope key, creation seq(8), seq(8) | ``PolicyRecord``, or empty: deleted |
///
/// Content is keyed by repository id, which names one incarnation of a repository (ids are never
/// reused): deleting a repository needs one version (its own) and nothing of an earlier
/// incarnation can leak into a later one.
enum Versions {
    /// What a content version is about. Keys: kind(1), then the digest(32), the policy's
    /// creation seq(8), or the tag's bytes and a 0 (tags hold no 0, so a tag's versions never
    /// interleave with a longer tag's).
    enum Entity: Equatable {
        case image(Digest)
        case policy(createdSeq: UInt64, PolicyScope)
        case tag(String)

        static let imageKind: UInt8 = 0, policyKind: UInt8 = 1, tagKind: UInt8 = 2

        func encodeKey(into w: inout BinaryWriter) {
            switch self {
            case .image(let d): w.u8(Self.imageKind); w.digest(d)
            case .policy(let seq, _): w.u8(Self.policyKind); w.u64(seq)
            case .tag(let t): w.u8(Self.tagKind); w.utf8(t); w.u8(0)
            }
        }
    }

    /// A `contentVersions` key.
    static func key(repoId: UInt64, _ entity: Entity, seq: UInt64, into w: inout BinaryWriter) {
        w.u64(repoId); entity.encodeKey(into: &w); w.u64(seq)
    }

    /// What an event is about to change, found before it applies (an image deletion removes tags
    /// that applying it forgets); ``record(_:seq:_:)`` writes their versions after it applied.
    struct Touched {
        var repository: RepositoryRef?
        var historyId: [UInt8]?
        var repoId: UInt64?
        var entities: [Entity] = []
        /// An organization's policy: its scope and creation seq.
        var organizationPolicy: (scope: PolicyScope, createdSeq: UInt64)?
    }

    /// The entities `record` changes, read from `store` before it applies.
    static func touched(_ record: EventRecord, historyId: [UInt8]?, _ store: some HistoryStore) throws -> Touched {
        var t = Touched()
        func repoId(_ ref: RepositoryRef) throws -> UInt64? { try store.repository(ref)?.repoId }
        switch record.event {
        case .repositoryCreated(let ref, _), .repositoryDeleted(let ref), .tagMutabilityChanged(let ref, _):
            // The repository's own version.
            (t.repository, t.historyId) = (ref, historyId)
        case .imagePushed(let ref, let digest, _, _), .imageStatusChanged(let ref, let digest, _):
            t.repoId = try repoId(ref)
            t.entities = [.image(digest)]
        case .imageDeleted(let ref, let digest):
            let id = try repoId(ref)
            t.repoId = id
            t.entities = [.image(digest)] + (try id.flatMap { try store.image($0, digest) }?.tags ?? []).map(Entity.tag)
        case .tagSet(let ref, let tag, _, _), .tagRemoved(let ref, let tag, _), .tagFlagChanged(let ref, let tag, _, _):
            t.repoId = try repoId(ref)
            t.entities = [.tag(tag.value)]
        case .policyCreated(let scope, _), .policyUpdated(let scope, _), .policyDeleted(let scope, _):
            let created: UInt64? = switch record.event {
            case .policyCreated: record.seq
            case .policyUpdated(_, let p): try store.policySeq(p.uuid, in: scope)
            case .policyDeleted(_, let uuid): try store.policySeq(uuid, in: scope)
            default: nil
            }
            guard let created else { break }
            switch scope {
            case .repository(let registry, let name):
                t.repoId = try repoId(RepositoryRef(registryId: registry, name: name))
                t.entities = [.policy(createdSeq: created, scope)]
            case .organization:
                t.organizationPolicy = (scope, created)
            }
        }
        return t
    }

    /// Stores the versions of what `touched` names, as `store` holds them after event `seq` applied.
    static func record(_ touched: Touched, seq: UInt64, _ store: some HistoryStore) throws {
        if let hid = touched.historyId, let ref = touched.repository {
            let repo = try store.repository(ref)
            try store.putRepositoryVersion(historyId: hid, seq: seq, repo.map { $0.encoded() } ?? [])
        }
        if let (scope, created) = touched.organizationPolicy {
            let policy = try store.policy(scope, createdSeq: created)
            try store.putOrganizationPolicyVersion(scope, createdSeq: created, seq: seq, policy.map(PolicyRecord.encode) ?? [])
        }
        guard let id = touched.repoId else { return }
        for entity in touched.entities {
            var value = BinaryWriter(capacity: 40)
            switch entity {
            case .image(let digest):
                if let image = try store.image(id, digest) { value.u8(EventCodec.statusCode(image.status)) }
            case .policy(let created, let scope):
                if let policy = try store.policy(scope, createdSeq: created) { value.raw(PolicyRecord.encode(policy)) }
            case .tag(let name):
                if let tag = try store.tag(id, name) { value.digest(tag.digest); value.bool(tag.immutable) }
            }
            try store.putContentVersion(repoId: id, entity, seq: seq, value.bytes)
        }
    }

    // MARK: reading

    /// The record and state of `ref` after event `seq`, or nil when it did not exist then.
    static func state(_ ref: RepositoryRef, at seq: UInt64, _ txn: Transaction, _ dbs: ProjectionDatabases) throws
        -> (record: RepoRecord, state: RepositoryState)? {
        guard let repo = try repository(ref, at: seq, txn, dbs) else { return nil }
        var images: [(digest: Digest, status: ImageStatus)] = []
        var tags: [TagState] = []
        var policies: [Policy] = []
        let prefix = KeyLayout.u64(repo.repoId)
        try latest(txn, dbs.contentVersions, prefix: prefix, at: seq) { key, value in
            guard !value.isEmpty else { return }
            switch key[8] {
            case Entity.imageKind where key.count == 8 + 1 + 32 + 8:
                images.append((Digest(rawPointer: UnsafeRawBufferPointer(rebasing: key[9..<41])), try EventCodec.status(code: value[0])))
            case Entity.policyKind:
                policies.append(try PolicyRecord.decode(value))
            case Entity.tagKind where key.count > 8 + 1 + 1 + 8 && value.count == 33:
                let name = try BinaryReader.string(UnsafeRawBufferPointer(rebasing: key[9..<(key.count - 9)]))
                tags.append(TagState(tag: name, digest: Digest(rawPointer: UnsafeRawBufferPointer(rebasing: value[0..<32])), immutable: value[32] != 0))
            default:
                throw DecodingError(reason: "malformed version row of \(key.count) bytes")
            }
        }
        // An image's tags are the tags naming it: the tags' positions ordered by digest (and by
        // name within one, the order they came in) walk along the images, which are in digest order.
        let byDigest = tags.indices.sorted { a, b in tags[a].digest < tags[b].digest || (tags[a].digest == tags[b].digest && a < b) }
        var next = byDigest.startIndex
        let imageStates = images.map { image -> ImageState in
            while next < byDigest.endIndex, tags[byDigest[next]].digest < image.digest { next += 1 }
            var names: [String] = []
            while next < byDigest.endIndex, tags[byDigest[next]].digest == image.digest {
                names.append(tags[byDigest[next]].tag)
                next += 1
            }
            return ImageState(digest: image.digest, tags: names, status: image.status)
        }
        return (repo, RepositoryState(registryId: ref.registryId, name: ref.name, mutability: repo.mutability,
                                      policies: policies, images: imageStates, tags: tags))
    }

    /// The policies of organization `org` after event `seq` (creation order), or nil when the
    /// organization was not known then (before its first repository).
    static func organizationPolicies(_ registry: RegistryId, _ org: String, at seq: UInt64, _ txn: Transaction,
                                     _ dbs: ProjectionDatabases) throws -> [Policy]? {
        let known = try txn.withValue(dbs.organizations, key: KeyLayout.organization(registry, org)) { v -> UInt64? in
            guard let v else { return nil }
            guard v.count == 8 else { throw DecodingError(reason: "organization row of \(v.count) bytes") }
            return KeyLayout.readU64(v)
        }
        guard let known, known <= seq else { return nil }
        var policies: [Policy] = []
        try latest(txn, dbs.organizationVersions, prefix: KeyLayout.scope(.organization(registry, org)), at: seq) { _, value in
            if !value.isEmpty { policies.append(try PolicyRecord.decode(value)) }
        }
        return policies
    }

    /// The repository record of `ref` after event `seq`, or nil when it did not exist then.
    static func repository(_ ref: RepositoryRef, at seq: UInt64, _ txn: Transaction, _ dbs: ProjectionDatabases) throws -> RepoRecord? {
        let hid = HistoryIndex.repoPrefix(ref)
        return try txn.withCursor(dbs.repoVersions) { c -> RepoRecord? in
            let after = try c.seek(atOrAfter: hid + KeyLayout.u64(seq &+ 1))
            guard let at = after == nil ? try c.last() : try c.previous(), at.key.count == 24, KeyLayout.hasPrefix(at.key, hid),
                  !at.value.isEmpty else { return nil }
            return try RepoRecord(at.value)
        }
    }

    /// Visits, in key order, the latest version at or before `seq` of every entity under
    /// `prefix` (keys: prefix, entity, seq(8)). An entity's versions are stepped over with the
    /// cursor while they are few (no search from the root); past a handful it seeks straight to
    /// its version at `seq`, and past the rest, so a tag moved a million times costs what one
    /// moved once does.
    static func latest(_ txn: Transaction, _ db: Database, prefix: [UInt8], at seq: UInt64,
                       _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void) throws {
        let walkLimit = 8
        try txn.withCursor(db) { c in
            var entry = try c.seek(atOrAfter: prefix)
            while let head = entry, KeyLayout.hasPrefix(head.key, prefix) {
                guard head.key.count > prefix.count + 8 else { throw DecodingError(reason: "version key of \(head.key.count) bytes") }
                // Map buffers stay valid for the read transaction: `head` and `best` may trail the cursor.
                let n = head.key.count - 8
                func isEntity(_ key: UnsafeRawBufferPointer) -> Bool {
                    key.count == n + 8 && memcmp(key.baseAddress!, head.key.baseAddress!, n) == 0
                }
                func entity(then seq: UInt64) -> [UInt8] { Array(head.key[..<n]) + KeyLayout.u64(seq) }
                var best: Cursor.Entry? = KeyLayout.readU64(head.key, at: n) <= seq ? head : nil
                entry = try c.next()
                var walked = 0
                while best != nil, let e = entry, isEntity(e.key), KeyLayout.readU64(e.key, at: n) <= seq {
                    walked += 1
                    if walked == walkLimit {
                        // Many versions: the one at `seq` is the last before seq + 1.
                        let after = try c.seek(atOrAfter: entity(then: seq &+ 1))
                        best = after == nil ? try c.last() : try c.previous()
                        entry = try c.next()
                        break
                    }
                    best = e
                    entry = try c.next()
                }
                if let best { try body(best.key, best.value) }
                // Past the entity's versions after `seq`: stepped over while few, else one seek.
                var skipped = 0
                while let e = entry, isEntity(e.key) {
                    skipped += 1
                    if skipped == walkLimit {
                        entry = try c.seek(atOrAfter: entity(then: .max))
                        if let e = entry, isEntity(e.key) { entry = try c.next() }
                        break
                    }
                    entry = try c.next()
                }
            }
        }
    }
}
