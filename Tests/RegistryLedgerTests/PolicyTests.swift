@testable import RegistryLedger
import Testing

@Suite struct PolicyTests {
    let org = PolicyScope.organization(.defaultId, "acme")

    func store() async throws -> Ledger {
        let (ledger, _) = try makeLedger()
        _ = try await ledger.createRepository(repo("acme/web"), context: alice)
        _ = try await ledger.createRepository(repo("acme/api"), context: alice)
        _ = try await ledger.createRepository(repo("other/web"), context: alice)
        _ = try await ledger.createRepository(repo("plain"), context: alice)
        return ledger
    }

    @Test func createGetListUpdateDeleteRoundTrip() async throws {
        let ledger = try await store()
        let p1 = try await ledger.createPolicy(org, tagPattern: "  v[0-9]+  ", context: admin)
        let p2 = try await ledger.createPolicy(org, tagPattern: "release-.*", tagPatternMatches: false, context: admin)
        #expect(p1.tagPattern == "v[0-9]+" && p1.tagPatternMatches)
        #expect(try ledger.listPolicies(org).map(\.uuid) == [p1.uuid, p2.uuid])
        #expect(try ledger.policy(org, uuid: p2.uuid) == p2)
        // An update replaces the whole policy; tagPatternMatches defaults to true again.
        let updated = try await ledger.updatePolicy(org, uuid: p2.uuid, tagPattern: "rel-.*", context: admin)
        #expect(updated.tagPatternMatches)
        #expect(try ledger.listPolicies(org).map(\.uuid) == [p1.uuid, p2.uuid])
        try await ledger.deletePolicy(org, uuid: p1.uuid, context: admin)
        #expect(try ledger.listPolicies(org) == [updated])
    }

    @Test func badPatternsAreRejectedWithTheRuleThatFailed() async throws {
        let ledger = try await store()
        let head = try ledger.headSeq()
        for (pattern, words) in [("   ", "empty"), (String(repeating: "x", count: 257), "256"), ("(unclosed", "regular expression")] {
            let e = await expectError(.invalidParameter) { try await ledger.createPolicy(org, tagPattern: pattern, context: admin) }
            #expect(e?.message.contains(words) == true)
        }
        #expect(try ledger.headSeq() == head)
    }

    @Test func duplicatePatternInTheSameScopeIsRejectedWhateverItsPolarity() async throws {
        let ledger = try await store()
        let p = try await ledger.createPolicy(org, tagPattern: "v.*", context: admin)
        await expectError(.invalidParameter) { try await ledger.createPolicy(org, tagPattern: " v.* ", tagPatternMatches: false, context: admin) }
        // Same pattern at repository scope is allowed; an update may keep its own pattern.
        _ = try await ledger.createPolicy(.repository(.defaultId, try RepositoryName("acme/web")), tagPattern: "v.*", context: admin)
        _ = try await ledger.updatePolicy(org, uuid: p.uuid, tagPattern: "v.*", tagPatternMatches: false, context: admin)
        let q = try await ledger.createPolicy(org, tagPattern: "x.*", context: admin)
        await expectError(.invalidParameter) { try await ledger.updatePolicy(org, uuid: q.uuid, tagPattern: "v.*", context: admin) }
    }

    @Test func unknownScopesAndUuidsAreNotFound() async throws {
        let ledger = try await store()
        let p = try await ledger.createPolicy(org, tagPattern: "v.*", context: admin)
        let otherOrg = PolicyScope.organization(.defaultId, "other")
        await expectError(.organizationNotFound) { try await ledger.createPolicy(.organization(.defaultId, "ghost"), tagPattern: "v.*", context: admin) }
        await expectError(.repositoryNotFound) { try await ledger.createPolicy(.repository(.defaultId, try RepositoryName("acme/none")), tagPattern: "v.*", context: admin) }
        await expectError(.policyNotFound) { try ledger.policy(otherOrg, uuid: p.uuid) }
        await expectError(.policyNotFound) { try await ledger.deletePolicy(otherOrg, uuid: p.uuid, context: admin) }
        await expectError(.policyNotFound) { try await ledger.updatePolicy(org, uuid: "no-such-uuid", tagPattern: "x", context: admin) }
        await expectError(.organizationNotFound) { try ledger.listPolicies(.organization(.defaultId, "plain")) }
    }

    @Test func anOrganizationStaysKnownAfterItsLastRepositoryIsDeleted() async throws {
        let ledger = try await store()
        let scope = PolicyScope.organization(.defaultId, "other")
        _ = try await ledger.deleteRepository(repo("other/web"), context: alice)
        _ = try await ledger.createPolicy(scope, tagPattern: "v.*", context: admin)
        #expect(try ledger.listPolicies(scope).count == 1)
        // A repository name without a namespace makes no organization.
        await expectError(.organizationNotFound) { try await ledger.createPolicy(.organization(.defaultId, "plain"), tagPattern: "v.*", context: admin) }
    }

