import LMDB

/// Queries: synchronous reads of the current projections, each in one read transaction.
extension Ledger {
    /// The binding of page tokens to a repository incarnation, an operation's filter.
    private func binding(_ ref: RepositoryRef, _ repo: RepoRecord, _ extra: [UInt8]) -> [UInt8] {
        RepositoryKey.encode(ref) + [0] + BigEndianU64.encode(repo.repoId) + extra
    }

    func requireRepository(_ reader: ProjectionReader, _ ref: RepositoryRef) throws -> RepoRecord {
        guard let repo = try reader.repository(ref) else { throw LedgerError.repositoryNotFound(ref) }
        return repo
    }

    /// ECR `ListImages`: (digest, tag) pairs and untagged digests, ordered by (tagged first,
    /// digest, tag). Keyset paging: an entry that exists for a whole walk is seen exactly once.
    ///
    /// - Throws: `RepositoryNotFoundException`; `InvalidParameterException` for `maxResults`
    ///   outside 1–1000 or a token not issued for this repository and filter.
    public func listImages(_ ref: RepositoryRef, filter: ImageFilter = ImageFilter(), maxResults: Int? = nil,
                           nextToken: String? = nil) throws -> ImagePage {
        let limit = try pageSize(maxResults)
        return try read { reader in
            try listImages(reader, ref, try requireRepository(reader, ref), filter, limit, nextToken, point: [])
        }
    }

    /// ECR `ListImages` as the repository was at `point`: the same entries, order, filters and
    /// paging as on current state; tokens are bound to that point too.
    public func listImages(_ ref: RepositoryRef, at point: LogPoint, filter: ImageFilter = ImageFilter(),
                           maxResults: Int? = nil, nextToken: String? = nil) throws -> ImagePage {
        let limit = try pageSize(maxResults)
        let seq = try resolve(point).seq
        let page = try withRepository(ref, at: seq) { reader -> ImagePage? in
            guard let repo = try reader.repository(ref) else { return nil }
            return try listImages(reader, ref, repo, filter, limit, nextToken, point: BigEndianU64.encode(seq))
        }
        guard let page else { throw LedgerError(.repositoryNotFound, "The repository with name '\(ref.name)' did not exist at seq \(seq)") }
        return page
    }

    private func listImages(_ reader: ProjectionReader, _ ref: RepositoryRef, _ repo: RepoRecord, _ filter: ImageFilter,
                            _ limit: Int, _ nextToken: String?, point: [UInt8]) throws -> ImagePage {
        let repoPrefix = ListingKey.prefix(repo.repoId)
        let prefix: [UInt8] = switch filter.tagStatus {
        case .tagged: ListingKey.prefix(repo.repoId, .tagged)
        case .untagged: ListingKey.prefix(repo.repoId, .untagged)
        case .any: repoPrefix
        }
        let pager = KeysetPager(kind: .listImages, binding: binding(ref, repo, filter.bindingBytes + point), base: repoPrefix,
                                prefix: prefix, key: tokenKey)
        let wanted = filter.imageStatus.status
        let (lent, token) = try pager.page(reader, reader.dbs.listing, limit: limit, nextToken: nextToken) { (e, items: inout ImageEntries.Collector) in
            if let wanted, !ImageStatusCode.holds(e.rawValue, wanted) { return }
            items.append(tail: try ListingKey.tail(e.rawKey))
        }
        return ImagePage(items: ImageEntries(lent), nextToken: token)  // copied out while `reader` still lends the keys
    }

