@testable import RegistryLedger
import Testing

@Suite struct LogFoldTests {
    /// Repositories of three organizations (and none), spread over both halves of the fold.
    static let names = ["acme/a", "acme/b", "acme/c", "acme/d", "other/e", "other/f", "other/g", "x/h", "x/i", "solo", "lone", "single"]

    @Test func theHalvesNamesFallIntoAreFixedAndBothUsed() {
        let halves = Self.names.map { ApplyOrder.half(ofName: $0) }
        #expect(Set(halves) == [0, 1])
        // An organization whose repositories lie in both halves: both note it.
        #expect(Set(Self.names.filter { $0.hasPrefix("acme/") }.map { ApplyOrder.half(ofName: $0) }) == [0, 1])
        #expect(halves == Self.names.map { ApplyOrder.half(ofName: $0) })
    }

    @Test func aFoldOnTwoThreadsYieldsTheStoresOwnProjectionsByteForByte() async throws {
        let (ledger, _) = try makeLedger()
        defer { ledger.close() }
        for (i, name) in Self.names.enumerated() {
            let ref = repo(name)
            _ = try await ledger.createRepository(ref, context: admin)
            for k in 0..<(3 + i % 4) { _ = try await ledger.putImage(ref, manifest: manifest(100 * i + k), tag: tag("t\(k % 3)"), context: alice) }
            _ = try await ledger.createPolicy(.repository(.defaultId, ref.name), tagPattern: "t[0-1]", context: admin)
        }
        for org in ["acme", "other", "x"] {
            let policy = try await ledger.createPolicy(.organization(.defaultId, org), tagPattern: "v.*", context: admin)
            _ = try await ledger.updatePolicy(.organization(.defaultId, org), uuid: policy.uuid, tagPattern: "w.*", context: admin)
        }
        // A repository deleted and created again gets a new id, given out in log order across halves.
        _ = try await ledger.deleteRepository(repo("acme/b"), force: true, context: admin)
        _ = try await ledger.createRepository(repo("acme/b"), context: admin)
        _ = try await ledger.putImage(repo("acme/b"), manifest: manifest(9_999), tag: tag("again"), context: alice)
        _ = try await ledger.createRepository(repo("late/z"), context: admin)

        let head = try ledger.headSeq()
        var heard: [UInt64] = []
        let fold = try LogFold.fold(ledger.logEnv, ledger.logTables.log, through: head, chunk: 7) { heard.append($0) }
        #expect(fold.parts.allSatisfy { !$0.repositories.isEmpty })
        #expect(fold.lastRepositoryId == UInt64(Self.names.count + 2))
        #expect(try fold.stateDigest().hex == ledger.stateDigest())
        #expect(heard.last == head && heard == heard.sorted() && heard.count == Int((head + 6) / 7))
        fold.free()
        #expect(fold.parts.allSatisfy { $0.repositories.isEmpty && $0.contents.isEmpty && $0.histories.isEmpty && $0.contentVersions.isEmpty })
    }

    @Test func applyingEachNamesRecordsTogetherKeepsLogOrderWithinANameAndAroundRecordsThatApplyInPlace() {
        let (a, b, c, here) = (UInt64(7), UInt64(3), UInt64(9), ApplyOrder.inPlace)
        var entries = [(a, 0), (b, 1), (a, 2), (c, 3), (b, 4), (here, 5), (c, 6), (a, 7), (c, 8), (here, 9), (b, 10)]
            .map { ApplyOrder.Entry(group: $0.0, position: Int32($0.1)) }
        #expect(ApplyOrder.grouped(&entries) == [1, 4, 0, 2, 3, 5, 7, 6, 8, 9, 10])
        var none: [ApplyOrder.Entry] = []
        #expect(ApplyOrder.grouped(&none).isEmpty)
    }