    @Test func organizationPolicyFlagsExistingTagsRetroactivelyInItsNamespaceOnly() async throws {
        let ledger = try await store()
        for r in ["acme/web", "acme/api", "other/web"] {
            _ = try await ledger.putImage(repo(r), manifest: manifest(1), tag: tag("v1"), context: alice)
            _ = try await ledger.putImage(repo(r), manifest: manifest(1), tag: tag("dev"), context: alice)
        }
        let p = try await ledger.createPolicy(org, tagPattern: "v[0-9]+", context: admin)
        #expect(try ledger.tagRecord(repo("acme/web"), "v1")?.immutable == true)
        #expect(try ledger.tagRecord(repo("acme/api"), "v1")?.immutable == true)
        #expect(try ledger.tagRecord(repo("acme/web"), "dev")?.immutable == false)
        #expect(try ledger.tagRecord(repo("other/web"), "v1")?.immutable == false)
        // Each flag is its own event naming the policy.
        let flags = try ledger.events().compactMap { record -> String? in
            if case .tagFlagChanged(let r, let t, true, .policy(p.uuid, false)) = record.event { return "\(r.name)/\(t)" }
            return nil
        }
        #expect(Set(flags) == ["acme/web/v1", "acme/api/v1"])
    }

    @Test func flagsAreStickyAfterPolicyDeleteOrUpdate() async throws {
        let ledger = try await store()
        let r = repo("acme/web")
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice)
        let p = try await ledger.createPolicy(org, tagPattern: "v1", context: admin)
        _ = try await ledger.updatePolicy(org, uuid: p.uuid, tagPattern: "nothing", context: admin)
        #expect(try ledger.tagRecord(r, "v1")?.immutable == true)
        try await ledger.deletePolicy(org, uuid: p.uuid, context: admin)
        #expect(try ledger.tagRecord(r, "v1")?.immutable == true)
        await expectError(.imageTagAlreadyExists) { try await ledger.putImage(r, manifest: manifest(2), tag: tag("v1"), context: alice) }
    }

    @Test func pushTimeFlagAndInvertedPolicy() async throws {
        let ledger = try await store()
        let r = repo("acme/web")
        // Inverted: tags NOT matching "dev-.*" become immutable.
        _ = try await ledger.createPolicy(.repository(.defaultId, r.name), tagPattern: "dev-.*", tagPatternMatches: false, context: admin)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("dev-1"), context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice)
        #expect(try ledger.tagRecord(r, "dev-1")?.immutable == false)
        #expect(try ledger.tagRecord(r, "v1")?.immutable == true)
        // A pushed new tag always succeeds; only the overwrite is refused.
        await expectError(.imageTagAlreadyExists) { try await ledger.putImage(r, manifest: manifest(2), tag: tag("v1"), context: alice) }
        _ = try await ledger.putImage(r, manifest: manifest(2), tag: tag("dev-1"), context: alice)
    }

    @Test func policiesCombineByOrAcrossScopes() async throws {
        let ledger = try await store()
        let r = repo("acme/api")
        _ = try await ledger.createPolicy(org, tagPattern: "prod-.*", context: admin)
        _ = try await ledger.createPolicy(.repository(.defaultId, r.name), tagPattern: "stable", context: admin)
        for t in ["prod-1", "stable", "other"] { _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag(t), context: alice) }
        #expect(try ["prod-1", "stable", "other"].map { try ledger.tagRecord(r, $0)?.immutable } == [true, true, false])
    }

    @Test func hostilePatternCountsAsNoMatchAndTheEventRecordsTheBound() async throws {
        let ledger = try await store()
        let r = repo("acme/web")
        let hostile = try await ledger.createPolicy(.repository(.defaultId, r.name), tagPattern: "(a+)+(b|-)", tagPatternMatches: false, context: admin)
        let sticky = try await ledger.createPolicy(org, tagPattern: "(a+)+(b|-)", context: admin)
        let longTag = String(repeating: "a", count: 40)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag(longTag), context: alice)
        #expect(try ledger.tagRecord(r, longTag)?.immutable == true)
        let causes = try ledger.events().compactMap { record -> FlagCause? in
            if case .tagFlagChanged(_, _, _, let cause) = record.event { return cause }
            return nil
        }
        #expect(causes == [.policy(uuid: hostile.uuid, boundHit: true)])
        _ = sticky
    }

    @Test func tenThousandPoliciesStillDecideAPush() async throws {
        let ledger = try await store()
        let r = repo("acme/web")
        // Seeded concurrently: group commit takes them in large batches.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<10_000 {
                group.addTask { _ = try await ledger.createPolicy(org, tagPattern: "p\(i)-[0-9]+", context: admin) }
            }
            try await group.waitForAll()
        }
        #expect(try ledger.listPolicies(org).count == 10_000)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("p9999-1"), context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("free"), context: alice)
        #expect(try ledger.tagRecord(r, "p9999-1")?.immutable == true)
        #expect(try ledger.tagRecord(r, "free")?.immutable == false)
    }
}

