@testable import RegistryLedger
import Testing

@Suite struct KeyLayoutTests {
    @Test func projectionRecordsRoundTrip() throws {
        let repo = RepoRecord(repoId: 42, createdAt: 1_700_000_000_000_001,
                              mutability: try TagMutability(mode: .mutableWithExclusion, filters: [WildcardFilter("rel-*")]))
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

    @Test func integerKeysSortNumericallyAsBytes() {
        let values: [UInt64] = [0, 1, 255, 256, 65_535, 1 << 40, .max]
        let keys = values.map(KeyLayout.u64)
        #expect(keys == keys.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(keys.map { $0.withUnsafeBytes { KeyLayout.readU64($0) } } == values)
    }

    @Test func listingKeysOrderTaggedBeforeUntaggedThenDigestThenTag() {
        let (a, b) = (min(manifest(1).digest, manifest(2).digest), max(manifest(1).digest, manifest(2).digest))
        let keys = [
            KeyLayout.listing(7, b, tag: nil), KeyLayout.listing(7, b, tag: "x"), KeyLayout.listing(7, a, tag: "z"),
            KeyLayout.listing(7, a, tag: "y"), KeyLayout.listing(7, a, tag: nil), KeyLayout.listing(6, b, tag: nil),
        ]
        let sorted = keys.sorted { $0.lexicographicallyPrecedes($1) }
        #expect(sorted == [KeyLayout.listing(6, b, tag: nil), KeyLayout.listing(7, a, tag: "y"), KeyLayout.listing(7, a, tag: "z"),
                           KeyLayout.listing(7, b, tag: "x"), KeyLayout.listing(7, a, tag: nil), KeyLayout.listing(7, b, tag: nil)])
    }

    @Test func longestNamesStayUnderLMDBsKeyLimit() throws {
        let longRepo = RepositoryRef(registryId: .defaultId, name: try RepositoryName(String(repeating: "a", count: 256)))
        let longTag = String(repeating: "t", count: 300)
        #expect(KeyLayout.repository(longRepo).count <= 511)
        #expect(KeyLayout.listing(1, manifest(1).digest, tag: longTag).count <= 511)
        #expect(KeyLayout.policyPattern(.repository(.defaultId, longRepo.name), String(repeating: "ü", count: 256)).count <= 511)
        var version = BinaryWriter()
        Versions.key(repoId: .max, .tag(longTag), seq: .max, into: &version)
        #expect(version.bytes.count <= 511)
        #expect((HistoryIndex.tagPrefix(longRepo, longTag) + KeyLayout.u64(.max)).count <= 511)
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
