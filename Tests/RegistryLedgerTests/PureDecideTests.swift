@testable import RegistryLedger
import Testing

/// A command that pushes an image, reads its own change back, and then refuses: what it emitted
/// must leave no trace anywhere.
private struct PushThenRefuse: LedgerCommand {
    static let operation = "test.PushThenRefuse"
    let ref: RepositoryRef
    let manifest: Manifest

    func run(_ changes: inout Changes) throws -> Bool {
        let repo = try changes.repository(ref)
        try changes.emit(.imagePushed(ref, digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.imageSize), naming: manifest)
        try changes.emit(.tagSet(ref, tag: Tag(unchecked: "seen"), digest: manifest.digest, previous: nil))
        // The command's view shows its own events…
        guard try changes.view.tag(repo.repoId, "seen")?.digest == manifest.digest,
              try changes.view.image(repo.repoId, manifest.digest)?.tags == ["seen"] else { return false }
        // …and the refusal comes after them.
        throw changes.deny(.tagImmutable, "refused after emitting", operation: Self.operation, repository: ref, tag: "seen")
    }
}

@Suite struct PureDecideTests {
    @Test func aCommandThatRefusesAfterEmittingLeavesNoTraceButItsDenial() async throws {
        let (ledger, _) = try makeLedger(durable: true)
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        let (head, digest) = (try ledger.headSeq(), try ledger.stateDigest())
        let error = await expectError(.tagImmutable) { try await ledger.submit(PushThenRefuse(ref: r, manifest: manifest(1)), alice) }
        #expect(error?.message == "refused after emitting")
        #expect(try ledger.headSeq() == head)
        #expect(try ledger.stateDigest() == digest)
        #expect(try ledger.manifest(manifest(1).digest) == nil)
        #expect(try ledger.denials().map(\.operation) == [PushThenRefuse.operation])
        // The next command finds the store as it was.
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("seen"), context: alice)
        #expect(try ledger.allEntries(r).map(\.tag) == ["seen"])
    }

    @Test func aCommandReadsItsOwnEarlierChanges() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("a"), context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("b"), context: alice)
        // The second id finds the image without its tag `a`, which the first removed: only `b`
        // is left to remove with the image.
        let result = try await ledger.batchDeleteImage(r, imageIds: [ImageIdentifier(tag: "a"), ImageIdentifier(digest: manifest(1).digest.description)],
                                                       context: alice)
        #expect(result.failures.isEmpty && result.deleted.count == 2)
        let removed = try ledger.events().compactMap { record -> String? in
            switch record.event {
            case .tagRemoved(_, let t, _): "tag \(t.value)"
            case .imageDeleted: "image"
            default: nil
            }
        }
        #expect(removed == ["tag a", "tag b", "image"])
        #expect(try ledger.allEntries(r, filter: ImageFilter(imageStatus: .any)).isEmpty)
        #expect(try await ledger.rebuild() == ledger.stateDigest())
    }

    @Test func commandsOfOneGroupSeeTheEarlierOnesEffects() async throws {
        let (ledger, _) = try makeLedger(durable: true)
        let r = repo("acme/web")
        // Fifty creations of one repository at once, most of them in shared groups: one wins.
        let created = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<50 {
                group.addTask { (try? await ledger.createRepository(r, context: alice)) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(created == 1)
        // Pushes racing for one new tag of an immutable repository: the first creates it.
        _ = try await ledger.putImageTagMutability(r, try TagMutability(mode: .immutable), context: alice)
        let pushed = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<50 {
                group.addTask { (try? await ledger.putImage(r, manifest: manifest(i), tag: tag("only"), context: alice)) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        // The tag is immutable once it exists: exactly one push could create it.
        #expect(pushed == 1)
        #expect(ledger.stats.largestBatch > 1)
        #expect(try ledger.allEntries(r, filter: ImageFilter(tagStatus: .tagged)).count == 1)
        #expect(try await ledger.rebuild() == ledger.stateDigest())
    }
}
