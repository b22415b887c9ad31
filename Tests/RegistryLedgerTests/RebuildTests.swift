@testable import RegistryLedger
import Testing

/// A seeded generator so a failing run can be repeated.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The small world random commands draw from: few repositories, tags and patterns, so that
/// commands collide (overwrites, refusals, retroactive flags) often.
enum CommandUniverse {
    static let repos = ["acme/a", "acme/b", "other/c", "solo"].map(repo)
    static let tags = (0..<8).map { "t\($0)" }
    static let patterns = ["t[0-3]", "t.*", "t7", "x", "(a+)+(b|-)"]
    static let scopes: [PolicyScope] = [.organization(.defaultId, "acme"), .organization(.defaultId, "other"),
                                        .repository(.defaultId, repos[0].name), .repository(.defaultId, repos[3].name)]
    static let blobs = (0..<3).map { Digest(of: Array("blob \($0)".utf8)) }

    /// A signature-like manifest referring to `subject`, naming two of ``blobs``.
    static func referrer(_ k: Int, subject: Digest) -> Manifest {
        let json = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.example.sig","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"\#(blobs[k % 3])","size":2},"layers":[{"mediaType":"application/octet-stream","digest":"\#(blobs[(k + 1) % 3])","size":10}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(subject)","size":1},"annotations":{"k":"\#(k)"}}"#
        return try! Manifest(bytes: Array(json.utf8))
    }
}

