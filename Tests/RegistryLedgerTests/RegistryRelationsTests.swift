import Foundation
@testable import RegistryLedger
import Testing

/// The registry API's commands and relations (SPEC §8): blobs a repository holds, pushes that
/// require them, referrers, and how deletion and lifecycle treat indexes and referrers.
@Suite struct RegistryRelationsTests {
    let oci = CommandContext(actor: "alice", origin: .oci, requestId: "req-oci")

    static func digest(_ text: String) -> Digest { Digest(of: Array(text.utf8)) }

    /// An image manifest naming `blobs`, optionally referring to `subject`.
    static func image(_ seed: Int, blobs: [Digest], subject: Digest? = nil, artifactType: String? = nil) -> Manifest {
        var object: [String: Any] = [
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": blobs[0].description, "size": 10],
            "layers": blobs.dropFirst().map { ["mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": $0.description, "size": 10] },
            "annotations": ["seed": "\(seed)"],
        ]
        if let subject { object["subject"] = ["mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject.description, "size": 1] }
        if let artifactType { object["artifactType"] = artifactType }
        return try! Manifest(bytes: Array(try! JSONSerialization.data(withJSONObject: object, options: .sortedKeys)))
    }

    static func index(_ children: [Digest]) -> Manifest {
        let object: [String: Any] = [
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": children.map { ["mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": $0.description, "size": 1] },
        ]
        return try! Manifest(bytes: Array(try! JSONSerialization.data(withJSONObject: object, options: .sortedKeys)))
    }

    /// Links `blobs` into `ref` (creating it) and pushes an image naming them.
    func pushImage(_ ledger: Ledger, _ ref: RepositoryRef, _ seed: Int, tag: String?, subject: Digest? = nil) async throws -> Manifest {
        let blobs = [Self.digest("config \(seed)"), Self.digest("layer \(seed)")]
        for blob in blobs { try await ledger.linkBlob(ref, digest: blob, size: 10, createsRepository: true, context: oci) }
        let m = Self.image(seed, blobs: blobs, subject: subject)
        _ = try await ledger.pushManifest(ref, manifest: m, tag: try tag.map { try Tag($0) }, context: oci)
        return m
    }

    @Test func aRegistryPushNeedsItsBlobsInTheRepositoryAndCreatesTheRepository() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/app"), other = repo("acme/other")
        let blobs = [Self.digest("c"), Self.digest("l")]
        let m = Self.image(1, blobs: blobs)
        await expectError(.layersNotFound) { try await ledger.pushManifest(ref, manifest: m, tag: tag("v1"), context: oci) }
        #expect(try ledger.headSeq() == 0)  // not even the repository
        try await ledger.linkBlob(other, digest: blobs[0], size: 10, createsRepository: true, context: oci)
        try await ledger.linkBlob(other, digest: blobs[1], size: 10, createsRepository: true, context: oci)
        await expectError(.layersNotFound) { try await ledger.pushManifest(ref, manifest: m, tag: tag("v1"), context: oci) }
        for blob in blobs { try await ledger.linkBlob(ref, digest: blob, size: 10, createsRepository: true, context: oci) }
        #expect(try await ledger.linkBlob(ref, digest: blobs[0], size: 10, createsRepository: true, context: oci) == false)
        let pushed = try await ledger.pushManifest(ref, manifest: m, tag: tag("v1"), context: oci)
        #expect(pushed.appended && pushed.digest == m.digest)
        #expect(try ledger.blobSize(ref, digest: blobs[1]) == 10)
        // ECR's PutImage keeps accepting manifests whose blobs the store does not hold.
        _ = try await ledger.createRepository(repo("ecr/app"), context: alice)
        _ = try await ledger.putImage(repo("ecr/app"), manifest: m, tag: tag("v1"), context: alice)
        // An index needs its children in the repository.
        let index = Self.index([m.digest, Self.digest("absent manifest")])
        await expectError(.layersNotFound) { try await ledger.pushManifest(ref, manifest: index, tag: tag("multi"), context: oci) }
        _ = try await ledger.pushManifest(ref, manifest: Self.index([m.digest]), tag: tag("multi"), context: oci)
    }

    @Test func repushingWhatIsThereAppendsNothingEvenOnAProtectedTag() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/app")
        let first = try await pushImage(ledger, ref, 1, tag: "v1")
        _ = try await ledger.putImageTagMutability(ref, try TagMutability(mode: .immutable), context: alice)
        let head = try ledger.headSeq()
        let again = try await ledger.pushManifest(ref, manifest: first, tag: tag("v1"), context: oci)
        #expect(!again.appended && again.digest == first.digest)
        let byDigest = try await ledger.pushManifest(ref, manifest: first, tag: nil, context: oci)
        #expect(!byDigest.appended)
        #expect(try ledger.headSeq() == head)
        let second = try await pushImage(ledger, ref, 2, tag: nil)  // by digest: allowed in an immutable repository
        await expectError(.imageTagAlreadyExists) { try await ledger.pushManifest(ref, manifest: second, tag: tag("v1"), context: oci) }
        #expect(try ledger.denials().last?.origin == .oci)
        // A new tag for an image already there is a tag event only.
        let tagged = try await ledger.pushManifest(ref, manifest: second, tag: tag("v2"), context: oci)
        #expect(tagged.appended)
        #expect(try ledger.events(from: head + 1).map(\.event.typeName).suffix(1) == ["tag.set"])
    }

