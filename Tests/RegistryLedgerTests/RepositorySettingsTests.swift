import Foundation
@testable import RegistryLedger
import Testing

/// Repository settings and resource tags (SPEC §2.7): stored, changed by their commands, each
/// change one event, seen at every point of history; bad input changes nothing.
@Suite struct RepositorySettingsTests {
    func tags(_ pairs: [(String, String)]) throws -> [ResourceTag] { try pairs.map { try ResourceTag(key: $0.0, value: $0.1) } }

    @Test func settingsAndTagsGivenAtCreationAreStoredReturnedAndLogged() async throws {
        let (ledger, _) = try makeLedger()
        let kms = RepositorySettings(scanOnPush: true, encryption: try EncryptionConfiguration(typeName: "KMS", kmsKey: "arn:aws:kms:us-east-1:1:key/k"))
        let created = try await ledger.createRepository(repo("acme/web"), settings: kms, resourceTags: try tags([("team", "web"), ("env", "")]),
                                                        context: alice)
        #expect(created.settings == kms)
        #expect(created.resourceTags.map(\.key) == ["env", "team"])
        #expect(try ledger.events().map(\.event.typeName) == ["repository.created", "settings.changed", "tags.changed"])
        // Defaults make no events of their own.
        let plain = try await ledger.createRepository(repo("acme/plain"), context: alice)
        #expect(plain.settings == .default && plain.resourceTags.isEmpty)
        #expect(try ledger.events().count == 4)
        #expect(try ledger.describeRepositories(names: [repo("acme/web").name]).items[0].settings == kms)
    }

    @Test func tagUntagAndScanningChangeOnlyWhatTheySayAndOnlyWhenItChanges() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/web")
        _ = try await ledger.createRepository(ref, context: alice)
        #expect(try await ledger.tagRepository(ref, try tags([("team", "a"), ("env", "prod")]), context: alice).map(\.value) == ["prod", "a"])
        // An existing key takes the new value; the others stay.
        #expect(try await ledger.tagRepository(ref, try tags([("team", "b")]), context: alice).map(\.value) == ["prod", "b"])
        let head = try ledger.headSeq()
        // The same values again, an absent key removed, scanning set as it is: no events.
        _ = try await ledger.tagRepository(ref, try tags([("team", "b")]), context: alice)
        _ = try await ledger.untagRepository(ref, keys: ["absent"], context: alice)
        _ = try await ledger.putImageScanningConfiguration(ref, scanOnPush: false, context: alice)
        #expect(try ledger.headSeq() == head)
        #expect(try await ledger.untagRepository(ref, keys: ["env"], context: alice).map(\.key) == ["team"])
        #expect(try await ledger.putImageScanningConfiguration(ref, scanOnPush: true, context: alice).scanOnPush)
        #expect(try ledger.headSeq() == head + 2)
        await expectError(.repositoryNotFound) { try await ledger.tagRepository(repo("acme/none"), try tags([("a", "b")]), context: alice) }
        await expectError(.repositoryNotFound) { try await ledger.putImageScanningConfiguration(repo("acme/none"), scanOnPush: true, context: alice) }
    }

    @Test func tooManyTagsDuplicateKeysAndBadKeysOrValuesChangeNothing() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/web")
        _ = try await ledger.createRepository(ref, resourceTags: try (0..<49).map { try ResourceTag(key: "k\($0)", value: "v") }, context: alice)
        let head = try ledger.headSeq()
        await expectError(.tooManyTags) { try await ledger.tagRepository(ref, try tags([("x", "1"), ("y", "2")]), context: alice) }
        await expectError(.invalidTagParameter) { try await ledger.tagRepository(ref, try tags([("x", "1"), ("x", "2")]), context: alice) }
        // Replacing existing keys never counts twice: 49 + one new is the limit.
        _ = try await ledger.tagRepository(ref, try tags([("k0", "new"), ("x", "1")]), context: alice)
        #expect(try ledger.headSeq() == head + 1)
        await expectError(.tooManyTags) {
            try await ledger.createRepository(repo("acme/many"), resourceTags: try (0..<51).map { try ResourceTag(key: "k\($0)", value: "") }, context: alice)
        }
        await expectError(.invalidTagParameter) { try ResourceTag(key: "", value: "v") }
        await expectError(.invalidTagParameter) { try ResourceTag(key: String(repeating: "k", count: 129), value: "v") }
        await expectError(.invalidTagParameter) { try ResourceTag(key: "k", value: String(repeating: "v", count: 257)) }
        #expect(try ResourceTag(key: String(repeating: "k", count: 128), value: String(repeating: "v", count: 256)).key.count == 128)
        await expectError(.invalidParameter) { try EncryptionConfiguration(typeName: "BOGUS", kmsKey: nil) }
        await expectError(.invalidParameter) { try EncryptionConfiguration(typeName: "AES256", kmsKey: "key") }
        await expectError(.invalidParameter) { try EncryptionConfiguration(typeName: "KMS", kmsKey: "") }
        #expect(try ledger.headSeq() == head + 1)
    }

    @Test func everyPointOfHistoryShowsTheSettingsAndTagsOfThatPointAndDiffNamesTheChanges() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/web")
        _ = try await ledger.createRepository(ref, context: alice)
        let created = try ledger.headSeq()
        _ = try await ledger.tagRepository(ref, try tags([("team", "a")]), context: alice)
        _ = try await ledger.putImageScanningConfiguration(ref, scanOnPush: true, context: alice)
        let changed = try ledger.headSeq()
        _ = try await ledger.untagRepository(ref, keys: ["team"], context: alice)
        let early = try ledger.state(at: .seq(created), repository: ref).repositories[0]
        #expect(early.settings == .default && early.resourceTags.isEmpty)
        let middle = try ledger.state(at: .seq(changed), repository: ref).repositories[0]
        let teamA = try tags([("team", "a")])
        #expect(middle.settings.scanOnPush && middle.resourceTags == teamA)
        #expect(try ledger.state(at: .seq(try ledger.headSeq())).repositories[0].resourceTags.isEmpty)
        let kinds = try ledger.diff(from: .seq(created), to: .seq(changed)).map(\.kind)
        #expect(kinds == ["settings.changed", "tags.changed"])
        #expect(try ledger.diff(from: .seq(changed), to: .seq(try ledger.headSeq())).map(\.kind) == ["tags.changed"])
        // The derived state built from the log alone is the same.
        let digest = try ledger.stateDigest()
        #expect(try await ledger.rebuild() == digest)
    }

    @Test func settingsAndTagsEventsRoundTripThroughTheCodecAndTheJSONForm() throws {
        let ref = repo("acme/web")
        let events: [Event] = [
            .settingsChanged(ref, RepositorySettings(scanOnPush: true, encryption: try EncryptionConfiguration(typeName: "KMS_DSSE", kmsKey: "k"))),
            .settingsChanged(ref, .default),
            .resourceTagsChanged(ref, try tags([("a", ""), ("b", "x")])),
            .resourceTagsChanged(ref, []),
        ]
        var prev = [UInt8](repeating: 0, count: 32)
        for (i, event) in events.enumerated() {
            let record = EventRecord(seq: UInt64(i + 1), timestamp: 1_000, context: alice, event: event, prevHash: prev)
            let decoded = try record.encoded.withUnsafeBytes { try EventRecord.decode($0) }
            #expect(decoded == record)
            #expect(try EventJSON.parse(EventJSON.line(record)).0 == record)
            prev = record.hash
        }
    }
}
