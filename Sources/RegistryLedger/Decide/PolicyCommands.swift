/// Checks that a policy scope exists: a known organization or an existing repository.
func requireScope(_ scope: PolicyScope, _ view: some StateView) throws {
    switch scope {
    case .organization(let registry, let org):
        guard try view.organizationExists(registry, org) else {
            throw LedgerError(.organizationNotFound, "Organization '\(org)' does not exist")
        }
    case .repository(let registry, let name):
        guard try view.repository(RepositoryRef(registryId: registry, name: name)) != nil else {
            throw LedgerError.repositoryNotFound(RepositoryRef(registryId: registry, name: name))
        }
    }
}

extension LedgerError {
    static func policyNotFound(_ uuid: String, _ scope: PolicyScope) -> LedgerError {
        LedgerError(.policyNotFound, "Immutability policy '\(uuid)' not found for this \(scope)")
    }
}

extension Changes {
    /// Flags every existing unflagged tag in `scope` that `policy` makes immutable.
    mutating func applyRetroactively(_ policy: Policy, in scope: PolicyScope) throws {
        let repos: [RepositoryRef]
        switch scope {
        case .repository(let registry, let name): repos = [RepositoryRef(registryId: registry, name: name)]
        case .organization(let registry, let org): repos = try view.repositories(inNamespace: org, registry: registry).map(\.0)
        }
        for ref in repos {
            let repo = try repository(ref)
            for (name, record) in try view.tags(repo.repoId) where !record.immutable {
                try flagIfGoverned(ref, Tag(unchecked: name), by: [policy])
            }
        }
    }

    /// Throws 400 when another policy of `scope` (not `except`) already has `pattern`.
    func rejectDuplicate(_ pattern: String, in scope: PolicyScope, except uuid: String? = nil) throws {
        if let owner = try view.policyUUID(withPattern: pattern, in: scope), owner != uuid {
            throw LedgerError.invalid("A policy with tagPattern '\(pattern)' already exists for this \(scope)")
        }
    }

    /// Policy `uuid` if it belongs to `scope`; otherwise `PolicyNotFound`.
    func policy(_ uuid: String, in scope: PolicyScope) throws -> Policy {
        guard let found = try view.policy(uuid, in: scope) else { throw LedgerError.policyNotFound(uuid, scope) }
        return found
    }
}

/// Quay: create a policy, or replace one (`isUpdate`; an update replaces pattern and polarity).
/// Either way every existing unflagged tag in scope that it makes immutable is flagged at once;
/// no flag is ever cleared.
struct WritePolicy: LedgerCommand {
    static let operation = "quay.WritePolicy"
    let scope: PolicyScope
    let uuid: String
    let tagPattern: String
    let tagPatternMatches: Bool
    let isUpdate: Bool

    func run(_ changes: inout Changes) throws -> Policy {
        try requireScope(scope, changes.view)
        if isUpdate { _ = try changes.policy(uuid, in: scope) }
        let pattern = try changes.patterns.pattern(tagPattern).source
        try changes.rejectDuplicate(pattern, in: scope, except: isUpdate ? uuid : nil)
        let policy = Policy(uuid: uuid, tagPattern: pattern, tagPatternMatches: tagPatternMatches)
        try changes.emit(isUpdate ? .policyUpdated(scope, policy) : .policyCreated(scope, policy))
        try changes.applyRetroactively(policy, in: scope)
        return policy
    }
}

/// Quay: delete a policy. Flags it set stay (sticky).
struct DeletePolicy: LedgerCommand {
    static let operation = "quay.DeletePolicy"
    let scope: PolicyScope
    let uuid: String

    func run(_ changes: inout Changes) throws -> String {
        try requireScope(scope, changes.view)
        _ = try changes.policy(uuid, in: scope)
        try changes.emit(.policyDeleted(scope, uuid: uuid))
        return uuid
    }
}
