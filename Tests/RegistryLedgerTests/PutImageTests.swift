@testable import RegistryLedger
import Testing

@Suite struct PutImageTests {
    @Test func pushStoresTheManifestUnderItsComputedDigest() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        let m = manifest(7)
        let pushed = try await ledger.putImage(r, manifest: m, tag: tag("v1"), context: alice)
        #expect(pushed.digest == Digest(of: m.bytes))
        let got = try ledger.batchGetImage(r, imageIds: [ImageIdentifier(tag: "v1")])
        #expect(got.images.first?.manifest == m.bytes)
        #expect(got.images.first?.imageId.digest == m.digest.description)
        let detail = try ledger.describeImages(r).items
        #expect(detail.first?.size == 3100 && detail.first?.tags == ["v1"] && detail.first?.status == .active)
    }

    @Test func clientDigestMustMatchAndBeWellFormed() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        await expectError(.imageDigestDoesNotMatch) {
            try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), expectedDigest: manifest(2).digest.description, context: alice)
        }
        await expectError(.invalidParameter) {
            try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), expectedDigest: "sha256:nothex", context: alice)
        }
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), expectedDigest: manifest(1).digest.description, context: alice)
    }

    @Test func pushToUnknownRepositoryFails() async throws {
        let (ledger, _) = try makeLedger()
        await expectError(.repositoryNotFound) { try await ledger.putImage(repo("nope"), manifest: manifest(1), context: alice) }
    }

    @Test func samePushTwiceGivesImageAlreadyExists() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice)
        let head = try ledger.headSeq()
        await expectError(.imageAlreadyExists) { try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice) }
        await expectError(.imageAlreadyExists) { try await ledger.putImage(r, manifest: manifest(1), context: alice) }
        #expect(try ledger.headSeq() == head)
        // A second tag on the same image is fine.
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1-alias"), context: alice)
    }

    @Test func movedTagLeavesOldImageWithItsOtherTagsOrUntagged() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        let a = manifest(1), b = manifest(2)
        _ = try await ledger.putImage(r, manifest: a, tag: tag("latest"), context: alice)
        _ = try await ledger.putImage(r, manifest: a, tag: tag("v1"), context: alice)
        _ = try await ledger.putImage(r, manifest: b, tag: tag("latest"), context: alice)
        var entries = Set(try ledger.allEntries(r))
        #expect(entries == [ImageEntry(digest: a.digest, tag: "v1"), ImageEntry(digest: b.digest, tag: "latest")])
        _ = try await ledger.putImage(r, manifest: b, tag: tag("v1"), context: alice)
        entries = Set(try ledger.allEntries(r))
        #expect(entries == [ImageEntry(digest: a.digest, tag: nil), ImageEntry(digest: b.digest, tag: "latest"),
                            ImageEntry(digest: b.digest, tag: "v1")])
    }

    /// The enforcement table: which modes refuse an overwrite of an existing tag.
    @Test(arguments: [
        ("MUTABLE", [String](), "v1", false), ("IMMUTABLE", [], "v1", true), ("IMMUTABLE", [], "dev-1", true),
        ("IMMUTABLE_WITH_EXCLUSION", ["dev-*"], "v1", true), ("IMMUTABLE_WITH_EXCLUSION", ["dev-*"], "dev-1", false),
        ("IMMUTABLE_WITH_EXCLUSION", ["dev-*", "*-rc"], "2.0-rc", false), ("IMMUTABLE_WITH_EXCLUSION", ["latest"], "latest2", true),
        ("MUTABLE_WITH_EXCLUSION", ["release-*"], "release-1", true), ("MUTABLE_WITH_EXCLUSION", ["release-*"], "dev", false),
        ("MUTABLE_WITH_EXCLUSION", ["Release-*"], "release-1", false),
    ])
    func overwriteFollowsTheMutabilitySetting(_ mode: String, _ filters: [String], _ tagName: String, _ refused: Bool) async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        let setting = try TagMutability(modeName: mode, filters: filters.map { try WildcardFilter($0) })
        _ = try await ledger.createRepository(r, mutability: setting, context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag(tagName), context: alice)  // new tag: always allowed
        if refused {
            await expectError(.imageTagAlreadyExists) { try await ledger.putImage(r, manifest: manifest(2), tag: tag(tagName), context: alice) }
            // Even the same manifest again is refused as a tag overwrite, not as "already exists".
            await expectError(.imageTagAlreadyExists) { try await ledger.putImage(r, manifest: manifest(1), tag: tag(tagName), context: alice) }
            #expect(try ledger.denials().contains { $0.operation == "PutImage" && $0.tag == tagName && $0.actor == "alice" })
        } else {
            _ = try await ledger.putImage(r, manifest: manifest(2), tag: tag(tagName), context: alice)
            #expect(try ledger.allEntries(r).contains(ImageEntry(digest: manifest(2).digest, tag: tagName)))
        }
    }

    @Test func refusedOverwriteLeavesLogProjectionsAndDigestUnchanged() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, mutability: try TagMutability(mode: .immutable), context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice)
        let (head, digest) = (try ledger.headSeq(), try ledger.stateDigest())
        await expectError(.imageTagAlreadyExists) { try await ledger.putImage(r, manifest: manifest(2), tag: tag("v1"), context: alice) }
        #expect(try ledger.headSeq() == head)
        #expect(try ledger.stateDigest() == digest)
        #expect(try ledger.denials().count == 1)
        // The refused push did not leave its image behind either.
        #expect(try ledger.describeImages(r).items.count == 1)
    }
}
