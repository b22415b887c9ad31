@testable import RegistryLedger
import Testing

@Suite struct BatchDeleteTests {
    func seeded() async throws -> (Ledger, RepositoryRef) {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("a1"), context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("a2"), context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(2), tag: tag("b1"), context: alice)
        return (ledger, r)
    }

    @Test func deletingOneOfTwoTagsKeepsTheImage() async throws {
        let (ledger, r) = try await seeded()
        let result = try await ledger.batchDeleteImage(r, imageIds: [ImageIdentifier(tag: "a1")], context: alice)
        #expect(result.deleted == [ImageIdentifier(digest: manifest(1).digest.description, tag: "a1")])
        #expect(Set(try ledger.allEntries(r)) == [ImageEntry(digest: manifest(1).digest, tag: "a2"), ImageEntry(digest: manifest(2).digest, tag: "b1")])
    }

    @Test func deletingTheLastTagDeletesTheImage() async throws {
        let (ledger, r) = try await seeded()
        _ = try await ledger.batchDeleteImage(r, imageIds: [ImageIdentifier(tag: "b1")], context: alice)
        #expect(!(try ledger.describeImages(r).items.map(\.digest)).contains(manifest(2).digest))
    }

    @Test func deletingByDigestRemovesTheImageAndAllItsTags() async throws {
        let (ledger, r) = try await seeded()
        let result = try await ledger.batchDeleteImage(r, imageIds: [ImageIdentifier(digest: manifest(1).digest.description)], context: alice)
        #expect(result.failures.isEmpty)
        #expect(try ledger.allEntries(r) == [ImageEntry(digest: manifest(2).digest, tag: "b1")])
        #expect(try ledger.tagRecord(r, "a1") == nil)
    }

    @Test func badIdsBecomeFailuresWhileTheRestProceed() async throws {
        let (ledger, r) = try await seeded()
        let ids = [
            ImageIdentifier(tag: "nope"), ImageIdentifier(), ImageIdentifier(digest: "sha256:xyz"), ImageIdentifier(tag: "bad tag"),
            ImageIdentifier(digest: manifest(2).digest.description, tag: "a1"), ImageIdentifier(tag: "a2"),
        ]
        let result = try await ledger.batchDeleteImage(r, imageIds: ids, context: alice)
        #expect(result.failures.map(\.code) == ["ImageNotFound", "MissingDigestAndTag", "InvalidImageDigest", "InvalidImageTag", "ImageTagDoesNotMatchDigest"])
        #expect(result.deleted.map(\.tag) == ["a2"])
    }

    @Test func flaggedTagBlocksDeletionByTagButNotTheOthers() async throws {
        let (ledger, r) = try await seeded()
        _ = try await ledger.setTagImmutable(r, tag: tag("a1"), immutable: true, context: alice)
        let result = try await ledger.batchDeleteImage(r, imageIds: [ImageIdentifier(tag: "a1"), ImageIdentifier(tag: "b1")], context: alice)
        #expect(result.failures.count == 1)
        #expect(result.failures.first?.code == "InvalidImageTag")
        #expect(result.failures.first?.reason.contains("immutable") == true)
        #expect(result.deleted.map(\.tag) == ["b1"])
        #expect(try ledger.tagRecord(r, "a1") != nil)
        #expect(try ledger.denials().contains { $0.operation == "BatchDeleteImage" && $0.tag == "a1" })
    }

    @Test func deleteByDigestWithAProtectedTagDeletesNothingOfThatImage() async throws {
        let (ledger, r) = try await seeded()
        _ = try await ledger.setTagImmutable(r, tag: tag("a2"), immutable: true, context: alice)
        let digestBefore = try ledger.stateDigest()
        let result = try await ledger.batchDeleteImage(r, imageIds: [ImageIdentifier(digest: manifest(1).digest.description)], context: alice)
        #expect(result.deleted.isEmpty && result.failures.count == 1)
        #expect(try ledger.tagRecord(r, "a1") != nil && ledger.tagRecord(r, "a2") != nil)
        #expect(try ledger.stateDigest() == digestBefore)
    }

    @Test func ecrModesAloneDoNotBlockDeletion() async throws {
        let (ledger, r) = try await seeded()
        _ = try await ledger.putImageTagMutability(r, try TagMutability(mode: .immutable), context: alice)
        let result = try await ledger.batchDeleteImage(r, imageIds: [ImageIdentifier(tag: "a1")], context: alice)
        #expect(result.failures.isEmpty && result.deleted.count == 1)
    }
}

@Suite struct StorageClassTests {
    @Test func archiveThenRestoreThenCompleteActivation() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        let d = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice).digest
        let id = ImageIdentifier(tag: "v1")
        #expect(try await ledger.updateImageStorageClass(r, imageId: id, targetStorageClass: "ARCHIVE", context: alice).status == .archived)
        // Default listing shows ACTIVE only.
        #expect(try ledger.listImages(r).items.isEmpty)
        #expect(try ledger.listImages(r, filter: ImageFilter(imageStatus: .archived)).items.count == 1)
        await expectError(.imageStorageClassUpdateNotSupported) {
            try await ledger.updateImageStorageClass(r, imageId: id, targetStorageClass: "ARCHIVE", context: alice)
        }
        await expectError(.imageStorageClassUpdateNotSupported) { try await ledger.completeActivation(r, digest: d, context: alice) }
        #expect(try await ledger.updateImageStorageClass(r, imageId: id, targetStorageClass: "STANDARD", context: alice).status == .activating)
        #expect(try ledger.listImages(r, filter: ImageFilter(imageStatus: .activating)).items.count == 1)
        #expect(try await ledger.completeActivation(r, digest: d, context: alice) == .active)
        #expect(Array(try ledger.listImages(r).items) == [ImageEntry(digest: d, tag: "v1")])
    }

    @Test func badTargetAndUnknownImageAreRejected() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice)
        await expectError(.invalidParameter) {
            try await ledger.updateImageStorageClass(r, imageId: ImageIdentifier(tag: "v1"), targetStorageClass: "GLACIER", context: alice)
        }
        await expectError(.imageNotFound) {
            try await ledger.updateImageStorageClass(r, imageId: ImageIdentifier(tag: "v9"), targetStorageClass: "ARCHIVE", context: alice)
        }
        await expectError(.imageStorageClassUpdateNotSupported) {
            try await ledger.updateImageStorageClass(r, imageId: ImageIdentifier(tag: "v1"), targetStorageClass: "STANDARD", context: alice)
        }
    }
}