    /// ECR `DescribeImages`. With `imageIds`, describes exactly those (an unknown one gives
    /// `ImageNotFoundException`) and ignores paging; otherwise pages over images in digest order.
    public func describeImages(_ ref: RepositoryRef, imageIds: [ImageIdentifier]? = nil, filter: ImageFilter = ImageFilter(),
                               maxResults: Int? = nil, nextToken: String? = nil) throws -> Page<ImageDetail> {
        let limit = try pageSize(maxResults)
        return try read { reader in
            let repo = try requireRepository(reader, ref)
            func detail(_ digest: Digest, _ image: ImageRecord) -> ImageDetail {
                ImageDetail(repository: ref, digest: digest, tags: image.tags, mediaType: image.mediaType,
                            size: image.size, pushedAt: image.pushedAt, status: image.status)
            }
            if let imageIds {
                var seen = Set<Digest>()
                var items: [ImageDetail] = []
                for id in imageIds {
                    let (digest, image) = try resolveImage(id, in: reader, repoId: repo.repoId)
                    if seen.insert(digest).inserted { items.append(detail(digest, image)) }
                }
                return Page(items: items, nextToken: nil)
            }
            let prefix = ImageKey.prefix(repo.repoId)
            let wanted = filter.imageStatus.status
            let pager = KeysetPager(kind: .describeImages, binding: binding(ref, repo, filter.bindingBytes), base: prefix,
                                    prefix: prefix, key: tokenKey)
            let (items, token) = try pager.page(reader, reader.dbs.images, limit: limit, nextToken: nextToken) { (e, items: inout [ImageDetail]) in
                let image = try e.value()
                if let wanted, image.status != wanted { return }
                guard filter.tagStatus.admits(tagged: !image.tags.isEmpty) else { return }
                items.append(detail(try e.key().digest, image))
            }
            return Page(items: items, nextToken: token)
        }
    }

    /// One repository as it is now. - Throws: `RepositoryNotFoundException`.
    public func repository(_ ref: RepositoryRef) throws -> Repository {
        try read { reader in Repository(ref: ref, record: try requireRepository(reader, ref)) }
    }

    /// ECR `DescribeRepositories`: the named ones (an unknown name gives
    /// `RepositoryNotFoundException`), or all of the registry, paged in name order.
    public func describeRepositories(registryId: RegistryId? = nil, names: [RepositoryName]? = nil,
                                     maxResults: Int? = nil, nextToken: String? = nil) throws -> Page<Repository> {
        let limit = try pageSize(maxResults)
        let registry = registryId ?? defaultRegistryId
        return try read { reader in
            if let names {
                let items = try names.map { name in
                    let ref = RepositoryRef(registryId: registry, name: name)
                    return Repository(ref: ref, record: try requireRepository(reader, ref))
                }
                return Page(items: items, nextToken: nil)
            }
            let prefix = RepositoryKey.prefix(registry)
            let pager = KeysetPager(kind: .describeRepositories, binding: prefix, base: prefix, prefix: prefix, key: tokenKey)
            let (items, token) = try pager.page(reader, reader.dbs.repos, limit: limit, nextToken: nextToken) { (e, items: inout [Repository]) in
                items.append(Repository(ref: try e.key(), record: try e.value()))
            }
            return Page(items: items, nextToken: token)
        }
    }

    /// One image found by ECR `BatchGetImage`.
    public struct FoundImage: Sendable, Hashable {
        public let imageId: ImageIdentifier
        public let manifest: [UInt8]
        public let mediaType: String
    }

    /// ECR `BatchGetImage`: manifests of the ids found; the others as `failures`.
    public func batchGetImage(_ ref: RepositoryRef, imageIds: [ImageIdentifier]) throws -> (images: [FoundImage], failures: [ImageFailure]) {
        try read { reader in
            let repo = try requireRepository(reader, ref)
            var images: [FoundImage] = []
            var failures: [ImageFailure] = []
            for id in imageIds {
                switch try id.resolve(in: reader, repoId: repo.repoId) {
                case .failure(let f): failures.append(f)
                case .success(let (digest, image)):
                    guard let bytes = try manifest(digest) else {
                        throw LedgerError(.storage, "manifest \(digest) is missing from the content store")
                    }
                    images.append(FoundImage(imageId: ImageIdentifier(digest: digest.description, tag: id.tag),
                                             manifest: bytes, mediaType: image.mediaType))
                }
            }
            return (images, failures)
        }
    }

