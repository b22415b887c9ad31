@testable import RegistryLedger
import LMDB
import Testing

@Suite struct KeyCodecTests {
    @Test func projectionRecordsRoundTrip() throws {
        var repo = RepoRecord(repoId: 42, createdAt: 1_700_000_000_000_001,
                              mutability: try TagMutability(mode: .mutableWithExclusion, filters: [WildcardFilter("rel-*")]))
        #expect(try repo.encoded().withUnsafeBytes { try RepoRecord($0) } == repo)
        repo.settings = RepositorySettings(scanOnPush: true, encryption: try EncryptionConfiguration(typeName: "KMS", kmsKey: "arn:aws:kms:key/1"))
        repo.resourceTags = [try ResourceTag(key: "team", value: ""), try ResourceTag(key: "env", value: "prod")].sorted()
        #expect(try repo.encoded().withUnsafeBytes { try RepoRecord($0) } == repo)
        for size: Int64? in [nil, 0, 3100, Int64.max] {
            let image = ImageRecord(mediaType: "application/vnd.oci.image.manifest.v1+json", size: size, status: .archived,
                                    pushedAt: 9, tags: ["a", "b"])
            #expect(try image.encoded().withUnsafeBytes { try ImageRecord($0) } == image)
        }
        let tagRecord = TagRecord(digest: manifest(3).digest, immutable: true, lastModified: 77)
        #expect(try tagRecord.encoded().withUnsafeBytes { try TagRecord($0) } == tagRecord)
        let policy = Policy(uuid: "u", tagPattern: "v.*", tagPatternMatches: false)
        #expect(try PolicyRecord.encode(policy).withUnsafeBytes { try PolicyRecord.decode($0) } == policy)
        let denial = Denial(timestamp: 1, actor: "a", origin: .oci, requestId: "r", repository: EventCodecTests.r, tag: "t",
                            operation: "PutImage", reason: "immutable", atSeq: 5)
        #expect(try denial.encoded().withUnsafeBytes { try Denial.decode($0) } == denial)
    }

    @Test func knownMediaTypesAreStoredAsOneByteCodesAndOthersByName() throws {
        for mediaType in Manifest.mediaTypes.sorted() + ["application/x-some-other-type"] {
            let image = ImageRecord(mediaType: mediaType, size: 7, status: .activating, pushedAt: 5, tags: ["a", "b"])
            let bytes = image.encoded()
            let known = Manifest.mediaTypes.contains(mediaType)
            #expect((bytes[0] != 0) == known, "\(mediaType)")
            #expect(bytes.count < (known ? 32 : 32 + mediaType.utf8.count), "\(mediaType)")
            #expect(try bytes.withUnsafeBytes { try ImageRecord($0) } == image)
            let withoutMediaType = try bytes.withUnsafeBytes { try ImageRecord($0, mediaType: false) }
            #expect(withoutMediaType.mediaType == "" && withoutMediaType.tags == image.tags && withoutMediaType.size == 7)
        }
    }

    @Test func aRepositoryEventIndexRowRoundTripsItsSeqs() throws {
        var rng = SeededGenerator(state: 3)
        for count in [1, 2, 127, SeqRun.capacity] {
            var seqs: [UInt64] = [UInt64.random(in: 1...1 << 40, using: &rng)]
            while seqs.count < count { seqs.append(seqs.last! + UInt64.random(in: 1...1 << 20, using: &rng)) }
            var w = BinaryWriter()
            SeqRun.encode(seqs[...], into: &w)
            #expect(w.bytes.count < count * 4, "deltas, not whole seqs")
            #expect(try w.bytes.withUnsafeBytes { try SeqRun.decode(first: seqs[0], $0) } == seqs)
        }
    }

    @Test func anImageRecordWithAnUnknownMediaTypeCodeIsRejected() {
        var bytes = ImageRecord(mediaType: ImageRecord.mediaTypeCodes[0], size: nil, status: .active, pushedAt: 1, tags: []).encoded()
        bytes[0] = UInt8(ImageRecord.mediaTypeCodes.count + 1)
        #expect(throws: DecodingError.self) { try bytes.withUnsafeBytes { try ImageRecord($0) } }
    }

    @Test func integerKeysSortNumericallyAsBytes() throws {
        let values: [UInt64] = [0, 1, 255, 256, 65_535, 1 << 40, .max]
        let keys = values.map(BigEndianU64.encode)
        #expect(keys == keys.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(try keys.map { try $0.withUnsafeBytes { try BigEndianU64.decode($0) } } == values)
    }

