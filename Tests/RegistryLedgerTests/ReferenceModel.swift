@testable import RegistryLedger
import Testing

/// A plain in-memory statement of SPEC §2's rules, written independently of the store's code
/// paths. Each operation returns whether it should succeed and, if so, changes the model.
struct ReferenceModel {
    struct Repo {
        var mutability = TagMutability.default
        var policies: [Policy] = []
        var images: [Digest: ImageStatus] = [:]
        var tags: [String: (digest: Digest, immutable: Bool)] = [:]
    }

    var repos: [RepositoryRef: Repo] = [:]
    /// Known organizations and their policies.
    var orgs: [String: [Policy]] = [:]

    func protected(_ repo: Repo, _ tag: String) -> Bool {
        (repo.tags[tag]?.immutable ?? false) || repo.mutability.isImmutable(RegistryLedger.Tag(unchecked: tag))
    }

    func governing(_ ref: RepositoryRef) -> [Policy] {
        (ref.name.namespace.flatMap { orgs[$0] } ?? []) + (repos[ref]?.policies ?? [])
    }

    static func makesImmutable(_ p: Policy, _ tag: String) -> Bool {
        (try! TagPattern(p.tagPattern)).evaluate(tag).isMatch == p.tagPatternMatches
    }

    mutating func flagIfGoverned(_ ref: RepositoryRef, _ tag: String, _ policies: [Policy]) {
        if policies.contains(where: { Self.makesImmutable($0, tag) }) { repos[ref]!.tags[tag]!.immutable = true }
    }

    mutating func createRepository(_ ref: RepositoryRef) -> Bool {
        guard repos[ref] == nil else { return false }
        repos[ref] = Repo()
        if let org = ref.name.namespace, orgs[org] == nil { orgs[org] = [] }
        return true
    }

    mutating func deleteRepository(_ ref: RepositoryRef, force: Bool) -> Bool {
        guard let repo = repos[ref], force || repo.images.isEmpty else { return false }
        repos[ref] = nil
        return true
    }

    mutating func setMutability(_ ref: RepositoryRef, _ m: TagMutability) -> Bool {
        guard repos[ref] != nil else { return false }
        repos[ref]!.mutability = m
        return true
    }

    mutating func putImage(_ ref: RepositoryRef, _ digest: Digest, tag: String?) -> Bool {
        guard let repo = repos[ref] else { return false }
        let isNew = repo.images[digest] == nil
        if let tag, let existing = repo.tags[tag] {
            if protected(repo, tag) || existing.digest == digest { return false }
        } else if tag == nil, !isNew {
            return false
        }
        if isNew { repos[ref]!.images[digest] = .active }
        if let tag {
            repos[ref]!.tags[tag] = (digest, false)
            flagIfGoverned(ref, tag, governing(ref))
        }
        return true
    }

    mutating func batchDelete(_ ref: RepositoryRef, tag: String?, digest: Digest?) -> Bool {
        guard let repo = repos[ref] else { return false }
        let target: Digest? = tag.flatMap { repo.tags[$0]?.digest } ?? digest.flatMap { repo.images[$0] != nil ? $0 : nil }
        guard let target else { return true }  // a per-id failure; the call succeeds
        let imageTags = repo.tags.filter { $0.value.digest == target }.map(\.key)
        let removing = tag.map { [$0] } ?? imageTags
        guard !removing.contains(where: { repo.tags[$0]!.immutable }) else { return true }
        for t in removing { repos[ref]!.tags[t] = nil }
        if removing.count == imageTags.count { repos[ref]!.images[target] = nil }
        return true
    }

    mutating func storageClass(_ ref: RepositoryRef, tag: String, archive: Bool) -> Bool {
        guard let repo = repos[ref], let digest = repo.tags[tag]?.digest else { return false }
        let (from, to): (ImageStatus, ImageStatus) = archive ? (.active, .archived) : (.archived, .activating)
        guard repo.images[digest] == from else { return false }
        repos[ref]!.images[digest] = to
        return true
    }

    mutating func completeActivation(_ ref: RepositoryRef, _ digest: Digest) -> Bool {
        guard repos[ref]?.images[digest] == .activating else { return false }
        repos[ref]!.images[digest] = .active
        return true
    }

