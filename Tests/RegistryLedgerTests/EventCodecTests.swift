@testable import RegistryLedger
import LMDB
import Testing

@Suite struct EventCodecTests {
    static let r = RepositoryRef(registryId: try! RegistryId("123456789012"), name: try! RepositoryName("acme/web"))
    static let d1 = manifest(1).digest, d2 = manifest(2).digest
    static let events: [Event] = [
        .repositoryCreated(r, try! TagMutability(mode: .immutableWithExclusion, filters: [WildcardFilter("dev-*"), WildcardFilter("*-rc")])),
        .repositoryDeleted(r),
        .tagMutabilityChanged(r, .default),
        .imagePushed(r, digest: d1, mediaType: "application/vnd.oci.image.manifest.v1+json", size: 3100),
        .imagePushed(r, digest: d2, mediaType: "application/vnd.oci.image.index.v1+json", size: nil),
        .tagSet(r, tag: try! Tag("v1"), digest: d1, previous: nil),
        .tagSet(r, tag: try! Tag("v1"), digest: d2, previous: d1),
        .tagRemoved(r, tag: try! Tag("v1"), digest: d2),
        .imageDeleted(r, digest: d2),
        .imageStatusChanged(r, digest: d1, status: .activating),
        .policyCreated(.organization(.defaultId, "acme"), Policy(uuid: "u-1", tagPattern: "v.*", tagPatternMatches: false)),
        .policyUpdated(.repository(.defaultId, try! RepositoryName("acme/web")), Policy(uuid: "u-1", tagPattern: "ü+", tagPatternMatches: true)),
        .policyDeleted(.organization(.defaultId, "acme"), uuid: "u-1"),
        .tagFlagChanged(r, tag: try! Tag("v1"), immutable: true, cause: .policy(uuid: "u-1", boundHit: true)),
        .tagFlagChanged(r, tag: try! Tag("v1"), immutable: false, cause: .manual),
        .imagePushed(r, digest: d2, mediaType: "application/vnd.oci.image.manifest.v1+json", size: 10, subject: d1),
        .imagePushed(r, digest: d2, mediaType: "application/vnd.oci.image.index.v1+json", size: nil, subject: d1),
        .blobLinked(r, digest: d1, size: 1 << 40),
        .blobUnlinked(r, digest: d1),
    ]

    func record(_ event: Event, seq: UInt64 = 7) -> EventRecord {
        EventRecord(seq: seq, timestamp: 1_700_000_000_123_456, context: CommandContext(actor: "alice", origin: .quay, requestId: "r-9"),
                    event: event, prevHash: Array(repeating: 0xAB, count: 32))
    }

    @Test(arguments: EventCodecTests.events)
    func everyEventRoundTripsThroughTheBinaryRecord(_ event: Event) throws {
        let original = record(event)
        let decoded = try original.encoded.withUnsafeBytes { try EventRecord.decode($0) }
        #expect(decoded == original)
    }

    @Test func everyTruncationIsAMalformedRecordNotACrash() {
        let bytes = record(Self.events[0]).encoded
        for length in 0..<bytes.count {
            #expect(throws: DecodingError.self) { try Array(bytes.prefix(length)).withUnsafeBytes { try EventRecord.decode($0) } }
        }
    }

    /// Found by `make fuzz` (fuzz-event-record): a payload length past Int.max trapped in `Int(_:)`.
    @Test func aHugePayloadLengthIsAMalformedRecordNotACrash() {
        var bytes: [UInt8] = [EventRecord.format] + Array(repeating: 0, count: 16)  // format, seq, timestamp
        bytes += [0, 0, 0, 0, 1, 1]  // empty actor, origin, empty request id, type 1, schema 1
        bytes += [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]  // payload length 2^64 - 1
        bytes += Array(repeating: 0, count: 64)  // previous hash, hash
        #expect(throws: DecodingError.self) { try bytes.withUnsafeBytes { try EventRecord.decode($0, verifyHash: false) } }
    }

    @Test func stringsDecodeAsciiAndUTF8AndRefuseInvalidUTF8() throws {
        func decode(_ bytes: [UInt8]) throws -> String {
            try bytes.withUnsafeBytes { b in
                var r = BinaryReader(b)
                return try r.string()
            }
        }
        #expect(try decode([3] + Array("v1.".utf8)) == "v1.")
        #expect(try decode([0]) == "")
        #expect(try decode([3, 0x61, 0xC3, 0xBC]) == "aü")
        #expect(throws: DecodingError.self) { try decode([2, 0xC3, 0x28]) }
        #expect(throws: DecodingError.self) { try decode([1, 0xFF]) }
    }

    @Test func anyFlippedByteIsDetected() {
        let bytes = record(Self.events[3]).encoded
        for i in 0..<bytes.count {
            var tampered = bytes
            tampered[i] ^= 0x01
            #expect(throws: DecodingError.self) { try tampered.withUnsafeBytes { try EventRecord.decode($0) } }
        }
    }

    @Test func hashCoversThePreviousHash() {
        let a = record(Self.events[1])
        let b = EventRecord(seq: 7, timestamp: a.timestamp, context: CommandContext(actor: "alice", origin: .quay, requestId: "r-9"),
                            event: Self.events[1], prevHash: Array(repeating: 0xAC, count: 32))
        #expect(a.hash != b.hash)
    }
}

