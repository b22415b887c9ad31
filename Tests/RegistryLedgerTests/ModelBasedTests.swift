@testable import RegistryLedger
import Testing

@Suite struct ModelBasedTests {
    /// Thousands of random commands of every kind run against the store and the reference model:
    /// each must succeed or be refused in both; afterwards, at many points, `state(at:)` equals
    /// the model's state at that point.
    @Test(arguments: [101, 202] as [UInt64])
    func storeAgreesWithTheReferenceModelAtEveryPoint(seed: UInt64) async throws {
        let (ledger, _) = try makeLedger()
        var model = ReferenceModel()
        var snapshots: [UInt64: (repositories: [RepositoryState], organizations: [OrganizationState])] = [:]
        var rng = SeededGenerator(state: seed)
        let (repos, tags, patterns, scopes) = (CommandUniverse.repos, CommandUniverse.tags, CommandUniverse.patterns, CommandUniverse.scopes)
        var uuids: [(PolicyScope, String)] = []
        for step in 0..<4000 {
            let r = repos.randomElement(using: &rng)!
            let t = tags.randomElement(using: &rng)!
            let m = manifest(Int.random(in: 0..<12, using: &rng))
            let isAdmin = Bool.random(using: &rng)
            let context = isAdmin ? admin : alice
            func run<T>(_ what: String, expect: Bool, _ body: () async throws -> T) async throws -> T? {
                do {
                    let value = try await body()
                    #expect(expect, "step \(step): \(what) succeeded, the model refuses it")
                    return value
                } catch let error as LedgerError {
                    #expect(!expect, "step \(step): \(what) refused (\(error)), the model accepts it")
                    return nil
                }
            }
            switch Int.random(in: 0..<16, using: &rng) {
            case 0: _ = try await run("create \(r)", expect: model.createRepository(r)) { try await ledger.createRepository(r, context: context) }
            case 1:
                let force = Bool.random(using: &rng)
                _ = try await run("delete \(r)", expect: model.deleteRepository(r, force: force)) { try await ledger.deleteRepository(r, force: force, context: context) }
            case 2:
                let mode = TagMutability.Mode.allCases.randomElement(using: &rng)!
                let filters = mode.takesFilters ? [try WildcardFilter(["t1", "t*", "*7"].randomElement(using: &rng)!)] : []
                let setting = try TagMutability(mode: mode, filters: filters)
                _ = try await run("mutability", expect: model.setMutability(r, setting)) { try await ledger.putImageTagMutability(r, setting, context: context) }
            case 3, 4, 5:
                let tagged = Bool.random(using: &rng)
                _ = try await run("push \(r):\(tagged ? t : "-")", expect: model.putImage(r, m.digest, tag: tagged ? t : nil)) {
                    try await ledger.putImage(r, manifest: m, tag: tagged ? tag(t) : nil, context: context)
                }
            case 6:
                let byTag = Bool.random(using: &rng)
                let id = byTag ? ImageIdentifier(tag: t) : ImageIdentifier(digest: m.digest.description)
                _ = try await run("batch delete", expect: model.batchDelete(r, tag: byTag ? t : nil, digest: byTag ? nil : m.digest)) {
                    try await ledger.batchDeleteImage(r, imageIds: [id], context: context)
                }
            case 7:
                let archive = Bool.random(using: &rng)
                _ = try await run("storage class", expect: model.storageClass(r, tag: t, archive: archive)) {
                    try await ledger.updateImageStorageClass(r, imageId: ImageIdentifier(tag: t), targetStorageClass: archive ? "ARCHIVE" : "STANDARD", context: context)
                }
            case 8:
                _ = try await run("complete activation", expect: model.completeActivation(r, m.digest)) { try await ledger.completeActivation(r, digest: m.digest, context: context) }
            case 9:
                let scope = scopes.randomElement(using: &rng)!
                let pattern = patterns.randomElement(using: &rng)!, matches = Bool.random(using: &rng)
                var trial = model
                let accepted = trial.writePolicy(scope, Policy(uuid: "probe", tagPattern: pattern, tagPatternMatches: matches), replacing: nil)
                if let p = try await run("create policy", expect: accepted, { try await ledger.createPolicy(scope, tagPattern: pattern, tagPatternMatches: matches, context: context) }) {
                    let applied = model.writePolicy(scope, p, replacing: nil)
                    #expect(applied)
                    uuids.append((scope, p.uuid))
                }
            case 10:
                if let (scope, uuid) = uuids.randomElement(using: &rng) {
                    let policy = Policy(uuid: uuid, tagPattern: patterns.randomElement(using: &rng)!, tagPatternMatches: Bool.random(using: &rng))
                    _ = try await run("update policy", expect: model.writePolicy(scope, policy, replacing: uuid)) {
                        try await ledger.updatePolicy(scope, uuid: uuid, tagPattern: policy.tagPattern, tagPatternMatches: policy.tagPatternMatches, context: context)
                    }
                }
            case 11:
                if let (scope, uuid) = uuids.randomElement(using: &rng) {
                    _ = try await run("delete policy", expect: model.deletePolicy(scope, uuid)) { try await ledger.deletePolicy(scope, uuid: uuid, context: context) }
                }
            case 12: _ = try await run("set tag", expect: model.setTag(r, t, m.digest)) { try await ledger.setTag(r, tag: tag(t), digest: m.digest, context: context) }
            case 13: _ = try await run("delete tag", expect: model.deleteTag(r, t)) { try await ledger.deleteTag(r, tag: tag(t), context: context) }
            default:
                let value = Bool.random(using: &rng)
                _ = try await run("flag", expect: model.setFlag(r, t, value, admin: isAdmin)) { try await ledger.setTagImmutable(r, tag: tag(t), immutable: value, context: context) }
            }
            snapshots[try ledger.headSeq()] = model.snapshot()
        }
        let head = try ledger.headSeq()
        #expect(head > 1000)
        var points = Array(snapshots.keys.filter { $0 > 0 }.shuffled(using: &rng).prefix(25))
        points.append(head)
        for seq in points {
            let state = try ledger.state(at: .seq(seq))
            let expected = snapshots[seq]!
            #expect(state.repositories == expected.repositories, "repositories differ at seq \(seq)")
            #expect(state.organizations == expected.organizations, "organizations differ at seq \(seq)")
        }
        // Tag history: replaying each tag's own history to any point gives the model's tag then.
        for r in repos {
            for t in tags {
                let history = try ledger.tagHistory(r, tag: t).compactMap { entry -> EventRecord? in
                    if case .event(let record) = entry { record } else { nil }
                }
                for seq in points {
                    var digest: Digest?
                    var flagged = false
                    for record in history where record.seq <= seq {
                        switch record.event {
                        case .tagSet(_, _, let d, _): digest = d; flagged = false
                        case .tagRemoved, .repositoryDeleted: digest = nil; flagged = false
                        case .tagFlagChanged(_, _, let value, _): flagged = value
                        default: Issue.record("unexpected \(record.event.typeName) in the history of \(r):\(t)")
                        }
                    }
                    let modelTag = snapshots[seq]!.repositories.first { $0.ref == r }?.tags.first { $0.tag == t }
                    #expect(digest == modelTag?.digest && (digest == nil || flagged == modelTag?.immutable),
                            "history of \(r):\(t) disagrees with the model at seq \(seq)")
                }
            }
        }
        // Diff between two points equals the difference of the model's states there.
        for (a, b) in zip(points, points.dropFirst()) {
            let (from, to) = (min(a, b), max(a, b))
            let expected = Ledger.diff(RegistryState(seq: from, timestamp: 0, repositories: snapshots[from]!.repositories,
                                                     organizations: snapshots[from]!.organizations),
                                       RegistryState(seq: to, timestamp: 0, repositories: snapshots[to]!.repositories,
                                                     organizations: snapshots[to]!.organizations))
            #expect(try ledger.diff(from: .seq(from), to: .seq(to)) == expected, "diff \(from)…\(to) disagrees with the model")
        }
    }
}
