@testable import RegistryLedger
import Testing

@Suite struct LogFoldTests {
    /// Repositories of three organizations (and none), spread over both halves of the fold.
    static let names = ["acme/a", "acme/b", "acme/c", "acme/d", "other/e", "other/f", "other/g", "x/h", "x/i", "solo", "lone", "single"]

    @Test func theHalvesNamesFallIntoAreFixedAndBothUsed() {
        let halves = Self.names.map { LogFold.half(ofName: $0) }
        #expect(Set(halves) == [0, 1])
        // An organization whose repositories lie in both halves: both note it.
        #expect(Set(Self.names.filter { $0.hasPrefix("acme/") }.map { LogFold.half(ofName: $0) }) == [0, 1])
        #expect(halves == Self.names.map { LogFold.half(ofName: $0) })
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