@Suite struct QuayTagTests {
    func store() async throws -> (Ledger, RepositoryRef) {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(2), context: alice)
        return (ledger, r)
    }

    @Test func retargetCreatesOrMovesATag() async throws {
        let (ledger, r) = try await store()
        let info = try await ledger.setTag(r, tag: tag("v1"), digest: manifest(2).digest, context: alice)
        #expect(info.digest == manifest(2).digest)
        _ = try await ledger.setTag(r, tag: tag("new"), digest: manifest(1).digest, context: alice)
        #expect(try ledger.tagRecord(r, "new")?.digest == manifest(1).digest)
        await expectError(.imageNotFound) { try await ledger.setTag(r, tag: tag("x"), digest: manifest(9).digest, context: alice) }
    }

    @Test func retargetOfAnEcrImmutableOrFlaggedTagIsRefusedEvenToTheSameDigest() async throws {
        let (ledger, r) = try await store()
        _ = try await ledger.putImageTagMutability(r, try TagMutability(mode: .immutable), context: alice)
        await expectError(.tagImmutable) { try await ledger.setTag(r, tag: tag("v1"), digest: manifest(1).digest, context: alice) }
        _ = try await ledger.putImageTagMutability(r, .default, context: alice)
        _ = try await ledger.setTagImmutable(r, tag: tag("v1"), immutable: true, context: alice)
        await expectError(.tagImmutable) { try await ledger.setTag(r, tag: tag("v1"), digest: manifest(2).digest, context: alice) }
    }

    @Test func deleteOfAFlaggedTagIsRefusedAndOfAnUnknownTagIsNotFound() async throws {
        let (ledger, r) = try await store()
        _ = try await ledger.setTagImmutable(r, tag: tag("v1"), immutable: true, context: alice)
        await expectError(.tagImmutable) { try await ledger.deleteTag(r, tag: tag("v1"), context: alice) }
        await expectError(.tagNotFound) { try await ledger.deleteTag(r, tag: tag("zzz"), context: alice) }
        _ = try await ledger.setTagImmutable(r, tag: tag("v1"), immutable: false, context: admin)
        try await ledger.deleteTag(r, tag: tag("v1"), context: alice)
        // The image stays, untagged.
        #expect(try ledger.allEntries(r).contains(ImageEntry(digest: manifest(1).digest, tag: nil)))
    }

    @Test func onlyAnAdminMayClearAFlag() async throws {
        let (ledger, r) = try await store()
        _ = try await ledger.setTagImmutable(r, tag: tag("v1"), immutable: true, context: alice)
        await expectError(.forbidden) { try await ledger.setTagImmutable(r, tag: tag("v1"), immutable: false, context: alice) }
        #expect(try ledger.denials().last?.operation == "quay.SetTagImmutability")
        _ = try await ledger.setTagImmutable(r, tag: tag("v1"), immutable: false, context: admin)
        #expect(try ledger.tagRecord(r, "v1")?.immutable == false)
        let manual = try ledger.events().filter { if case .tagFlagChanged(_, _, _, .manual) = $0.event { true } else { false } }
        #expect(manual.map(\.actor) == ["alice", "root"])
    }

    @Test func quayPolicyBlocksEcrOverwriteAndEcrDelete() async throws {
        let (ledger, r) = try await store()
        _ = try await ledger.createPolicy(.organization(.defaultId, "acme"), tagPattern: "v.*", context: admin)
        await expectError(.imageTagAlreadyExists) { try await ledger.putImage(r, manifest: manifest(3), tag: tag("v1"), context: alice) }
        let result = try await ledger.batchDeleteImage(r, imageIds: [ImageIdentifier(tag: "v1")], context: alice)
        #expect(result.failures.count == 1)
    }

    @Test func tagListPagesByNameWithHasAdditional() async throws {
        let (ledger, r) = try await store()
        for i in 0..<5 { _ = try await ledger.setTag(r, tag: tag("t\(i)"), digest: manifest(2).digest, context: alice) }
        let first = try ledger.listTags(r, page: 1, limit: 4)
        #expect(first.tags.map(\.name) == ["t0", "t1", "t2", "t3"] && first.hasAdditional)
        let second = try ledger.listTags(r, page: 2, limit: 4)
        #expect(second.tags.map(\.name) == ["t4", "v1"] && !second.hasAdditional)
        #expect(try ledger.listTags(r, specificTag: "t3").tags.map(\.name) == ["t3"])
        await expectError(.invalidParameter) { try ledger.listTags(r, page: 0) }
        await expectError(.invalidParameter) { try ledger.listTags(r, limit: 101) }
    }
}
