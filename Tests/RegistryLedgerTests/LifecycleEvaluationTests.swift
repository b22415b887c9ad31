import Foundation
@testable import RegistryLedger
import Testing

/// Lifecycle evaluation as AWS documents it ("Lifecycle policies" in the ECR user guide), with
/// SPEC §2.8's addition: a deletion-protected image is never acted on.
@Suite struct LifecycleEvaluationTests {
    static let day: UInt64 = 86_400_000_000
    static let now: UInt64 = 1_000 * day

    /// Image `n`, pushed `age` days before `now`.
    func image(_ n: Int, _ tags: [String], age: UInt64, status: ImageStatus = .active, protectedBy: String? = nil) -> LifecycleImage {
        LifecycleImage(digest: manifest(n).digest, tags: tags.sorted(), pushedAt: Self.now - age * Self.day, status: status,
                       protectedBy: protectedBy.map { LifecycleProtection(tag: $0, cause: "manual") })
    }

    func policy(_ rules: String...) throws -> LifecyclePolicy {
        try LifecyclePolicy(text: LifecyclePolicyTests.policy(rules.joined(separator: ",")))
    }

    func rule(_ priority: Int, _ selection: String, _ action: String = #"{"type":"expire"}"#) -> String {
        #"{"rulePriority":\#(priority),"selection":{\#(selection)},"action":\#(action)}"#
    }

    /// (digest seed, priority, acted) of each outcome, oldest pushed first.
    func summary(_ outcomes: [LifecycleOutcome], _ images: [LifecycleImage]) -> [(Int, Int, Bool)] {
        outcomes.map { o in (images.firstIndex { $0.digest == o.image.digest }!, o.rulePriority, o.action != nil) }
    }