    @Test func recordsThatTouchWhatNamesShareApplyInPlaceOthersByTheirName() throws {
        let ref = repo("acme/a")
        let created = ApplyOrder.place(.repositoryCreated(ref, .default))
        let pushed = ApplyOrder.place(.imagePushed(ref, digest: manifest(1).digest, mediaType: "m", size: nil))
        let policy = ApplyOrder.place(.policyCreated(.organization(.defaultId, "acme"), Policy(uuid: "u", tagPattern: "v", tagPatternMatches: true)))
        #expect(created.group == ApplyOrder.inPlace && policy.group == ApplyOrder.inPlace)
        #expect(pushed.group != ApplyOrder.inPlace && pushed.half == created.half && pushed.half == ApplyOrder.half(ofName: "acme/a"))
    }

    @Test func aFoldOfInterleavedRepositoriesYieldsTheStoresProjectionsWhateverTheChunk() async throws {
        let (ledger, _) = try makeLedger()
        defer { ledger.close() }
        let refs = Self.names.prefix(6).map(repo)
        for ref in refs { _ = try await ledger.createRepository(ref, context: admin) }
        // Pushes to every repository in turn, tags moving between images, as a busy log has them;
        // a policy that flags tags (which then refuses moving them), a deletion and a creation amid them.
        for k in 0..<40 {
            for (i, ref) in refs.enumerated() where !(k >= 20 && k < 30 && i == 1) {
                let pushed = try? await ledger.putImage(ref, manifest: manifest(1_000 * i + k), tag: tag("t\(k % 7)"), context: alice)
                #expect(pushed != nil || (k > 10 && k % 7 <= 2 && ref.name.namespace == "acme"))
            }
            if k == 10 { _ = try await ledger.createPolicy(.organization(.defaultId, "acme"), tagPattern: "t[0-2]", context: admin) }
            if k == 20 { _ = try await ledger.deleteRepository(refs[1], force: true, context: admin) }
            if k == 29 { _ = try await ledger.createRepository(refs[1], context: admin) }
        }
        let head = try ledger.headSeq()
        for chunk: UInt64 in [3, 64, 4096] {
            let fold = try LogFold.fold(ledger.logEnv, ledger.logTables.log, through: head, chunk: chunk)
            #expect(try fold.stateDigest().hex == ledger.stateDigest(), "chunks of \(chunk)")
            fold.free()
        }
    }

    @Test func foldingOnlyAPrefixYieldsTheStateAtItsEnd() async throws {
        let (ledger, _) = try makeLedger()
        defer { ledger.close() }
        for name in Self.names { _ = try await ledger.createRepository(repo(name), context: admin) }
        let prefix = try ledger.headSeq()
        let digest = try ledger.stateDigest()
        for name in Self.names { _ = try await ledger.putImage(repo(name), manifest: manifest(name.count), tag: tag("later"), context: alice) }
        let fold = try LogFold.fold(ledger.logEnv, ledger.logTables.log, through: try ledger.headSeq(), applying: prefix)
        #expect(try fold.stateDigest().hex == digest)
    }

    @Test func aPolicyUUIDInTwoHalvesKeepsTheLaterCreation() {
        let (a, b) = (PolicyScope.organization(.defaultId, "acme"), PolicyScope.organization(.defaultId, "other"))
        let merged = LogFold.laterCreationPerUUID([("u2", (a, 5)), ("u1", (b, 9)), ("u1", (a, 3)), ("u3", (b, 1))])
        #expect(merged.map(\.uuid) == ["u1", "u2", "u3"])
        #expect(merged.map(\.at.seq) == [9, 5, 1])
        #expect(merged[0].at.scope == b)
    }
}

@Suite struct TagOrderTests {
    @Test func tagsSortAsTheirStringsDoWhateverTheirLength() {
        let tags = ["t1", "t10", "t2", "latest", "latest2", "release-2024-01", "release-2024-02", "release-", "release",
                    "a", "A", "Z9", "_x", "v1.0.0-rc.1", "v1.0.0", "v1.0.0-rc.10", "12345678", "123456789", "1234567", "0"]
        #expect(tags.map { TagOrder(tag: $0) }.sorted().map(\.tag) == tags.sorted())
        #expect(TagOrder(tag: "abc") == TagOrder(tag: "abc") && !(TagOrder(tag: "abc") < TagOrder(tag: "abc")))
    }
}
