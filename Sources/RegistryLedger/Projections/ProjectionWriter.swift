import LMDB

/// Applies events to projected state. The only code that decides what an event changes:
/// commands, rebuild, verification and time travel all go through ``apply(_:)``, so they cannot
/// drift apart; where the state is kept is the ``ProjectionStore``'s business.
struct ProjectionWriter<Store: ProjectionStore> {
    let store: Store

    init(_ store: Store) { self.store = store }

    /// Applies one record's event to state alone (no history): a command's view, a scratch
    /// replay. Throws only on storage errors or a log that contradicts the projections (a
    /// corrupt store).
    func applyState(_ record: EventRecord) throws {
        let ts = record.timestamp
        switch record.event {
        case .repositoryCreated(let ref, let mutability):
            let id = try store.allocateRepositoryId()
            try store.putRepository(ref, RepoRecord(repoId: id, createdAt: ts, mutability: mutability))
            if let org = ref.name.namespace { try store.noteOrganization(ref.registryId, org, seq: record.seq) }

        case .repositoryDeleted(let ref):
            try store.deleteRepository(ref, repoId: try requireId(ref))

        case .tagMutabilityChanged(let ref, let mutability):
            var repo = try require(ref)
            repo.mutability = mutability
            try store.putRepository(ref, repo)

        case .imagePushed(let ref, let digest, let mediaType, let size, let subject):
            let id = try requireId(ref)
            try store.putImage(id, digest, ImageRecord(mediaType: mediaType, size: size, status: .active, pushedAt: ts, tags: [], subject: subject))
            try store.putListing(id, digest, tag: nil, status: .active)
            if let subject { try store.putReferrer(id, subject: subject, digest) }
            try store.noteManifest(digest, seq: record.seq)

        case .tagSet(let ref, let tag, let digest, let previous):
            let id = try requireId(ref)
            if let previous { try detach(tag.value, from: previous, repoId: id) }
            try attach(tag.value, to: digest, repoId: id)
            let flag = try store.tag(id, tag.value)?.immutable ?? false
            try store.putTag(id, tag.value, TagRecord(digest: digest, immutable: flag, lastModified: ts))

        case .tagRemoved(let ref, let tag, let digest):
            let id = try requireId(ref)
            try detach(tag.value, from: digest, repoId: id)
            try store.deleteTag(id, tag.value)

        case .imageDeleted(let ref, let digest), .imageExpired(let ref, let digest, _):
            let id = try requireId(ref)
            let image = try requireImage(id, digest)
            for tag in image.tags {
                try store.deleteTag(id, tag)
                try store.deleteListing(id, digest, tag: tag)
            }
            try store.deleteListing(id, digest, tag: nil)
            try store.deleteImage(id, digest)
            if let subject = image.subject { try store.deleteReferrer(id, subject: subject, digest) }

        case .imageStatusChanged(let ref, let digest, _), .imageTransitioned(let ref, let digest, _):
            let status: ImageStatus = if case .imageStatusChanged(_, _, let s) = record.event { s } else { .archived }
            let id = try requireId(ref)
            let tags = try requireUpdatedImage(id, digest) { image in
                image.status = status
                return image.tags
            }
            let entries: [String?] = tags.isEmpty ? [nil] : tags
            for tag in entries { try store.putListing(id, digest, tag: tag, status: status) }

        case .policyCreated(let scope, let policy):
            try store.createPolicy(scope, createdSeq: record.seq, policy)

        case .policyUpdated(let scope, let policy):
            let (seq, old) = try requirePolicy(policy.uuid, in: scope)
            try store.replacePolicy(scope, createdSeq: seq, old: old, new: policy)

        case .policyDeleted(let scope, let uuid):
            let (seq, old) = try requirePolicy(uuid, in: scope)
            try store.deletePolicy(scope, createdSeq: seq, old)

        case .settingsChanged(let ref, let settings):
            var repo = try require(ref)
            repo.settings = settings
            try store.putRepository(ref, repo)

        case .resourceTagsChanged(let ref, let tags):
            var repo = try require(ref)
            repo.resourceTags = tags
            try store.putRepository(ref, repo)

        case .lifecyclePolicyChanged(let ref, let text):
            var repo = try require(ref)
            repo.lifecyclePolicy = text
            try store.putRepository(ref, repo)

        case .blobLinked(let ref, let digest, let size):
            try store.putBlob(try requireId(ref), digest, BlobRecord(size: size, linkedAt: ts))

        case .blobUnlinked(let ref, let digest):
            try store.deleteBlob(try requireId(ref), digest)

        case .tagFlagChanged(let ref, let tag, let immutable, _):
            let id = try requireId(ref)
            guard var tagRecord = try store.tag(id, tag.value) else { throw inconsistent("flag on unknown tag \(tag)") }
            tagRecord.immutable = immutable
            try store.putTag(id, tag.value, tagRecord)
        }
    }

