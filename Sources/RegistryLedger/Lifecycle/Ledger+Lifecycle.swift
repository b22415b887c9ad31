import Foundation

extension Ledger {
    /// The images of `ref` as lifecycle rules see them: tags, push time, status, and a
    /// deletion-protected tag with its cause (read from the tag's history) when one is flagged.
    /// - Throws: `RepositoryNotFoundException`.
    public func lifecycleImages(_ ref: RepositoryRef) throws -> [LifecycleImage] {
        let (images, flagged) = try read { reader -> ([(digest: Digest, record: ImageRecord)], Set<String>) in
            guard let repo = try reader.repository(ref) else { throw LedgerError.repositoryNotFound(ref) }
            return (try reader.images(repo.repoId, mediaType: false), Set(try reader.tags(repo.repoId).filter(\.record.immutable).map(\.name)))
        }
        return try images.map { image in
            let protectedTag = image.record.tags.first(where: flagged.contains)
            return LifecycleImage(digest: image.digest, tags: image.record.tags, pushedAt: image.record.pushedAt, status: image.record.status,
                                  protectedBy: try protectedTag.map { LifecycleProtection(tag: $0, cause: try flagCause(ref, tag: $0)) })
        }
    }

    /// What `policy` (the repository's own when nil) would do to `ref` now, without changing
    /// anything: the images acted on and the protected ones kept, oldest pushed first.
    /// - Throws: `RepositoryNotFoundException`, `LifecyclePolicyNotFoundException` (no policy
    ///   given and none stored), `InvalidParameterException` for a policy that does not check.
    public func lifecyclePreview(_ ref: RepositoryRef, policyText: String? = nil, now: Date = Date()) throws -> (text: String, outcomes: [LifecycleOutcome]) {
        let text: String
        if let policyText {
            text = policyText
        } else {
            guard let stored = try describeRepositories(registryId: ref.registryId, names: [ref.name]).items[0].lifecyclePolicy else {
                throw LedgerError(.lifecyclePolicyNotFound,
                                  "Lifecycle policy does not exist for the repository with name '\(ref.name)' in the registry with id '\(ref.registryId)'")
            }
            text = stored
        }
        let policy = try LifecyclePolicy(text: text)
        return (text, policy.evaluate(try lifecycleImages(ref), now: UInt64(max(0, now.timeIntervalSince1970 * 1e6))))
    }

    /// Why `tag` is flagged: the cause of the last flag event that set it.
    private func flagCause(_ ref: RepositoryRef, tag: String) throws -> String {
        for entry in try tagHistory(ref, tag: tag).reversed() {
            if case .event(let record) = entry, case .tagFlagChanged(_, _, true, let cause) = record.event {
                switch cause {
                case .manual: return "manual"
                case .policy(let uuid, _): return "policy \(uuid)"
                }
            }
        }
        return "manual"
    }
}