    @Test func countKeepsTheNewestOfTheSelectionAndExpiresTheRestOldestFirst() throws {
        let images = (0..<5).map { image($0, ["v\($0)"], age: UInt64(10 - $0)) }
        let p = try policy(rule(1, #""tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":2"#))
        let outcomes = p.evaluate(images, now: Self.now)
        #expect(summary(outcomes, images).map(\.0) == [0, 1, 2])  // the three oldest; 3 and 4 kept
    }

    @Test func ageMarksOnlyImagesPushedBeforeTheCutoff() throws {
        let images = [image(0, [], age: 30), image(1, [], age: 14), image(2, [], age: 13), image(3, ["t"], age: 40)]
        let p = try policy(rule(1, #""tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14"#))
        // Pushed exactly 14 days ago is not older than 14 days; the tagged one is not selected.
        #expect(summary(p.evaluate(images, now: Self.now), images).map(\.0) == [0])
    }

    @Test func anImageSelectedByAHigherPriorityRuleIsShieldedFromLowerOnes() throws {
        let images = [image(0, ["prod-1"], age: 9), image(1, ["prod-2"], age: 8), image(2, ["dev-1"], age: 7), image(3, ["dev-2"], age: 6)]
        let p = try policy(
            rule(1, #""tagStatus":"tagged","tagPatternList":["prod-*"],"countType":"imageCountMoreThan","countNumber":5"#),
            rule(2, #""tagStatus":"any","countType":"imageCountMoreThan","countNumber":1"#))
        // Rule 2 selects all four and keeps the newest (dev-2); prod images are rule 1's, which keeps them.
        #expect(summary(p.evaluate(images, now: Self.now), images).map { [$0.0, $0.1] } == [[2, 2]])
    }

    @Test func everyPatternAndEveryPrefixMustMatchOneOfTheImagesTags() throws {
        let images = [image(0, ["prod", "v1"], age: 9), image(1, ["prod"], age: 8), image(2, ["v2"], age: 7)]
        let patterns = try policy(rule(1, #""tagStatus":"tagged","tagPatternList":["prod","v*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1"#))
        #expect(summary(patterns.evaluate(images, now: Self.now), images).map(\.0) == [0])
        let prefixes = try policy(rule(1, #""tagStatus":"tagged","tagPrefixList":["pro","v"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1"#))
        #expect(summary(prefixes.evaluate(images, now: Self.now), images).map(\.0) == [0])
    }

    @Test func aProtectedImageIsKeptAndListedWithoutActionAndTheNextOneIsNotTakenInstead() throws {
        let images = [image(0, ["a"], age: 9, protectedBy: "a"), image(1, ["b"], age: 8), image(2, ["c"], age: 7)]
        let p = try policy(rule(1, #""tagStatus":"any","countType":"imageCountMoreThan","countNumber":1"#))
        let outcomes = p.evaluate(images, now: Self.now)
        #expect(summary(outcomes, images).map { [$0.0, $0.1, $0.2 ? 1 : 0] } == [[0, 1, 0], [1, 1, 1]])
        #expect(outcomes[0].image.protectedBy == LifecycleProtection(tag: "a", cause: "manual"))
    }

    @Test func transitionsActOnlyOnActiveImagesAndExpiryOnAny() throws {
        let images = [image(0, [], age: 9, status: .archived), image(1, [], age: 8), image(2, [], age: 7, status: .activating)]
        let archive = try policy(rule(1, #""tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1"#,
                                      #"{"type":"transition","targetStorageClass":"archive"}"#))
        let outcomes = archive.evaluate(images, now: Self.now)
        #expect(summary(outcomes, images).map(\.0) == [1] && outcomes[0].action == .transitionToArchive)
        let expire = try policy(rule(1, #""tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1"#))
        #expect(summary(expire.evaluate(images, now: Self.now), images).map(\.0) == [0, 1, 2])
    }

    @Test func aPreviewOnTheStoreNamesTheFlagsCauseAndChangesNothing() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/web")
        _ = try await ledger.createRepository(ref, context: alice)
        try await push(ledger, ref, 0..<4)
        _ = try await ledger.setTagImmutable(ref, tag: tag("t0"), immutable: true, context: admin)
        let policy = try await ledger.createPolicy(.repository(ref.registryId, ref.name), tagPattern: "^t1$", context: admin)
        let head = try ledger.headSeq()
        let text = LifecyclePolicyTests.policy(rule(1, #""tagStatus":"any","countType":"imageCountMoreThan","countNumber":1"#))
        let (_, outcomes) = try ledger.lifecyclePreview(ref, policyText: text)
        #expect(outcomes.map(\.image.tags) == [["t0"], ["t1"], ["t2"]])
        #expect(outcomes.map { $0.action == nil } == [true, true, false])
        #expect(outcomes[0].image.protectedBy?.cause == "manual")
        #expect(outcomes[1].image.protectedBy?.cause == "policy \(policy.uuid)")
        #expect(try ledger.headSeq() == head)
        await expectError(.lifecyclePolicyNotFound) { try ledger.lifecyclePreview(ref) }
        try await ledger.putLifecyclePolicy(ref, text: text, context: alice)
        #expect(try ledger.lifecyclePreview(ref).outcomes == outcomes)
    }

    @Test func aRunDoesWhatItsPreviewSaidRecordsTheRuleAndDeniesTheProtected() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/web")
        _ = try await ledger.createRepository(ref, context: alice)
        try await push(ledger, ref, 0..<4)
        _ = try await ledger.setTagImmutable(ref, tag: tag("t0"), immutable: true, context: admin)
        try await ledger.putLifecyclePolicy(ref, text: LifecyclePolicyTests.policy(rule(3, #""tagStatus":"any","countType":"imageCountMoreThan","countNumber":1"#)),
                                            context: alice)
        let preview = try ledger.lifecyclePreview(ref).outcomes
        let head = try ledger.headSeq()
        let dry = try await ledger.runLifecycle(dryRun: true)
        #expect(dry == [LifecycleRunResult(repository: ref, outcomes: preview)])
        #expect(try ledger.headSeq() == head)
        let run = try await ledger.runLifecycle()
        #expect(run == dry, "a run does what its preview said")
        let events = try ledger.events(from: head + 1)
        #expect(events.map(\.event.typeName) == ["image.expired", "image.expired"])
        #expect(events.allSatisfy { $0.actor == "lifecycle" })
        #expect(events.map(\.event) == preview.filter { $0.action != nil }.map { .imageExpired(ref, digest: $0.image.digest, rulePriority: 3) })
        #expect(Set(try ledger.listImages(ref).items.compactMap(\.tag)) == ["t0", "t3"])
        // The tag's history names the rule; the protected tag's history has the denial.
        let t1 = try ledger.tagHistory(ref, tag: "t1")
        guard case .event(let expired)? = t1.last, case .imageExpired(_, _, 3) = expired.event else {
            Issue.record("t1's history does not end with its expiry by rule 3: \(t1)")
            return
        }
        guard case .denied(let denial)? = try ledger.tagHistory(ref, tag: "t0").last else {
            Issue.record("no denial in t0's history")
            return
        }
        #expect(denial.actor == "lifecycle" && denial.reason.contains("lifecycle rule 3") && denial.reason.contains("manual"))
        // A second run finds nothing more to do but the protected image, denied again.
        let again = try await ledger.runLifecycle(ref)
        #expect(again[0].outcomes.map { $0.action == nil } == [true])
        #expect(try ledger.headSeq() == head + 2)
        let digest = try ledger.stateDigest()
        #expect(try await ledger.rebuild() == digest)
        for record in events { #expect(try EventJSON.parse(EventJSON.line(record)).0 == record) }
        #expect(try ledger.verify().isValid)
    }

    @Test func aTransitionArchivesAndAStaleOutcomeIsLeftForTheNextRun() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/web")
        _ = try await ledger.createRepository(ref, context: alice)
        try await push(ledger, ref, 0..<3)
        try await ledger.putLifecyclePolicy(ref, text: LifecyclePolicyTests.policy(rule(1, #""tagStatus":"tagged","tagPrefixList":["t"],"countType":"imageCountMoreThan","countNumber":2"#,
                                                                                       #"{"type":"transition","targetStorageClass":"archive"}"#)), context: alice)
        let evaluated = try ledger.lifecyclePreview(ref).outcomes
        #expect(evaluated.map(\.image.tags) == [["t0"]])
        // The image is retagged after the evaluation: the run leaves it alone.
        _ = try await ledger.setTag(ref, tag: tag("extra"), digest: evaluated[0].image.digest, context: alice)
        let head = try ledger.headSeq()
        #expect(try await ledger.submit(ApplyLifecycle(ref: ref, outcomes: evaluated), Ledger.lifecycleActor).isEmpty)
        #expect(try ledger.headSeq() == head)
        let run = try await ledger.runLifecycle(ref)
        #expect(run[0].outcomes.count == 1 && run[0].outcomes[0].action == .transitionToArchive)
        #expect(try ledger.events(from: head + 1).map(\.event.typeName) == ["image.transitioned"])
        let archived = try ledger.describeImages(ref, filter: ImageFilter(imageStatus: .any)).items.filter { $0.status == .archived }
        #expect(archived.map(\.digest) == [evaluated[0].image.digest])
    }
}