    /// Removes `tag` from image `digest`; an image left without tags gets its untagged listing entry.
    private func detach(_ tag: String, from digest: Digest, repoId id: UInt64) throws {
        let (untagged, status) = try requireUpdatedImage(id, digest) { image in
            image.tags.removeAll { $0 == tag }
            return (image.tags.isEmpty, image.status)
        }
        try store.deleteListing(id, digest, tag: tag)
        if untagged { try store.putListing(id, digest, tag: nil, status: status) }
    }

    private func attach(_ tag: String, to digest: Digest, repoId id: UInt64) throws {
        let (wasUntagged, status) = try requireUpdatedImage(id, digest) { image in
            let wasUntagged = image.tags.isEmpty
            image.tags.insert(tag, at: image.tags.firstIndex { $0 > tag } ?? image.tags.endIndex)
            return (wasUntagged, image.status)
        }
        if wasUntagged { try store.deleteListing(id, digest, tag: nil) }
        try store.putListing(id, digest, tag: tag, status: status)
    }

    private func requireId(_ ref: RepositoryRef) throws -> UInt64 {
        guard let id = try store.repositoryId(ref) else { throw inconsistent("unknown repository \(ref)") }
        return id
    }

    private func require(_ ref: RepositoryRef) throws -> RepoRecord {
        guard let repo = try store.repository(ref) else { throw inconsistent("unknown repository \(ref)") }
        return repo
    }

    private func requireImage(_ id: UInt64, _ digest: Digest) throws -> ImageRecord {
        guard let image = try store.image(id, digest) else { throw inconsistent("unknown image \(digest)") }
        return image
    }

    /// Changes image `digest` with `body`; the log contradicts the projections if it is unknown.
    private func requireUpdatedImage<R>(_ id: UInt64, _ digest: Digest, _ body: (inout ImageRecord) throws -> R) throws -> R {
        guard let result = try store.updateImage(id, digest, body) else { throw inconsistent("unknown image \(digest)") }
        return result
    }

    private func requirePolicy(_ uuid: String, in scope: PolicyScope) throws -> (UInt64, Policy) {
        guard let seq = try store.policySeq(uuid, in: scope), let policy = try store.policy(scope, createdSeq: seq) else {
            throw inconsistent("unknown policy \(uuid)")
        }
        return (seq, policy)
    }

    private func inconsistent(_ what: String) -> LedgerError {
        LedgerError(.storage, "projections disagree with the log: \(what)")
    }
}

extension ProjectionWriter where Store: HistoryStore {
    /// Applies one record's event and records it in the history indexes and the temporal index.
    func apply(_ record: EventRecord) throws {
        let historyId = record.event.repository.map(store.historyId)
        let touched = try Versions.touched(record, historyId: historyId, store)
        try HistoryIndex.index(record, historyId: historyId, store)
        try applyState(record)
        try Versions.record(touched, seq: record.seq, store)
    }
}

extension ProjectionWriter where Store == LMDBProjections {
    /// A writer of the projection generation `dbs` in the write transaction `txn`.
    init(txn: WriteTransaction, dbs: ProjectionTables) {
        self.init(LMDBProjections(txn: txn, dbs: dbs))
    }
}
