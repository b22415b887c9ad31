@testable import RegistryLedger
import Testing

@Suite struct GroupCommitTests {
    @Test func concurrentCallersShareCommitsAndEachGetsItsOwnResult() async throws {
        let (ledger, _) = try makeLedger(durable: true)
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        let commitsBefore = ledger.stats.commits
        let results = try await withThrowingTaskGroup(of: (Int, PushedImage).self) { group in
            for i in 0..<400 {
                group.addTask { (i, try await ledger.putImage(r, manifest: manifest(i), tag: tag("v\(i)"), context: alice)) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(results.count == 400)
        for (i, pushed) in results { #expect(pushed.digest == manifest(i).digest && pushed.tag == "v\(i)") }
        let commits = ledger.stats.commits - commitsBefore
        #expect(commits < 400, "400 concurrent commands took \(commits) commits: no grouping")
        #expect(ledger.stats.largestBatch > 1)
        #expect(try ledger.allEntries(r).count == 400)
    }

    @Test func oneCommandsFailureDoesNotAffectTheOthersInItsGroup() async throws {
        let (ledger, _) = try makeLedger(durable: true)
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, mutability: try TagMutability(mode: .immutable), context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(0), tag: tag("fixed"), context: alice)
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for i in 1...200 {
                group.addTask {
                    // Every tenth command overwrites an immutable tag and must fail alone.
                    let t = i % 10 == 0 ? "fixed" : "v\(i)"
                    do { _ = try await ledger.putImage(r, manifest: manifest(i), tag: tag(t), context: alice); return (i, true) }
                    catch { return (i, false) }
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for (i, ok) in outcomes { #expect(ok == (i % 10 != 0)) }
        #expect(try ledger.allEntries(r).count == 181)
        #expect(try ledger.denials().count == 20)
        // The chain is intact and dense.
        let events = try ledger.events()
        #expect(events.map(\.seq) == Array(1...UInt64(events.count)))
    }

    @Test func acknowledgedCommandsSurviveCloseAndReopen() async throws {
        let (ledger, path) = try makeLedger(durable: true)
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice)
        let digest = try ledger.stateDigest()
        let head = try ledger.headSeq()
        ledger.close()
        await expectError(.storage) { try await ledger.putImage(r, manifest: manifest(2), context: alice) }
        let reopened = try Ledger(path: path)
        #expect(try reopened.stateDigest() == digest)
        #expect(try reopened.headSeq() == head)
        _ = try await reopened.putImage(r, manifest: manifest(2), tag: tag("v2"), context: alice)
        let events = try reopened.events()
        #expect(events.count == Int(head) + 2)
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.hash == $1.prevHash })
    }

    @Test func aStoreOpenInThisProcessCannotBeOpenedAgain() async throws {
        let (ledger, path) = try makeLedger()
        let error = await expectError(.storage) { try Ledger(path: path) }
        #expect(error?.message.contains("already open") == true)
        ledger.close()
        // Closing twice, after another open claimed the path, must not release that claim.
        let second = try Ledger(path: path)
        ledger.close()
        await expectError(.storage) { try Ledger(path: path) }
        second.close()
    }

    @Test func readOnlyOpenServesQueriesAndRefusesCommands() async throws {
        // LMDB allows one open of an environment per process: the writer is gone before the
        // read-only open, as when the audit tool (another process) reads a server's store.
        let path: String
        do {
            let (ledger, p) = try makeLedger()
            _ = try await ledger.createRepository(repo("acme/web"), context: alice)
            ledger.close()
            path = p
        }
        var options = Ledger.Options()
        options.readOnly = true
        let reader = try Ledger(path: path, options: options)
        #expect(try reader.describeRepositories().items.count == 1)
        await expectError(.storage) { try await reader.createRepository(repo("x1"), context: alice) }
        await expectError(.storage) { try Ledger(path: path + "-missing", options: options) }
    }
}

@Suite struct WriterConfinementTests {
    @Test func aWriteOffTheWriterThreadTraps() async {
        await #expect(processExitsWith: .failure) {
            let (ledger, _) = try makeLedger()
            ledger.writer!.assertOnWriterThread()  // the test's thread is not the writer's
        }
    }

    @Test func commandsRunOnTheWriterThread() async throws {
        let (ledger, _) = try makeLedger()
        defer { ledger.close() }
        // Every command asserts it; a hundred concurrent ones all pass.
        _ = try await ledger.createRepository(repo("acme/web"), context: alice)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<100 { group.addTask { _ = try await ledger.putImage(repo("acme/web"), manifest: manifest(i), tag: tag("t\(i)"), context: alice) } }
            try await group.waitForAll()
        }
        #expect(try ledger.headSeq() == 201)
    }
}
