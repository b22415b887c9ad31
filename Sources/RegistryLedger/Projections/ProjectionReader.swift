import LMDB

/// Reads projected state inside one transaction. Used by decisions (under a ``CommandView``, in
/// the write transaction) and by queries (in read transactions).
struct ProjectionReader: BaseView {
    let txn: Transaction
    let dbs: ProjectionDatabases

    func repository(_ ref: RepositoryRef) throws -> RepoRecord? {
        try KeyLayout.repository(ref).withUnsafeBytes { k in
            try txn.withValue(dbs.repos, key: k) { v in try v.map { try RepoRecord($0) } }
        }
    }

    func image(_ repoId: UInt64, _ digest: Digest) throws -> ImageRecord? {
        try KeyLayout.image(repoId, digest).withUnsafeBytes { k in
            try txn.withValue(dbs.images, key: k) { v in try v.map { try ImageRecord($0) } }
        }
    }

    func tag(_ repoId: UInt64, _ tag: String) throws -> TagRecord? {
        try KeyLayout.tag(repoId, tag).withUnsafeBytes { k in
            try txn.withValue(dbs.tags, key: k) { v in try v.map { try TagRecord($0) } }
        }
    }

    func hasImages(_ repoId: UInt64) throws -> Bool {
        let prefix = KeyLayout.u64(repoId)
        return try txn.withCursor(dbs.images) { c in
            guard let e = try c.seek(atOrAfter: prefix) else { return false }
            return KeyLayout.hasPrefix(e.key, prefix)
        }
    }

    func organizationExists(_ registry: RegistryId, _ name: String) throws -> Bool {
        try txn.contains(dbs.organizations, key: KeyLayout.organization(registry, name))
    }

    /// Visits entries whose key starts with `prefix`, from `start` (default: the prefix) on, in
    /// key order, until `body` returns false.
    func scan(_ db: Database, prefix: [UInt8], from start: [UInt8]? = nil,
              _ body: (Cursor.Entry) throws -> Bool) throws {
        try txn.withCursor(db) { c in
            let from = start ?? prefix
            var entry = from.isEmpty ? try c.first() : try c.seek(atOrAfter: from)
            while let e = entry, KeyLayout.hasPrefix(e.key, prefix) {
                guard try body(e) else { return }
                entry = try c.next()
            }
        }
    }

    func policies(_ scope: PolicyScope) throws -> [(createdSeq: UInt64, policy: Policy)] {
        var out: [(createdSeq: UInt64, policy: Policy)] = []
        try scan(dbs.policies, prefix: KeyLayout.scope(scope)) { e in
            out.append((KeyLayout.policySeq(decoding: e.key), try PolicyRecord.decode(e.value)))
            return true
        }
        return out
    }

    func policy(_ uuid: String, in scope: PolicyScope) throws -> Policy? {
        guard let seq = try policySeq(uuid, in: scope) else { return nil }
        guard let policy = try policy(scope, createdSeq: seq) else {
            throw LedgerError(.storage, "projections disagree with the log: dangling policy index")
        }
        return policy
    }

    /// The creation seq of policy `uuid` if it belongs to `scope`.
    func policySeq(_ uuid: String, in scope: PolicyScope) throws -> UInt64? {
        guard let key = try txn.get(dbs.policyIndex, key: Array(uuid.utf8)), key.count >= 8, key.starts(with: KeyLayout.scope(scope))
        else { return nil }
        return key.withUnsafeBytes { KeyLayout.policySeq(decoding: $0) }
    }

    /// The policy of `scope` created at `createdSeq`.
    func policy(_ scope: PolicyScope, createdSeq: UInt64) throws -> Policy? {
        try txn.withValue(dbs.policies, key: KeyLayout.scope(scope) + KeyLayout.u64(createdSeq)) { v in
            try v.map { try PolicyRecord.decode($0) }
        }
    }

    func policyUUID(withPattern pattern: String, in scope: PolicyScope) throws -> String? {
        try txn.get(dbs.policyPatterns, key: KeyLayout.policyPattern(scope, pattern)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The last repository id allocated (0 before the first).
    func lastRepositoryId() throws -> UInt64 {
        try txn.withValue(dbs.counters, key: LMDBProjections.nextRepoIdKey) { v in
            guard let v else { return 0 }
            guard v.count == 8 else { throw DecodingError(reason: "repository id counter of \(v.count) bytes") }
            return KeyLayout.readU64(v)
        }
    }

    /// Repositories of `registry` in namespace `org`.
    func repositories(inNamespace org: String, registry: RegistryId) throws -> [(RepositoryRef, RepoRecord)] {
        var out: [(RepositoryRef, RepoRecord)] = []
        try scan(dbs.repos, prefix: KeyLayout.repositoryPrefix(registry, namePrefix: org + "/")) { e in
            out.append((KeyLayout.repository(decoding: e.key), try RepoRecord(e.value)))
            return true
        }
        return out
    }

    /// All tags of a repository in name order.
    func tags(_ repoId: UInt64) throws -> [(name: String, record: TagRecord)] {
        var out: [(name: String, record: TagRecord)] = []
        try scan(dbs.tags, prefix: KeyLayout.u64(repoId)) { e in
            out.append((KeyLayout.tagName(decoding: e.key), try TagRecord(e.value)))
            return true
        }
        return out
    }

    /// All images of a repository in digest order (`mediaType`: see ``ImageRecord/init(_:mediaType:)``).
    func images(_ repoId: UInt64, mediaType: Bool = true) throws -> [(digest: Digest, record: ImageRecord)] {
        var out: [(digest: Digest, record: ImageRecord)] = []
        try scan(dbs.images, prefix: KeyLayout.u64(repoId)) { e in
            out.append((KeyLayout.imageDigest(decoding: e.key), try ImageRecord(e.value, mediaType: mediaType)))
            return true
        }
        return out
    }
}
