/// A mutation of the registry: validated and decided against current state inside the writer's
/// transaction. Throwing rolls back everything the command emitted.
protocol LedgerCommand: Sendable {
    associatedtype Output: Sendable
    /// The operation's name for the denial log (ECR operation or Quay route).
    static var operation: String { get }
    func run(_ changes: inout Changes) throws -> Output
}

extension Changes {
    /// Whether ECR settings or the sticky flag forbid overwriting (moving) `tag`.
    func isOverwriteProtected(_ repo: RepoRecord, _ tag: Tag, _ record: TagRecord) -> Bool {
        record.immutable || repo.mutability.isImmutable(tag)
    }

    /// Emits the tag's immutable flag when one of `policies` says so (at push or move time, or
    /// retroactively). The first deciding policy is named as the cause.
    mutating func flagIfGoverned(_ repo: RepositoryRef, _ tag: Tag, by policies: [Policy]) throws {
        for policy in policies {
            let match = try patterns.pattern(policy.tagPattern).evaluate(tag.value)
            if match.isMatch == policy.tagPatternMatches {
                try emit(.tagFlagChanged(repo, tag: tag, immutable: true,
                                         cause: .policy(uuid: policy.uuid, boundHit: match == .boundHit)))
                return
            }
        }
    }
}