/// Runs `count` random commands of every kind (many of them refused) against `ledger`.
func runRandomCommands(_ ledger: Ledger, count: Int, seed: UInt64) async throws {
    var rng = SeededGenerator(state: seed)
    let (repos, tags, patterns, scopes) = (CommandUniverse.repos, CommandUniverse.tags, CommandUniverse.patterns, CommandUniverse.scopes)
    var policies: [(PolicyScope, String)] = []
    for _ in 0..<count {
        let r = repos.randomElement(using: &rng)!
        let t = tag(tags.randomElement(using: &rng)!)
        let m = manifest(Int.random(in: 0..<12, using: &rng))
        let context = Bool.random(using: &rng) ? alice : admin
        do {
            switch Int.random(in: 0..<21, using: &rng) {
            case 19:
                // The registry API's blobs: link one (creating the repository or not) or unlink one.
                let blob = CommandUniverse.blobs.randomElement(using: &rng)!
                if Bool.random(using: &rng) {
                    try await ledger.linkBlob(r, digest: blob, size: 10, createsRepository: Bool.random(using: &rng), context: context)
                } else {
                    try await ledger.unlinkBlobs(r, digests: [blob], context: context)
                }
            case 20:
                // A referrer of one of the images (pushed by digest, or tagged), naming linked blobs or not.
                let subject = manifest(Int.random(in: 0..<12, using: &rng)).digest
                let referrer = CommandUniverse.referrer(Int.random(in: 0..<6, using: &rng), subject: subject)
                _ = try await ledger.pushManifest(r, manifest: referrer, tag: Bool.random(using: &rng) ? t : nil, context: context)
            case 18:
                if Bool.random(using: &rng) {
                    let days = Int.random(in: 1..<30, using: &rng)
                    try await ledger.putLifecyclePolicy(r, text: LifecyclePolicyTests.policy(#"{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":\#(days)},"action":{"type":"expire"}}"#), context: context)
                } else {
                    _ = try await ledger.deleteLifecyclePolicy(r, context: context)
                }
            case 0: _ = try await ledger.createRepository(r, context: context)
            case 16:
                if Bool.random(using: &rng) {
                    let encryption = try EncryptionConfiguration(typeName: ["AES256", "KMS", "KMS_DSSE"].randomElement(using: &rng)!, kmsKey: nil)
                    _ = try await ledger.createRepository(r, settings: RepositorySettings(scanOnPush: Bool.random(using: &rng), encryption: encryption),
                                                          resourceTags: [try ResourceTag(key: "team", value: t.value)], context: context)
                } else {
                    _ = try await ledger.putImageScanningConfiguration(r, scanOnPush: Bool.random(using: &rng), context: context)
                }
            case 17:
                let key = ["team", "env", "cost"].randomElement(using: &rng)!
                if Bool.random(using: &rng) {
                    _ = try await ledger.tagRepository(r, [try ResourceTag(key: key, value: t.value)], context: context)
                } else {
                    _ = try await ledger.untagRepository(r, keys: [key], context: context)
                }
            case 1: if Int.random(in: 0..<4, using: &rng) == 0 { _ = try await ledger.deleteRepository(r, force: Bool.random(using: &rng), context: context) }
            case 2:
                let mode = TagMutability.Mode.allCases.randomElement(using: &rng)!
                let filters = mode.takesFilters ? [try WildcardFilter(["t1", "t*", "*7"].randomElement(using: &rng)!)] : []
                _ = try await ledger.putImageTagMutability(r, try TagMutability(mode: mode, filters: filters), context: context)
            case 3, 4, 5: _ = try await ledger.putImage(r, manifest: m, tag: Bool.random(using: &rng) ? t : nil, context: context)
            case 6:
                let ids = [ImageIdentifier(tag: t.value), ImageIdentifier(digest: m.digest.description), ImageIdentifier(digest: "bad")]
                _ = try await ledger.batchDeleteImage(r, imageIds: [ids.randomElement(using: &rng)!], context: context)
            case 7:
                _ = try await ledger.updateImageStorageClass(r, imageId: ImageIdentifier(tag: t.value),
                                                             targetStorageClass: Bool.random(using: &rng) ? "ARCHIVE" : "STANDARD", context: context)
            case 8: _ = try await ledger.completeActivation(r, digest: m.digest, context: context)
            case 9:
                let scope = scopes.randomElement(using: &rng)!
                let p = try await ledger.createPolicy(scope, tagPattern: patterns.randomElement(using: &rng)!,
                                                      tagPatternMatches: Bool.random(using: &rng), context: context)
                policies.append((scope, p.uuid))
            case 10:
                if let (scope, uuid) = policies.randomElement(using: &rng) {
                    _ = try await ledger.updatePolicy(scope, uuid: uuid, tagPattern: patterns.randomElement(using: &rng)!,
                                                      tagPatternMatches: Bool.random(using: &rng), context: context)
                }
            case 11:
                if let (scope, uuid) = policies.randomElement(using: &rng) { try await ledger.deletePolicy(scope, uuid: uuid, context: context) }
            case 12: _ = try await ledger.setTag(r, tag: t, digest: m.digest, context: context)
            case 13: try await ledger.deleteTag(r, tag: t, context: context)
            default: _ = try await ledger.setTagImmutable(r, tag: t, immutable: Bool.random(using: &rng), context: context)
            }
        } catch is LedgerError {
            // Refusals and bad requests are part of the mix.
        }
    }
}

@Suite struct RebuildTests {
    @Test func rebuildAfterThousandsOfRandomCommandsYieldsIdenticalProjections() async throws {
        let (ledger, path) = try makeLedger()
        try await runRandomCommands(ledger, count: 3000, seed: 42)
        let head = try ledger.headSeq()
        #expect(head > 500)
        #expect(try !ledger.denials().isEmpty)
        // The mix reaches the registry API's relations: blobs linked and unlinked, referrers pushed.
        let events = try ledger.events().map(\.event)
        #expect(events.contains { if case .blobLinked = $0 { true } else { false } })
        #expect(events.contains { if case .blobUnlinked = $0 { true } else { false } })
        #expect(events.contains { if case .imagePushed(_, _, _, _, let subject?) = $0 { subject.hex.count == 64 } else { false } })
        let before = try ledger.stateDigest()
        #expect(try await ledger.rebuild() == before)
        #expect(try ledger.stateDigest() == before)
        // Rebuilding again (into the other generation) is just as exact, and it persists.
        #expect(try await ledger.rebuild() == before)
        ledger.close()
        #expect(try Ledger(path: path).stateDigest() == before)
    }

    @Test func stateDigestChangesWithState() async throws {
        let (ledger, _) = try makeLedger()
        let empty = try ledger.stateDigest()
        _ = try await ledger.createRepository(repo("acme/a"), context: alice)
        #expect(try ledger.stateDigest() != empty)
    }

    @Test func queriesKeepWorkingDuringAndAfterRebuild() async throws {
        let (ledger, _) = try makeLedger()
        try await runRandomCommands(ledger, count: 500, seed: 7)
        let repos = try ledger.describeRepositories().items.map(\.name)
        async let rebuilt = ledger.rebuild()
        for _ in 0..<50 { #expect(try ledger.describeRepositories().items.map(\.name) == repos) }
        _ = try await rebuilt
        #expect(try ledger.describeRepositories().items.map(\.name) == repos)
        // And commands continue on the new generation.
        _ = try await ledger.createRepository(repo("after/rebuild"), context: alice)
    }
}