    /// Every key codec gives back what it was given, and refuses bytes it did not lay out.
    @Test func everyKeyCodecRoundTripsAndRefusesMalformedKeys() throws {
        func roundTrip<C: TableCodec>(_ codec: C.Type, _ item: C.Item, _ same: (C.Item, C.Item) -> Bool) throws -> [UInt8] {
            let bytes = C.encode(item)
            #expect(same(try bytes.withUnsafeBytes { try C.decode($0) }, item), "\(C.self)")
            return bytes
        }
        func refuses<C: TableCodec>(_ codec: C.Type, _ bytes: [UInt8]) {
            #expect(throws: (any Error).self, "\(C.self) \(bytes)") { _ = try bytes.withUnsafeBytes { try C.decode($0) } }
        }
        let r = RepositoryRef(registryId: .defaultId, name: try RepositoryName("team/app"))
        let d = manifest(4).digest
        let org = PolicyScope.organization(.defaultId, "team")
        let inRepo = PolicyScope.repository(.defaultId, r.name)
        _ = try roundTrip(RepositoryKey.self, r, ==)
        _ = try roundTrip(OrganizationKey.self, (.defaultId, "team"), { $0 == $1 })
        let image = try roundTrip(ImageKey.self, (7, d), { $0 == $1 })
        refuses(ImageKey.self, Array(image.dropLast()))
        _ = try roundTrip(TagKey.self, (7, "v1.0"), { $0 == $1 })
        _ = try roundTrip(ListingKey.self, (7, d, "v1.0"), { $0 == $1 })
        let untagged = try roundTrip(ListingKey.self, (7, d, nil), { $0 == $1 })
        refuses(ListingKey.self, untagged + [1])
        refuses(ListingKey.self, Array(untagged.prefix(8)) + [5] + Array(untagged.dropFirst(9)))
        // A tagged entry with an empty tag, and a key cut inside its digest.
        refuses(ListingKey.self, Array(untagged.prefix(8)) + [ListingKey.Kind.tagged.rawValue] + Array(untagged.dropFirst(9)))
        refuses(ListingKey.self, Array(untagged.prefix(40)))
        for scope in [org, inRepo] {
            let bytes = try roundTrip(PolicyScopeKey.self, scope, ==)
            refuses(PolicyScopeKey.self, Array(bytes.dropLast()) + [1])
            _ = try roundTrip(ThenSeq<ThenSeq<PolicyScopeKey>>.self, ((scope, 5), 9), { $0.head == $1.head && $0.seq == $1.seq })
        }
        _ = try roundTrip(PolicyPatternKey.self, .init(inRepo, pattern: "v.*"), ==)
        let hid = HistoryIdKey.of(r)
        refuses(HistoryIdKey.self, Array(hid.dropLast()))
        let tagEvent = try roundTrip(ThenSeq<HistoryTagKey>.self, ((hid, "v1"), 3), { $0.head == $1.head && $0.seq == $1.seq })
        refuses(ThenSeq<HistoryTagKey>.self, Array(tagEvent.prefix(5)))
        for entity: ContentEntityKey.Entity in [.image(d), .policy(createdSeq: 3), .tag("v1")] {
            let bytes = try roundTrip(ThenSeq<ContentEntityKey>.self, ((9, entity), 11), { $0.head == $1.head && $0.seq == $1.seq })
            refuses(ThenSeq<ContentEntityKey>.self, Array(bytes.prefix(8)) + [9] + Array(bytes.dropFirst(9)))
        }
        _ = try roundTrip(AppliedPoint.self, AppliedPoint(seq: 4, hash: Array(repeating: 3, count: 32), denial: 2), ==)
        refuses(AppliedPoint.self, [1, 2, 3])
        _ = try roundTrip(TagVersionValue.self, (d, true), { $0 == $1 })
        refuses(ImageStatusCode.self, [])
    }

    @Test func listingKeysOrderTaggedBeforeUntaggedThenDigestThenTag() {
        let (a, b) = (min(manifest(1).digest, manifest(2).digest), max(manifest(1).digest, manifest(2).digest))
        func key(_ repoId: UInt64, _ d: Digest, _ tag: String?) -> [UInt8] { ListingKey.encode((repoId, d, tag)) }
        let keys = [key(7, b, nil), key(7, b, "x"), key(7, a, "z"), key(7, a, "y"), key(7, a, nil), key(6, b, nil)]
        let sorted = keys.sorted { $0.lexicographicallyPrecedes($1) }
        #expect(sorted == [key(6, b, nil), key(7, a, "y"), key(7, a, "z"), key(7, b, "x"), key(7, a, nil), key(7, b, nil)])
    }

    @Test func longestNamesStayUnderLMDBsKeyLimit() throws {
        let longRepo = RepositoryRef(registryId: .defaultId, name: try RepositoryName(String(repeating: "a", count: 256)))
        let longTag = String(repeating: "t", count: 300)
        #expect(RepositoryKey.encode(longRepo).count <= KeyOrder.maxKeyLength)
        #expect(ListingKey.encode((1, manifest(1).digest, longTag)).count <= KeyOrder.maxKeyLength)
        #expect(PolicyPatternKey.encode(.init(.repository(.defaultId, longRepo.name), pattern: String(repeating: "ü", count: 256))).count
                <= KeyOrder.maxKeyLength)
        #expect(ThenSeq<ContentEntityKey>.encode(((.max, .tag(longTag)), .max)).count <= KeyOrder.maxKeyLength)
        #expect(ThenSeq<HistoryTagKey>.encode(((HistoryIdKey.of(longRepo), longTag), .max)).count <= KeyOrder.maxKeyLength)
    }

    @Test func longestNamesWorkEndToEnd() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo(String(repeating: "a", count: 120) + "/" + String(repeating: "b", count: 135))
        let t = String(repeating: "t", count: 300)
        _ = try await ledger.createRepository(r, context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag(t), context: alice)
        _ = try await ledger.createPolicy(.repository(.defaultId, r.name), tagPattern: String(repeating: "ü", count: 256), context: admin)
        #expect(try ledger.allEntries(r) == [ImageEntry(digest: manifest(1).digest, tag: t)])
    }
}