    @Test func referrersAreListedAndGoWithTheirSubject() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/app")
        let subject = try await pushImage(ledger, ref, 1, tag: "v1")
        let sig = try await pushImage(ledger, ref, 2, tag: nil, subject: subject.digest)
        let sigOfSig = try await pushImage(ledger, ref, 3, tag: nil, subject: sig.digest)
        #expect(try ledger.referrers(ref, subject: subject.digest).map(\.digest) == [sig.digest])
        #expect(try ledger.referrers(ref, subject: subject.digest, artifactType: "other/type").isEmpty)
        #expect(try ledger.referrers(ref, subject: Self.digest("unknown")).isEmpty)
        let unrelated = try await pushImage(ledger, ref, 4, tag: "v4")
        let before = try ledger.headSeq()
        // Deleting the subject's last tag deletes the image, and its referrers, transitively.
        let result = try await ledger.batchDeleteImage(ref, imageIds: [ImageIdentifier(tag: "v1")], context: oci)
        #expect(result.failures.isEmpty)
        let deleted = try ledger.events(from: before + 1).compactMap { r -> Digest? in
            if case .imageDeleted(_, let d) = r.event { d } else { nil }
        }
        #expect(Set(deleted) == [subject.digest, sig.digest, sigOfSig.digest])
        #expect(try ledger.referrers(ref, subject: subject.digest).isEmpty)
        #expect(try ledger.allEntries(ref).map(\.digest) == [unrelated.digest])
        // The derived state is what a rebuild from the log makes, blobs and referrers included.
        let digest = try ledger.stateDigest()
        #expect(try await ledger.rebuild() == digest)
    }

    @Test func aFlaggedReferrerTagProtectsItsSubjectFromDeletion() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/app")
        let subject = try await pushImage(ledger, ref, 1, tag: "v1")
        let sig = try await pushImage(ledger, ref, 2, tag: "sig", subject: subject.digest)
        _ = try await ledger.setTagImmutable(ref, tag: tag("sig"), immutable: true, context: admin)
        let result = try await ledger.batchDeleteImage(ref, imageIds: [ImageIdentifier(digest: subject.digest.description)], context: oci)
        #expect(result.failures.first?.code == "InvalidImageTag")
        #expect(try ledger.referrers(ref, subject: subject.digest).map(\.digest) == [sig.digest])
    }

    @Test func unlinkingNeedsTheBlobAndChangesNothingOtherwise() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/app")
        let held = Self.digest("held")
        try await ledger.linkBlob(ref, digest: held, size: 5, createsRepository: true, context: oci)
        let head = try ledger.headSeq()
        await expectError(.layersNotFound) { try await ledger.unlinkBlobs(ref, digests: [held, Self.digest("never")], context: oci) }
        #expect(try ledger.headSeq() == head)
        try await ledger.unlinkBlobs(ref, digests: [held], context: oci)
        #expect(try ledger.blobSize(ref, digest: held) == nil)
        await expectError(.repositoryNotFound) { try await ledger.linkBlob(repo("acme/none"), digest: held, size: 5, createsRepository: false, context: oci) }
        #expect(try ledger.blobLinks().isEmpty)
    }

    @Test func lifecycleKeepsIndexChildrenAndReferrersOfPresentSubjects() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/app")
        let child = try await pushImage(ledger, ref, 1, tag: nil)
        _ = try await ledger.pushManifest(ref, manifest: Self.index([child.digest]), tag: tag("multi"), context: oci)
        let subject = try await pushImage(ledger, ref, 2, tag: "old-1")
        let sig = try await pushImage(ledger, ref, 3, tag: nil, subject: subject.digest)
        let loose = try await pushImage(ledger, ref, 4, tag: nil)
        _ = try await pushImage(ledger, ref, 5, tag: nil)
        _ = try await pushImage(ledger, ref, 6, tag: "old-2")
        // The index's child and the referrer neither expire nor count among the untagged kept.
        let expireUntagged = #"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#
        let preview = try ledger.lifecyclePreview(ref, policyText: expireUntagged).outcomes
        #expect(preview.map(\.image.digest) == [loose.digest])
        // Expiring the subject takes its referrer with it.
        let expireOld = #"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["old"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#
        try await ledger.putLifecyclePolicy(ref, text: expireOld, context: alice)
        let run = try await ledger.runLifecycle(ref)
        #expect(run.first?.outcomes.map(\.image.digest) == [subject.digest])
        let entries = try ledger.allEntries(ref).map(\.digest)
        #expect(!entries.contains(sig.digest) && !entries.contains(subject.digest) && entries.contains(child.digest))
        #expect(try ledger.events().last.map { if case .imageDeleted(_, let d) = $0.event { d == sig.digest } else { false } } == true)
    }

    @Test func exportAndImportCarryBlobAndReferrerEvents() async throws {
        let (source, _) = try makeLedger()
        let ref = repo("acme/app")
        let subject = try await pushImage(source, ref, 1, tag: "v1")
        _ = try await pushImage(source, ref, 2, tag: nil, subject: subject.digest)
        try await source.unlinkBlobs(ref, digests: [Self.digest("layer 1")], context: oci)
        let records = try source.events()
        let lines = try records.map { record -> String in
            var manifest: [UInt8]?
            if case .imagePushed(_, let d, _, _, _) = record.event { manifest = try source.manifest(d) }
            return EventJSON.line(record, manifest: manifest)
        }
        #expect(lines.contains { $0.contains(#""subject":"\#(subject.digest)""#) })
        let parsed = try lines.map(EventJSON.parse)
        #expect(parsed.map(\.0) == records)
        let (target, _) = try makeLedger()
        try await target.append(imported: parsed.map(\.0), manifests: parsed.compactMap(\.1))
        #expect(try target.stateDigest() == source.stateDigest())
        #expect(try target.referrers(ref, subject: subject.digest).count == 1)
    }
}
