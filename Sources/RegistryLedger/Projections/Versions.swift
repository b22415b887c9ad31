import Foundation
import LMDB

/// The temporal index that time travel reads: every value a repository or one of its images,
/// tags or repository-scope policies took, keyed by the seq that gave it, so that the state at
/// seq S is, per entity, its latest version at or before S. No state is ever copied: an event
/// adds a version for each entity it changes (one or two; an image deletion one per tag it
/// removes, each of which an earlier event created), whatever the size of its repository.
///
/// The tables (``ProjectionTables``): `repoVersions` (history id, seq → repository record or
/// none: deleted), `contentVersions` (repository id, entity, seq → the entity's
/// ``ContentVersion``, or empty: gone), `organizationVersions` (organization scope, creation
/// seq, seq → policy or none: deleted).
///
/// Content is keyed by repository id, which names one incarnation of a repository (ids are never
/// reused): deleting a repository needs one version (its own) and nothing of an earlier
/// incarnation can leak into a later one.
enum Versions {
    typealias Entity = ContentEntityKey.Entity

    /// What an event is about to change, found before it applies (an image deletion removes tags
    /// that applying it forgets); ``record(_:seq:_:)`` writes their versions after it applied.
    struct Touched {
        var repository: RepositoryRef?
        var historyId: [UInt8]?
        var repoId: UInt64?
        var entities: [Entity] = []
        /// The scope of a repository's policy among `entities`.
        var policyScope: PolicyScope?
        /// An organization's policy: its scope and creation seq.
        var organizationPolicy: (scope: PolicyScope, createdSeq: UInt64)?
    }

