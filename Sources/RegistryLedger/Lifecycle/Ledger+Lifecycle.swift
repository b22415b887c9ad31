import Foundation

extension Ledger {
    /// The images of `ref` as lifecycle rules see them: tags, push time, status, a
    /// deletion-protected tag with its cause (read from the tag's history) when one is flagged,
    /// and what holds it when an index lists it or its subject is in the repository.
    /// - Throws: `RepositoryNotFoundException`.
    public func lifecycleImages(_ ref: RepositoryRef) throws -> [LifecycleImage] {
        let (images, flagged) = try read { reader -> ([(digest: Digest, record: ImageRecord)], Set<String>) in
            guard let repo = try reader.repository(ref) else { throw LedgerError.repositoryNotFound(ref) }
            return (try reader.images(repo.repoId), Set(try reader.tags(repo.repoId).filter(\.record.immutable).map(\.name)))
        }
        let present = Set(images.map(\.digest))
        var listedBy: [Digest: Digest] = [:]
        for image in images where Manifest.indexMediaTypes.contains(image.record.mediaType) {
            guard let bytes = try manifest(image.digest), let index = try? Manifest(bytes: bytes) else { continue }
            for child in index.childDigests { if let d = try? Digest(child) { listedBy[d] = image.digest } }
        }
        return try images.map { image in
            let protectedTag = image.record.tags.first(where: flagged.contains)
            let held: String? = if let index = listedBy[image.digest] { "listed by index \(index)" }
                else if let subject = image.record.subject, present.contains(subject) { "refers to \(subject)" } else { nil }
            return LifecycleImage(digest: image.digest, tags: image.record.tags, pushedAt: image.record.pushedAt, status: image.record.status,
                                  protectedBy: try protectedTag.map { LifecycleProtection(tag: $0, cause: try flagCause(ref, tag: $0)) },
                                  heldBy: held)
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
            guard let stored = try self.repository(ref).lifecyclePolicy else { throw LedgerError.lifecyclePolicyNotFound(ref) }
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

/// What a lifecycle run did (or, dry, would do) to one repository.
public struct LifecycleRunResult: Sendable, Hashable {
    public let repository: RepositoryRef
    /// The images acted on and the protected ones kept, oldest pushed first.
    public let outcomes: [LifecycleOutcome]
}

extension Ledger {
    /// The actor of every event and denial a lifecycle run records.
    public static let lifecycleActor = CommandContext(actor: "lifecycle", origin: .library, requestId: "lifecycle")

    /// Evaluates the lifecycle policy of `repository` (of every repository that has one when
    /// nil) at `now` and, unless `dryRun`, carries it out: each expiry or transition an event
    /// with actor `lifecycle` and the rule's priority, each protected image a denial. A dry run
    /// returns exactly the preview.
    /// - Throws: `RepositoryNotFoundException`, `LifecyclePolicyNotFoundException` for a named
    ///   repository without a policy; storage errors.
    public func runLifecycle(_ repository: RepositoryRef? = nil, dryRun: Bool = false, now: Date = Date(),
                             context: CommandContext = Ledger.lifecycleActor) async throws -> [LifecycleRunResult] {
        let refs = try repository.map { [$0] } ?? read { reader in try reader.repositoriesWithLifecyclePolicy() }
        var results: [LifecycleRunResult] = []
        for ref in refs {
            let (_, outcomes) = try lifecyclePreview(ref, now: now)
            if dryRun || outcomes.isEmpty {
                results.append(LifecycleRunResult(repository: ref, outcomes: outcomes))
            } else {
                results.append(LifecycleRunResult(repository: ref, outcomes: try await submit(ApplyLifecycle(ref: ref, outcomes: outcomes), context)))
            }
        }
        return results
    }
}