    /// Quay tag list: tags by name, `limit` (1–100) per `page` (from 1), optionally one tag only.
    public func listTags(_ ref: RepositoryRef, page: Int = 1, limit: Int = 50,
                         specificTag: String? = nil) throws -> (tags: [TagInfo], hasAdditional: Bool) {
        guard page >= 1 else { throw LedgerError.invalid("page must be at least 1") }
        guard (1...100).contains(limit) else { throw LedgerError.invalid("limit must be between 1 and 100") }
        if let specificTag { _ = try Tag(specificTag) }
        return try read { reader in
            let repo = try requireRepository(reader, ref)
            var tags: [TagInfo] = []
            var skip = (page - 1) * limit
            var more = false
            let prefix = specificTag.map { TagKey.encode((repo.repoId, $0)) } ?? TagKey.prefix(repo.repoId)
            try reader.txn.forEach(reader.dbs.tags, prefix: prefix) { e in
                let name = try e.key().tag
                if let specificTag, name != specificTag { return false }
                if skip > 0 { skip -= 1; return true }
                if tags.count == limit { more = true; return false }
                let record = try e.value()
                tags.append(TagInfo(name: name, digest: record.digest, lastModified: record.lastModified,
                                    immutable: record.immutable, size: try reader.image(repo.repoId, record.digest)?.size))
                return true
            }
            return (tags, more)
        }
    }

    /// OCI distribution tag listing: up to `limit` tag names in byte order, starting after
    /// `after` (exclusive), and whether more follow.
    /// - Throws: `RepositoryNotFoundException`; `InvalidParameterException` for a negative limit
    ///   or an `after` that is not a valid tag.
    public func tagNames(_ ref: RepositoryRef, after: String? = nil, limit: Int) throws -> (names: [String], more: Bool) {
        var names: [String] = []
        let more = try forEachTagName(ref, after: after, limit: limit) { names.append(String(decoding: $0, as: UTF8.self)) }.more
        return (names, more)
    }

    /// ``tagNames(_:after:limit:)`` without making strings: each name's UTF-8 is lent to `body`
    /// straight from the map (valid only during that call), for writing an answer's bytes.
    /// Returns whether more names follow and, when they do, the name a next page resumes after.
    public func forEachTagName(_ ref: RepositoryRef, after: String? = nil, limit: Int,
                               _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> (more: Bool, resumeAfter: String?) {
        guard limit >= 0 else { throw LedgerError.invalid("limit must not be negative") }
        if let after { _ = try Tag(after) }
        return try read { reader in
            let repo = try requireRepository(reader, ref)
            var count = 0
            var full: String?
            var more = false
            try reader.txn.forEach(reader.dbs.tags, prefix: TagKey.prefix(repo.repoId), from: after.map { TagKey.after(repo.repoId, $0) }) { e in
                if count == limit { more = true; return false }
                let name = try TagKey.name(e.rawKey)
                try body(name)
                count += 1
                if count == limit { full = String(decoding: name, as: UTF8.self) }
                return true
            }
            return (more, more ? full : nil)
        }
    }

    /// Quay: the policies of a scope in creation order.
    /// - Throws: `OrganizationNotFound` / `RepositoryNotFoundException` for an unknown scope.
    public func listPolicies(_ scope: PolicyScope) throws -> [Policy] {
        try read { reader in
            try requireScope(scope, reader)
            return try reader.policies(scope).map(\.policy)
        }
    }

    /// Quay: one policy of a scope; `PolicyNotFound` for an unknown uuid or one of another scope.
    public func policy(_ scope: PolicyScope, uuid: String) throws -> Policy {
        try read { reader in
            try requireScope(scope, reader)
            guard let found = try reader.policy(uuid, in: scope) else { throw LedgerError.policyNotFound(uuid, scope) }
            return found
        }
    }

    /// The refused mutations recorded so far, oldest first.
    public func denials() throws -> [Denial] {
        try logEnv.read { txn in
            var out: [Denial] = []
            try txn.forEach(logTables.denials) { e in
                out.append(try e.value())
                return true
            }
            return out
        }
    }

    /// The log records from `from` on (at most `limit`), verified against the chain.
    public func events(from: UInt64 = 1, limit: Int = .max) throws -> [EventRecord] {
        try logEnv.read { txn in
            var out: [EventRecord] = []
            struct Enough: Error {}
            do {
                try LogReplay.forEach(txn, logTables.log, from: from) { record in
                    guard out.count < limit else { throw Enough() }
                    out.append(record)
                }
            } catch is Enough {}
            return out
        }
    }
}
