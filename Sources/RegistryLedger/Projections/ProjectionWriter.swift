import LMDB

/// Applies events to the projection databases. The only code that writes projections: commands,
/// rebuild and replay all go through ``apply(_:)``, so they cannot drift apart.
struct ProjectionWriter {
    let txn: Transaction
    let dbs: ProjectionDatabases
    /// Maintain the history indexes too (off when replaying into a scratch space).
    var indexesHistory = true
    var reader: ProjectionReader { ProjectionReader(txn: txn, dbs: dbs) }

    private static let nextRepoIdKey = Array("nextRepoId".utf8)

    /// Applies one record's event. Throws only on storage errors or a log that contradicts the
    /// projections (a corrupt store).
    func apply(_ record: EventRecord) throws {
        guard indexesHistory else { return try applyState(record) }
        let historyId = record.event.repository.map(HistoryIndex.repoPrefix)
        try HistoryIndex.index(record, historyId: historyId, self)
        try applyState(record)
        try HistoryIndex.checkpointIfDue(record, historyId: historyId, self)
    }

    private func applyState(_ record: EventRecord) throws {
        let ts = record.timestamp
        switch record.event {
        case .repositoryCreated(let ref, let mutability):
            let id = (try txn.get(dbs.counters, key: Self.nextRepoIdKey).map { $0.withUnsafeBytes { KeyLayout.readU64($0) } } ?? 0) + 1
            try txn.put(dbs.counters, key: Self.nextRepoIdKey, value: KeyLayout.u64(id))
            try txn.put(dbs.repos, key: KeyLayout.repository(ref),
                        value: RepoRecord(repoId: id, createdAt: ts, mutability: mutability).encoded())
            if let org = ref.name.namespace {
                let key = KeyLayout.organization(ref.registryId, org)
                if try !txn.contains(dbs.organizations, key: key) {
                    try txn.put(dbs.organizations, key: key, value: KeyLayout.u64(record.seq))
                }
            }

        case .repositoryDeleted(let ref):
            let repo = try require(ref)
            let prefix = KeyLayout.u64(repo.repoId)
            for db in [dbs.images, dbs.tags, dbs.listing] { try deleteAll(db, prefix: prefix) }
            let scope = PolicyScope.repository(ref.registryId, ref.name)
            for (key, policy) in try reader.policies(scope) {
                try txn.delete(dbs.policies, key: key)
                try txn.delete(dbs.policyIndex, key: Array(policy.uuid.utf8))
                try txn.delete(dbs.policyPatterns, key: KeyLayout.policyPattern(scope, policy.tagPattern))
            }
            try txn.delete(dbs.repos, key: KeyLayout.repository(ref))

        case .tagMutabilityChanged(let ref, let mutability):
            var repo = try require(ref)
            repo.mutability = mutability
            try txn.put(dbs.repos, key: KeyLayout.repository(ref), value: repo.encoded())

        case .imagePushed(let ref, let digest, let mediaType, let size):
            let id = try require(ref).repoId
            let image = ImageRecord(mediaType: mediaType, size: size, status: .active, pushedAt: ts, tags: [])
            try txn.put(dbs.images, key: KeyLayout.image(id, digest), value: image.encoded())
            try txn.put(dbs.listing, key: KeyLayout.listing(id, digest, tag: nil), value: [EventCodec.statusCode(.active)])

        case .tagSet(let ref, let tag, let digest, let previous):
            let id = try require(ref).repoId
            if let previous { try detach(tag.value, from: previous, repoId: id) }
            try attach(tag.value, to: digest, repoId: id)
            let flag = try reader.tag(id, tag.value)?.immutable ?? false
            try txn.put(dbs.tags, key: KeyLayout.tag(id, tag.value),
                        value: TagRecord(digest: digest, immutable: flag, lastModified: ts).encoded())

        case .tagRemoved(let ref, let tag, let digest):
            let id = try require(ref).repoId
            try detach(tag.value, from: digest, repoId: id)
            try txn.delete(dbs.tags, key: KeyLayout.tag(id, tag.value))

        case .imageDeleted(let ref, let digest):
            let id = try require(ref).repoId
            let image = try requireImage(id, digest)
            for tag in image.tags {
                try txn.delete(dbs.tags, key: KeyLayout.tag(id, tag))
                try txn.delete(dbs.listing, key: KeyLayout.listing(id, digest, tag: tag))
            }
            try txn.delete(dbs.listing, key: KeyLayout.listing(id, digest, tag: nil))
            try txn.delete(dbs.images, key: KeyLayout.image(id, digest))

        case .imageStatusChanged(let ref, let digest, let status):
            let id = try require(ref).repoId
            var image = try requireImage(id, digest)
            image.status = status
            try txn.put(dbs.images, key: KeyLayout.image(id, digest), value: image.encoded())
            let entries: [String?] = image.tags.isEmpty ? [nil] : image.tags
            for tag in entries {
                try txn.put(dbs.listing, key: KeyLayout.listing(id, digest, tag: tag), value: [EventCodec.statusCode(status)])
            }

        case .policyCreated(let scope, let policy):
            let key = KeyLayout.scope(scope) + KeyLayout.u64(record.seq)
            try txn.put(dbs.policies, key: key, value: PolicyRecord.encode(policy))
            try txn.put(dbs.policyIndex, key: Array(policy.uuid.utf8), value: key)
            try txn.put(dbs.policyPatterns, key: KeyLayout.policyPattern(scope, policy.tagPattern), value: Array(policy.uuid.utf8))

        case .policyUpdated(let scope, let policy):
            let key = try requirePolicy(policy.uuid)
            let old = try reader.policy(at: key)
            try txn.delete(dbs.policyPatterns, key: KeyLayout.policyPattern(scope, old.tagPattern))
            try txn.put(dbs.policies, key: key, value: PolicyRecord.encode(policy))
            try txn.put(dbs.policyPatterns, key: KeyLayout.policyPattern(scope, policy.tagPattern), value: Array(policy.uuid.utf8))

        case .policyDeleted(let scope, let uuid):
            let key = try requirePolicy(uuid)
            let old = try reader.policy(at: key)
            try txn.delete(dbs.policies, key: key)
            try txn.delete(dbs.policyIndex, key: Array(uuid.utf8))
            try txn.delete(dbs.policyPatterns, key: KeyLayout.policyPattern(scope, old.tagPattern))

        case .tagFlagChanged(let ref, let tag, let immutable, _):
            let id = try require(ref).repoId
            guard var record = try reader.tag(id, tag.value) else { throw inconsistent("flag on unknown tag \(tag)") }
            record.immutable = immutable
            try txn.put(dbs.tags, key: KeyLayout.tag(id, tag.value), value: record.encoded())
        }
    }