    func scopeExists(_ scope: PolicyScope) -> Bool {
        switch scope {
        case .organization(_, let org): orgs[org] != nil
        case .repository(let reg, let name): repos[RepositoryRef(registryId: reg, name: name)] != nil
        }
    }

    func policies(_ scope: PolicyScope) -> [Policy] {
        switch scope {
        case .organization(_, let org): orgs[org] ?? []
        case .repository(let reg, let name): repos[RepositoryRef(registryId: reg, name: name)]?.policies ?? []
        }
    }

    mutating func setPolicies(_ scope: PolicyScope, _ ps: [Policy]) {
        switch scope {
        case .organization(_, let org): orgs[org] = ps
        case .repository(let reg, let name): repos[RepositoryRef(registryId: reg, name: name)]!.policies = ps
        }
    }

    /// Create (`replacing` nil) or update a policy; flags matching unflagged tags in scope.
    mutating func writePolicy(_ scope: PolicyScope, _ policy: Policy, replacing: String?) -> Bool {
        guard scopeExists(scope) else { return false }
        var ps = policies(scope)
        if let replacing, !ps.contains(where: { $0.uuid == replacing }) { return false }
        if ps.contains(where: { $0.tagPattern == policy.tagPattern && $0.uuid != replacing }) { return false }
        if let i = ps.firstIndex(where: { $0.uuid == replacing }) { ps[i] = policy } else { ps.append(policy) }
        setPolicies(scope, ps)
        let inScope: [RepositoryRef] = switch scope {
        case .organization(_, let org): repos.keys.filter { $0.name.namespace == org }
        case .repository(let reg, let name): [RepositoryRef(registryId: reg, name: name)]
        }
        for ref in inScope {
            for (tag, state) in repos[ref]!.tags where !state.immutable { flagIfGoverned(ref, tag, [policy]) }
        }
        return true
    }

    mutating func deletePolicy(_ scope: PolicyScope, _ uuid: String) -> Bool {
        guard scopeExists(scope), policies(scope).contains(where: { $0.uuid == uuid }) else { return false }
        setPolicies(scope, policies(scope).filter { $0.uuid != uuid })
        return true
    }

    mutating func setTag(_ ref: RepositoryRef, _ tag: String, _ digest: Digest) -> Bool {
        guard let repo = repos[ref], repo.images[digest] != nil else { return false }
        if repo.tags[tag] != nil, protected(repo, tag) { return false }
        if repo.tags[tag]?.digest != digest {
            repos[ref]!.tags[tag] = (digest, false)
            flagIfGoverned(ref, tag, governing(ref))
        }
        return true
    }

    mutating func deleteTag(_ ref: RepositoryRef, _ tag: String) -> Bool {
        guard let state = repos[ref]?.tags[tag], !state.immutable else { return false }
        repos[ref]!.tags[tag] = nil
        return true
    }

    mutating func setFlag(_ ref: RepositoryRef, _ tag: String, _ value: Bool, admin: Bool) -> Bool {
        guard let state = repos[ref]?.tags[tag] else { return false }
        if state.immutable, !value, !admin { return false }
        repos[ref]!.tags[tag]!.immutable = value
        return true
    }

    /// The model as the store reports state (sorted as `state(at:)` sorts).
    func snapshot() -> (repositories: [RepositoryState], organizations: [OrganizationState]) {
        let repositories = repos.keys.sorted().map { ref -> RepositoryState in
            let repo = repos[ref]!
            let images = repo.images.keys.sorted().map { d in
                ImageState(digest: d, tags: repo.tags.filter { $0.value.digest == d }.map(\.key).sorted(), status: repo.images[d]!)
            }
            let tags = repo.tags.keys.sorted().map { TagState(tag: $0, digest: repo.tags[$0]!.digest, immutable: repo.tags[$0]!.immutable) }
            return RepositoryState(registryId: ref.registryId, name: ref.name, mutability: repo.mutability,
                                   policies: repo.policies, images: images, tags: tags, settings: .default, resourceTags: [], lifecyclePolicy: nil)
        }
        let organizations = orgs.keys.sorted().map { OrganizationState(registryId: .defaultId, name: $0, policies: orgs[$0]!) }
        return (repositories, organizations)
    }
}
