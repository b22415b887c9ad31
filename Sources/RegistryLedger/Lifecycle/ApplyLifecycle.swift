/// Carries out a lifecycle evaluation of one repository (SPEC §2.8), checking each outcome
/// against the state it is decided on: an image gone or retagged since the evaluation, or a
/// referrer whose subject is there, is left for the next run; an expiry deletes the image's
/// referrers with it (SPEC §8); an image with a flagged tag is not touched and the refusal is a denial
/// naming the rule and the flag's cause; the others become `image.expired` or
/// `image.transitioned` events carrying the rule's priority.
struct ApplyLifecycle: LedgerCommand {
    static let operation = "Lifecycle"
    let ref: RepositoryRef
    let outcomes: [LifecycleOutcome]

    /// What was done: the outcomes carried out, and the protected ones (without action).
    func run(_ changes: inout Changes) throws -> [LifecycleOutcome] {
        let repo = try changes.repository(ref)
        var done: [LifecycleOutcome] = []
        for outcome in outcomes {
            guard let image = try changes.view.image(repo.repoId, outcome.image.digest), image.tags == outcome.image.tags else { continue }
            // An expiry takes the image's referrers with it: their tags are protected as its own.
            let referrers = outcome.action == .expire ? try changes.view.referrersClosure(repo.repoId, of: outcome.image.digest) : []
            if outcome.action == .expire, let subject = image.subject, try changes.view.image(repo.repoId, subject) != nil { continue }
            let tags = try image.tags + referrers.flatMap { try changes.view.image(repo.repoId, $0)?.tags ?? [] }
            if let flagged = try tags.first(where: { try changes.view.tag(repo.repoId, $0)?.immutable == true }) {
                let cause = outcome.image.protectedBy.map { $0.tag == flagged ? $0.cause : "flagged" } ?? "flagged since the evaluation"
                _ = changes.deny(.tagImmutable, "lifecycle rule \(outcome.rulePriority) would have acted on image \(outcome.image.digest); "
                                    + "its tag '\(flagged)' is deletion-protected (\(cause))",
                                 operation: Self.operation, repository: ref, tag: flagged)
                done.append(LifecycleOutcome(image: outcome.image, rulePriority: outcome.rulePriority, action: nil))
                continue
            }
            switch outcome.action {
            case .expire?:
                try changes.emit(.imageExpired(ref, digest: outcome.image.digest, rulePriority: outcome.rulePriority))
                try changes.deleteImages(ref, repo.repoId, referrers)
            case .transitionToArchive?:
                guard image.status == .active else { continue }
                try changes.emit(.imageTransitioned(ref, digest: outcome.image.digest, rulePriority: outcome.rulePriority))
            case nil:
                continue  // protected when evaluated, no longer: left for the next run
            }
            done.append(outcome)
        }
        return done
    }
}
