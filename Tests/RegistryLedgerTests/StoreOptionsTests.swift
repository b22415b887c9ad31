import Foundation
@testable import RegistryLedger
import LMDB
import Testing

struct StoreOptionsTests {
    @Test func aWritableOpenRecordsItsRegistryForLaterOpensWithoutOne() throws {
        let path = NSTemporaryDirectory() + "registry-\(UUID().uuidString)"
        let registry = try RegistryId("123456789012")
        do {
            var options = Ledger.Options()
            options.defaultRegistryId = registry
            options.durable = false
            let ledger = try Ledger(path: path, options: options)
            #expect(ledger.defaultRegistryId == registry)
            ledger.close()
        }
        var readOnly = Ledger.Options()
        readOnly.readOnly = true
        let reader = try Ledger(path: path, options: readOnly)
        #expect(reader.defaultRegistryId == registry)
        reader.close()
        let fresh = try makeLedger().0
        #expect(fresh.defaultRegistryId == .defaultId)
    }

    @Test func theCommitObserverSeesEveryCommandOnce() async throws {
        let path = NSTemporaryDirectory() + "observer-\(UUID().uuidString)"
        let seen = Counter()
        var options = Ledger.Options()
        options.durable = false
        options.onCommit = { seen.add($0) }
        let ledger = try Ledger(path: path, options: options)
        defer { ledger.close() }
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 { group.addTask { _ = try await ledger.putImage(r, manifest: manifest(i), tag: tag("t\(i)"), context: alice) } }
            try await group.waitForAll()
        }
        #expect(seen.total == 201)
        #expect(seen.calls == ledger.stats.commits)
    }

    @Test func tagNamesPageInByteOrderAfterAGivenTag() async throws {
        let (ledger, _) = try makeLedger()
        defer { ledger.close() }
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        for name in ["b", "a", "a-1", "a.", "B", "c"] { _ = try await ledger.putImage(r, manifest: manifest(name.count), tag: tag(name), context: alice) }
        #expect(try ledger.tagNames(r, limit: 100).names == ["B", "a", "a-1", "a.", "b", "c"])
        let first = try ledger.tagNames(r, limit: 2)
        #expect(first.names == ["B", "a"] && first.more)
        let rest = try ledger.tagNames(r, after: "a", limit: 10)
        #expect(rest.names == ["a-1", "a.", "b", "c"] && !rest.more)
        #expect(try ledger.tagNames(r, after: "zzz", limit: 10).names.isEmpty)
        #expect(try ledger.tagNames(r, limit: 0) == ([], true))
        await expectError(.invalidParameter) { try ledger.tagNames(r, after: String(repeating: "x", count: 400), limit: 1) }
        await expectError(.invalidParameter) { try ledger.tagNames(r, limit: -1) }
        await expectError(.repositoryNotFound) { try ledger.tagNames(repo("acme/none"), limit: 1) }
        // The lending walk: the bytes of each name, and where a next page resumes only when one follows.
        var lent: [String] = []
        let full = try ledger.forEachTagName(r, limit: 2) { lent.append(String(decoding: $0, as: UTF8.self)) }
        #expect(lent == ["B", "a"] && full.more && full.resumeAfter == "a")
        lent = []
        let last = try ledger.forEachTagName(r, after: "a.", limit: 2) { lent.append(String(decoding: $0, as: UTF8.self)) }
        #expect(lent == ["b", "c"] && !last.more && last.resumeAfter == nil)
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var _total = 0
    private var _calls = 0
    func add(_ n: Int) { lock.lock(); _total += n; _calls += 1; lock.unlock() }
    var total: Int { lock.lock(); defer { lock.unlock() }; return _total }
    var calls: Int { lock.lock(); defer { lock.unlock() }; return _calls }
}

struct ProjectionFormatTests {
    @Test func derivedStateBuiltByOtherRulesIsRefusedReadOnlyAndRebuiltByAWritableOpen() async throws {
        let path = NSTemporaryDirectory() + "format-\(UUID().uuidString)"
        var options = Ledger.Options()
        options.durable = false
        let notices = Notices()
        options.onRecovery = { notices.record($0) }
        let digest: String
        do {
            let ledger = try Ledger(path: path, options: options)
            _ = try await ledger.createRepository(repo("acme/web"), context: alice)
            digest = try ledger.stateDigest()
            // What derived state of another projection format looks like.
            try ledger.stateEnv.write { txn in try txn.put(ledger.stateTables.projectionFormat, 1) }
            ledger.close()
        }
        var readOnly = options
        readOnly.readOnly = true
        let refusal = await expectError(.storage) { try Ledger(path: path, options: readOnly) }
        #expect(refusal?.message.contains("regledger rebuild") == true)

        let ledger = try Ledger(path: path, options: options)
        #expect(notices.all.contains { if case .rebuilding(let reason, 1) = $0 { reason.contains("format 1") } else { false } })
        #expect(try ledger.describeRepositories().items.map(\.name.value) == ["acme/web"])
        #expect(try ledger.stateDigest() == digest)
        ledger.close()
        #expect(throws: Never.self) { try Ledger(path: path, options: readOnly).close() }
    }

    @Test func aNewStoreRecordsTheCurrentFormat() throws {
        let (ledger, path) = try makeLedger()
        ledger.close()
        var options = Ledger.Options()
        options.readOnly = true
        #expect(throws: Never.self) { try Ledger(path: path, options: options).close() }
    }
}