    /// Removes `tag` from image `digest`; an image left without tags gets its untagged listing entry.
    private func detach(_ tag: String, from digest: Digest, repoId id: UInt64) throws {
        var image = try requireImage(id, digest)
        image.tags.removeAll { $0 == tag }
        try txn.put(dbs.images, key: KeyLayout.image(id, digest), value: image.encoded())
        try txn.delete(dbs.listing, key: KeyLayout.listing(id, digest, tag: tag))
        if image.tags.isEmpty {
            try txn.put(dbs.listing, key: KeyLayout.listing(id, digest, tag: nil), value: [EventCodec.statusCode(image.status)])
        }
    }

    private func attach(_ tag: String, to digest: Digest, repoId id: UInt64) throws {
        var image = try requireImage(id, digest)
        if image.tags.isEmpty { try txn.delete(dbs.listing, key: KeyLayout.listing(id, digest, tag: nil)) }
        let at = image.tags.firstIndex { $0 > tag } ?? image.tags.endIndex
        image.tags.insert(tag, at: at)
        try txn.put(dbs.images, key: KeyLayout.image(id, digest), value: image.encoded())
        try txn.put(dbs.listing, key: KeyLayout.listing(id, digest, tag: tag), value: [EventCodec.statusCode(image.status)])
    }

    private func deleteAll(_ db: Database, prefix: [UInt8]) throws {
        try txn.withCursor(db) { c in
            var entry = try c.seek(atOrAfter: prefix)
            while let e = entry, KeyLayout.hasPrefix(e.key, prefix) {
                try c.deleteCurrent()
                // After a delete the cursor stands on the next entry; re-read it.
                entry = try c.seek(atOrAfter: prefix)
            }
        }
    }

    private func require(_ ref: RepositoryRef) throws -> RepoRecord {
        guard let repo = try reader.repository(ref) else { throw inconsistent("unknown repository \(ref)") }
        return repo
    }

    private func requireImage(_ id: UInt64, _ digest: Digest) throws -> ImageRecord {
        guard let image = try reader.image(id, digest) else { throw inconsistent("unknown image \(digest)") }
        return image
    }

    private func requirePolicy(_ uuid: String) throws -> [UInt8] {
        guard let key = try reader.policyKey(uuid) else { throw inconsistent("unknown policy \(uuid)") }
        return key
    }

    private func inconsistent(_ what: String) -> LedgerError {
        LedgerError(.storage, "projections disagree with the log: \(what)")
    }
}