    /// The entities `record` changes, read from `store` before it applies.
    static func touched(_ record: EventRecord, historyId: [UInt8]?, _ store: some HistoryStore) throws -> Touched {
        var t = Touched()
        func repoId(_ ref: RepositoryRef) throws -> UInt64? { try store.repositoryId(ref) }
        switch record.event {
        case .repositoryCreated(let ref, _), .repositoryDeleted(let ref), .tagMutabilityChanged(let ref, _),
             .settingsChanged(let ref, _), .resourceTagsChanged(let ref, _), .lifecyclePolicyChanged(let ref, _):
            // The repository's own version.
            (t.repository, t.historyId) = (ref, historyId)
        case .imagePushed(let ref, let digest, _, _, _), .imageStatusChanged(let ref, let digest, _), .imageTransitioned(let ref, let digest, _):
            t.repoId = try repoId(ref)
            t.entities = [.image(digest)]
        case .imageDeleted(let ref, let digest), .imageExpired(let ref, let digest, _):
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
                t.entities = [.policy(createdSeq: created)]
                t.policyScope = scope
            case .organization:
                t.organizationPolicy = (scope, created)
            }
        case .blobLinked, .blobUnlinked:
            break  // which blobs a repository holds is not part of its state in time
        }
        return t
    }

    /// Stores the versions of what `touched` names, as `store` holds them after event `seq` applied.
    static func record(_ touched: Touched, seq: UInt64, _ store: some HistoryStore) throws {
        if let hid = touched.historyId, let ref = touched.repository {
            try store.putRepositoryVersion(historyId: hid, seq: seq, try store.repository(ref))
        }
        if let (scope, created) = touched.organizationPolicy {
            try store.putOrganizationPolicyVersion(scope, createdSeq: created, seq: seq, try store.policy(scope, createdSeq: created))
        }
        guard let id = touched.repoId else { return }
        for entity in touched.entities {
            let value: [UInt8]? = switch entity {
            case .image(let digest): try store.image(id, digest).map { ImageStatusCode.encode($0.status) }
            case .policy(let created): try touched.policyScope.flatMap { try store.policy($0, createdSeq: created) }.map(PolicyRecord.encode)
            case .tag(let name): try store.tag(id, name).map { TagVersionValue.encode(($0.digest, $0.immutable)) }
            }
            try store.putContentVersion(repoId: id, entity, seq: seq, value ?? [])
        }
    }

    // MARK: reading

    /// The record and state of `ref` after event `seq`, or nil when it did not exist then.
    static func state(_ ref: RepositoryRef, at seq: UInt64, _ txn: ReadTransaction, _ dbs: ProjectionTables) throws
        -> (record: RepoRecord, state: RepositoryState)? {
        guard let repo = try repository(ref, at: seq, txn, dbs) else { return nil }
        var images: [(digest: Digest, status: ImageStatus)] = []
        var tags: [TagState] = []
        var policies: [Policy] = []
        try latest(txn, dbs.contentVersions, prefix: ContentEntityKey.prefix(repo.repoId), at: seq) { version in
            guard !version.rawValue.isEmpty else { return }
            switch try ContentEntityKey.decode(try ThenSeq<ContentEntityKey>.head(of: version.rawKey)).entity {
            case .image(let digest):
                images.append((digest, try ImageStatusCode.decode(version.rawValue)))
            case .policy:
                policies.append(try PolicyRecord.decode(version.rawValue))
            case .tag(let name):
                let (digest, immutable) = try TagVersionValue.decode(version.rawValue)
                tags.append(TagState(tag: name, digest: digest, immutable: immutable))
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
                                      policies: policies, images: imageStates, tags: tags,
                                      settings: repo.settings, resourceTags: repo.resourceTags, lifecyclePolicy: repo.lifecyclePolicy))
    }

    /// The policies of organization `org` after event `seq` (creation order), or nil when the
    /// organization was not known then (before its first repository).
    static func organizationPolicies(_ registry: RegistryId, _ org: String, at seq: UInt64, _ txn: ReadTransaction,
                                     _ dbs: ProjectionTables) throws -> [Policy]? {
        guard let known = try txn.get(dbs.organizations, (registry, org)), known <= seq else { return nil }
        var policies: [Policy] = []
        try latest(txn, dbs.organizationVersions, prefix: PolicyScopeKey.encode(.organization(registry, org)), at: seq) { version in
            if let policy = try version.value() { policies.append(policy) }
        }
        return policies
    }

    /// The repository record of `ref` after event `seq`, or nil when it did not exist then.
    static func repository(_ ref: RepositoryRef, at seq: UInt64, _ txn: ReadTransaction, _ dbs: ProjectionTables) throws -> RepoRecord? {
        let hid = HistoryIdKey.of(ref)
        return try txn.withCursor(dbs.repoVersions) { c -> RepoRecord? in
            guard let at = try c.seek(beforeBytes: ThenSeq<HistoryIdKey>.encode((hid, seq &+ 1))), at.keyHasPrefix(hid) else { return nil }
            return try at.value()
        }
    }

    /// Visits, in key order, the latest version at or before `seq` of every entity under
    /// `prefix` (keys: an entity's head, then seq). An entity's versions are stepped over with
    /// the cursor while they are few (no search from the root); past a handful it seeks straight
    /// to its version at `seq`, and past the rest, so a tag moved a million times costs what one
    /// moved once does.
    static func latest<Head, Value>(_ txn: ReadTransaction, _ table: Table<ThenSeq<Head>, Value>, prefix: [UInt8], at seq: UInt64,
                                    _ body: (Table<ThenSeq<Head>, Value>.Entry) throws -> Void) throws {
        typealias Key = ThenSeq<Head>
        let walkLimit = 8
        try txn.withCursor(table) { c in
            var entry = try c.seek(atOrAfterBytes: prefix)
            while let head = entry, head.keyHasPrefix(prefix) {
                // Map buffers stay valid for the read transaction: `head` and `best` may trail the cursor.
                let entity = try Key.head(of: head.rawKey)
                guard entity.count > prefix.count else { throw DecodingError(reason: "version key of \(head.rawKey.count) bytes") }
                func isEntity(_ e: Cursor<Key, Value>.Entry) -> Bool {
                    e.rawKey.count == entity.count + 8 && memcmp(e.rawKey.baseAddress!, entity.baseAddress!, entity.count) == 0
                }
                var best: Cursor<Key, Value>.Entry? = try Key.seq(of: head.rawKey) <= seq ? head : nil
                entry = try c.next()
                var walked = 0
                while best != nil, let e = entry, isEntity(e), try Key.seq(of: e.rawKey) <= seq {
                    walked += 1
                    if walked == walkLimit {
                        // Many versions: the one at `seq` is the last before seq + 1.
                        best = try c.seek(beforeBytes: Key.key(head: entity, seq: seq &+ 1))
                        entry = try c.next()
                        break
                    }
                    best = e
                    entry = try c.next()
                }
                if let best { try body(best) }
                // Past the entity's versions after `seq`: stepped over while few, else one seek.
                var skipped = 0
                while let e = entry, isEntity(e) {
                    skipped += 1
                    if skipped == walkLimit {
                        entry = try c.seek(atOrAfterBytes: Key.key(head: entity, seq: .max))
                        if let e = entry, isEntity(e) { entry = try c.next() }
                        break
                    }
                    entry = try c.next()
                }
            }
        }
    }
}
