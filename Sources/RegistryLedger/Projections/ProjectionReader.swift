import LMDB

/// Reads projected state inside one transaction. Used by decisions (in the write transaction)
/// and by queries (in read transactions).
struct ProjectionReader {
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

    /// Policies of one scope in creation order, with their keys.
    func policies(_ scope: PolicyScope) throws -> [(key: [UInt8], policy: Policy)] {
        var out: [(key: [UInt8], policy: Policy)] = []
        try scan(dbs.policies, prefix: KeyLayout.scope(scope)) { e in
            out.append((Array(e.key), try PolicyRecord.decode(e.value)))
            return true
        }
        return out
    }

    /// The policies that govern tags of `repo`: its namespace's, then its own.
    func governingPolicies(_ repo: RepositoryRef) throws -> [Policy] {
        var out: [Policy] = []
        if let org = repo.name.namespace {
            out += try policies(.organization(repo.registryId, org)).map(\.policy)
        }
        out += try policies(.repository(repo.registryId, repo.name)).map(\.policy)
        return out
    }

    /// The policy stored under `key` (from ``policyKey(_:)``).
    func policy(at key: [UInt8]) throws -> Policy {
        guard let bytes = try txn.get(dbs.policies, key: key) else {
            throw LedgerError(.storage, "projections disagree with the log: dangling policy index")
        }
        return try bytes.withUnsafeBytes { try PolicyRecord.decode($0) }
    }

    /// The policy `uuid` if it belongs to `scope`.
    func policy(_ uuid: String, in scope: PolicyScope) throws -> Policy? {
        guard let key = try policyKey(uuid), key.starts(with: KeyLayout.scope(scope)) else { return nil }
        return try policy(at: key)
    }

    /// The uuid of the policy of `scope` whose pattern is `pattern`, if any.
    func policyUUID(withPattern pattern: String, in scope: PolicyScope) throws -> String? {
        try txn.get(dbs.policyPatterns, key: KeyLayout.policyPattern(scope, pattern)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Key of policy `uuid` in the policies database, if it exists.
    func policyKey(_ uuid: String) throws -> [UInt8]? {
        try txn.get(dbs.policyIndex, key: Array(uuid.utf8))
    }

    /// Repositories of `registry` in namespace `org`.
    func repositories(inNamespace org: String, registry: RegistryId) throws -> [(RepositoryRef, RepoRecord)] {
        var out: [(RepositoryRef, RepoRecord)] = []
        try scan(dbs.repos, prefix: KeyLayout.repositoryPrefix(registry, namePrefix: org + "/")) { e in
            let name = String(decoding: e.key[12...], as: UTF8.self)
            out.append((RepositoryRef(registryId: registry, name: RepositoryName(unchecked: name)), try RepoRecord(e.value)))
            return true
        }
        return out
    }

    /// All tags of a repository in name order.
    func tags(_ repoId: UInt64) throws -> [(name: String, record: TagRecord)] {
        var out: [(name: String, record: TagRecord)] = []
        try scan(dbs.tags, prefix: KeyLayout.u64(repoId)) { e in
            out.append((String(decoding: e.key[8...], as: UTF8.self), try TagRecord(e.value)))
            return true
        }
        return out
    }

    /// All images of a repository in digest order (`mediaType`: see ``ImageRecord/init(_:mediaType:)``).
    func images(_ repoId: UInt64, mediaType: Bool = true) throws -> [(digest: Digest, record: ImageRecord)] {
        var out: [(digest: Digest, record: ImageRecord)] = []
        try scan(dbs.images, prefix: KeyLayout.u64(repoId)) { e in
            out.append((Digest(rawPointer: UnsafeRawBufferPointer(rebasing: e.key[8...])), try ImageRecord(e.value, mediaType: mediaType)))
            return true
        }
        return out
    }
}