@Suite struct TamperTests {
    @Test func rebuildRefusesATamperedLogNamingTheSeqAndKeepsTheOldProjections() async throws {
        let (ledger, _) = try makeLedger()
        try await runRandomCommands(ledger, count: 200, seed: 3)
        let digest = try ledger.stateDigest()
        let target: UInt64 = 5
        try ledger.logEnv.write { txn in
            var bytes = try txn.get(ledger.logTables.log.raw, BigEndianU64.encode(target))!
            bytes[20] ^= 0xFF
            try txn.put(ledger.logTables.log.raw, BigEndianU64.encode(target), bytes)
        }
        let error = await expectError(.storage) { try await ledger.rebuild() }
        #expect(error?.message.contains("seq \(target)") == true)
        #expect(try ledger.stateDigest() == digest)
    }

    @Test func aRecordReplacedWithAValidOneBreaksTheChainLink() async throws {
        let (ledger, _) = try makeLedger()
        try await runRandomCommands(ledger, count: 200, seed: 4)
        // Re-sign record 3 with different content: its own hash is valid, but record 4 no longer links to it.
        let forged = EventRecord(seq: 3, timestamp: 1, context: alice, event: .repositoryDeleted(repo("acme/a")),
                                 prevHash: try ledger.events(from: 2, limit: 1)[0].hash)
        try ledger.logEnv.write { txn in try txn.put(ledger.logTables.log.raw, BigEndianU64.encode(3), forged.encoded) }
        let error = await expectError(.storage) { try await ledger.rebuild() }
        #expect(error?.message.contains("seq 4") == true)
    }
}

@Suite struct DecodingCacheTests {
    private func encoded(_ event: Event) -> [UInt8] {
        EventRecord(seq: 1, timestamp: 1, context: alice, event: event, prevHash: EventRecord.genesisHash).encoded
    }

    @Test func replayDecodingThroughACacheYieldsTheSameEventsAsWithout() throws {
        // More repositories than the cache has slots, in two registries, interleaved: slots collide.
        let refs = try (0..<1500).map { i in
            RepositoryRef(registryId: try RegistryId(i % 2 == 0 ? "000000000000" : "123456789012"), name: try RepositoryName("org/repo-\(i % 750)"))
        }
        let cache = DecodingCache()
        for round in 0..<3 {
            for (i, ref) in refs.enumerated() {
                let event = Event.tagSet(ref, tag: try Tag("t\(round)"), digest: manifest(i).digest, previous: nil)
                let bytes = encoded(event)
                let viaCache = try bytes.withUnsafeBytes { try EventRecord.decodeForReplay($0, cache: cache) }
                let plain = try bytes.withUnsafeBytes { try EventRecord.decodeForReplay($0) }
                #expect(viaCache.event == event)
                #expect(plain.event == event)
            }
        }
    }

    @Test func aCachedRepositoryDoesNotLetAnInvalidNameThrough() throws {
        let cache = DecodingCache()
        let valid = encoded(.repositoryDeleted(repo("acme/web")))
        _ = try valid.withUnsafeBytes { try EventRecord.decodeForReplay($0, cache: cache) }
        let invalid = encoded(.repositoryDeleted(RepositoryRef(registryId: .defaultId, name: RepositoryName(unchecked: "Acme/Web"))))
        #expect(throws: DecodingError.self) { try invalid.withUnsafeBytes { try EventRecord.decodeForReplay($0, cache: cache) } }
    }

    @Test(arguments: ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
                      "application/x-some-other-type", "application/vnd.oci.image.manifest.v1+jsoX"])
    func mediaTypesDecodeAsWrittenWhetherKnownOrNot(mediaType: String) throws {
        let event = Event.imagePushed(repo("acme/web"), digest: manifest(1).digest, mediaType: mediaType, size: 1)
        let decoded = try encoded(event).withUnsafeBytes { try EventRecord.decodeForReplay($0) }
        #expect(decoded.event == event)
        let image = ImageRecord(mediaType: mediaType, size: 1, status: .active, pushedAt: 5, tags: ["a"])
        #expect(try image.encoded().withUnsafeBytes { try ImageRecord($0) } == image)
    }

    @Test func theDecodingCacheLendsARepositoryOnlyForItsOwnBytesAndKeepsHundredsAtOnce() throws {
        let cache = DecodingCache()
        let refs = try (0..<600).map { try RepositoryRef(registryId: RegistryId($0 % 2 == 0 ? "000000000000" : "111111111111"), name: RepositoryName("team/repo-\($0)")) }
        func lookUp(_ ref: RepositoryRef) -> RepositoryRef? {
            Array(ref.registryId.value.utf8).withUnsafeBytes { r in Array(ref.name.value.utf8).withUnsafeBytes { n in cache.repository(r, n) } }
        }
        for ref in refs {
            #expect(lookUp(ref) == nil)
            Array(ref.registryId.value.utf8).withUnsafeBytes { r in Array(ref.name.value.utf8).withUnsafeBytes { n in cache.remember(ref, r, n) } }
        }
        var hits = 0
        for ref in refs {
            if let lent = lookUp(ref) {
                #expect(lent == ref)
                hits += 1
            }
        }
        #expect(hits > 400, "\(hits) of 600 kept")
        // The same name in another registry is another repository.
        let other = try RepositoryRef(registryId: RegistryId("222222222222"), name: refs[0].name)
        #expect(lookUp(other) == nil)
    }
}
