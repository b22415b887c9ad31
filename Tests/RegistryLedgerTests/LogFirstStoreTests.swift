import Foundation
import LMDB
@testable @_spi(Cluster) import RegistryLedger
import Testing

/// A store whose log and derived state are left as a crash or an operator might leave them.
private func closedStore(pushes: Int = 40) async throws -> (path: String, digest: String, head: UInt64) {
    let (ledger, path) = try makeLedger()
    let r = repo("acme/web")
    _ = try await ledger.createRepository(r, context: alice)
    try await push(ledger, r, 0..<pushes)
    _ = try? await ledger.putImage(r, manifest: manifest(999), tag: tag("v1"), context: alice)  // a tag move
    let result = (path, try ledger.stateDigest(), try ledger.headSeq())
    ledger.close()
    return result
}

private func reopen(_ path: String, readOnly: Bool = false) throws -> (Ledger, Notices) {
    let notices = Notices()
    var options = Ledger.Options()
    options.durable = false
    options.readOnly = readOnly
    options.onRecovery = { notices.record($0) }
    return (try Ledger(path: path, options: options), notices)
}

@Suite struct LogFirstStoreTests {
    @Test func theLogAndTheDerivedStateLiveInTwoEnvironmentsAndACleanCloseLeavesNoMarker() async throws {
        let (path, _, head) = try await closedStore()
        #expect(FileManager.default.fileExists(atPath: path + "/data.mdb"))
        #expect(FileManager.default.fileExists(atPath: path + "/state/data.mdb"))
        #expect(!FileManager.default.fileExists(atPath: path + "/state/" + StateFlusher.markerName))
        let (ledger, notices) = try reopen(path)
        defer { ledger.close() }
        #expect(notices.all.isEmpty)
        #expect(try ledger.appliedSeq() == head)
        // The state is written through a writable map, its file allocated to the whole map; the
        // log (durable, fsynced a commit) through a plain one.
        #expect(ledger.stateEnv.options.writeMap && !ledger.logEnv.options.writeMap)
        var attributes = stat()
        #expect(stat(path + "/state/data.mdb", &attributes) == 0)
        #expect(Int(attributes.st_blocks) * 512 >= ledger.stateEnv.mapSize)
        // The log environment holds no derived table.
        #expect(throws: LMDBError.notFound) { _ = try ledger.logEnv.openTable(named: "g0.repos", create: false) as Table<RawBytes, RawBytes> }
    }

    @Test(arguments: ["deleted", "truncated", "garbage", "another boot"])
    func derivedStateLostWhileClosedIsRebuiltAtOpenLosingNothingAndSayingWhy(_ damage: String) async throws {
        let (path, digest, head) = try await closedStore()
        let state = path + "/state"
        switch damage {
        case "deleted":
            try FileManager.default.removeItem(atPath: state)
        case "truncated":
            let size = try FileManager.default.attributesOfItem(atPath: state + "/data.mdb")[.size] as! Int
            #expect(truncate(state + "/data.mdb", off_t(size / 2)) == 0)
        case "garbage":
            try Data(repeating: 0x5a, count: 64 << 10).write(to: URL(fileURLWithPath: state + "/data.mdb"))
        default:  // the machine restarted while the state held unflushed commits
            try Array("00000000-0000-0000-0000-000000000000\n".utf8).withUnsafeBufferPointer { bytes in
                try Data(buffer: bytes).write(to: URL(fileURLWithPath: state + "/" + StateFlusher.markerName))
            }
        }
        let (ledger, notices) = try reopen(path)
        defer { ledger.close() }
        let reason = try #require(notices.rebuildReason)
        switch damage {
        case "deleted": #expect(reason.contains("missing"))
        case "truncated", "garbage": #expect(reason.contains("damaged"))
        default: #expect(reason.contains("machine restarted"))
        }
        #expect(try ledger.stateDigest() == digest)
        #expect(try ledger.appliedSeq() == head)
        #expect(try ledger.verify().isValid)
        #expect(!FileManager.default.fileExists(atPath: state + "/" + StateFlusher.markerName), "a rebuild at open is flushed")
    }

    @Test func aStateTheEarlierVersionWroteThroughAPlainMapIsRebuiltAsAnotherVersionsNotAsDamage() async throws {
        let (path, digest, head) = try await closedStore()
        do {
            // What format 10 left: a plain map larger than the file, which holds only its pages.
            var plain = Environment.Options()
            plain.mapSize = 64 << 20
            plain.maxDatabases = 64
            plain.durable = false
            let env = try Environment(path: path + "/state", options: plain)
            let tables = try StateTables.open(env, create: false)
            try env.write { txn in try txn.put(tables.projectionFormat, 10) }
            env.close()
        }
        let (ledger, notices) = try reopen(path)
        defer { ledger.close() }
        let reason = try #require(notices.rebuildReason)
        #expect(reason.contains("projection format 10"), "\(reason)")
        #expect(try ledger.stateDigest() == digest)
        #expect(try ledger.appliedSeq() == head)
    }

    @Test func aStoreThePreviousVersionWroteKeepsItsManifestsByDigestAndIsRebuiltOnce() async throws {
        let (path, digest, head) = try await closedStore()
        var manifests: [Digest: [UInt8]] = [:]
        do {
            // What format 11 left: manifests by digest in the log, no manifest index in the state.
            var plain = Environment.Options()
            plain.maxDatabases = 64
            plain.durable = false
            let log = try Environment(path: path, options: plain)
            let logTables = try LogTables.open(log, create: false)
            try log.write { txn in
                try txn.forEach(logTables.manifestLog!) { e in
                    manifests[Digest(of: e.rawValue)] = Array(e.rawValue)
                    return true
                }
                for (digest, bytes) in manifests { try txn.put(logTables.manifests, digest, bytes) }
                try txn.drop(logTables.manifestLog!)
            }
            log.close()
            plain.writeMap = true
            let state = try Environment(path: path + "/state", options: plain)
            let tables = try StateTables.open(state, create: false)
            try state.write { txn in
                for generation in tables.generations { try txn.drop(generation.manifestSeqs) }
                try txn.put(tables.projectionFormat, 11)
            }
            state.close()
        }
        #expect(manifests.count == 41)
        // Read-only, it is refused as another version's, saying what to run.
        let refused = #expect(throws: LedgerError.self) { try reopen(path, readOnly: true) }
        #expect(refused?.message.contains("another version") == true && refused?.message.contains("regledger rebuild") == true, "\(refused?.message ?? "")")
        // Opened writable, its state is rebuilt once; every manifest reads as before.
        let (ledger, notices) = try reopen(path)
        defer { ledger.close() }
        #expect(try #require(notices.rebuildReason).contains("projection format 11"))
        #expect(try ledger.stateDigest() == digest && ledger.headSeq() == head)
        for (digest, bytes) in manifests { #expect(try ledger.manifest(digest) == bytes) }
        #expect(try ledger.verify().isValid)
    }

    @Test func eachManifestIsAppendedOnceAtTheLogsTailUnderTheSeqOfItsFirstPush() async throws {
        let (ledger, _) = try makeLedger(durable: true)
        let (a, b) = (repo("acme/a"), repo("acme/b"))
        for r in [a, b] { _ = try await ledger.createRepository(r, context: alice) }
        func stored() throws -> [(seq: UInt64, digest: Digest)] {
            try ledger.logEnv.read { txn in
                var out: [(seq: UInt64, digest: Digest)] = []
                try txn.forEach(ledger.logTables.manifestLog!) { e in
                    out.append((try e.key(), Digest(of: e.rawValue)))
                    return true
                }
                #expect(try txn.count(ledger.logTables.manifests) == 0, "nothing is kept by digest any more")
                return out
            }
        }
        _ = try await ledger.putImage(a, manifest: manifest(1), tag: tag("v1"), context: alice)
        let first = try ledger.headSeq() - 1  // the push; the tag follows it
        #expect(try stored().map(\.seq) == [first] && stored().map(\.digest) == [manifest(1).digest])
        // The same manifest pushed again, elsewhere: nothing more is stored.
        _ = try await ledger.putImage(b, manifest: manifest(1), tag: tag("v1"), context: alice)
        // One new manifest pushed by many commands of one group: stored once, under the first push.
        let before = try ledger.headSeq()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<16 { group.addTask { _ = try await ledger.putImage(i % 2 == 0 ? a : b, manifest: manifest(2), tag: tag("t\(i)"), context: alice) } }
            try await group.waitForAll()
        }
        let firstPushOfTwo = try ledger.events(from: before + 1).first { if case .imagePushed = $0.event { true } else { false } }!.seq
        #expect(try stored().map(\.seq) == [first, firstPushOfTwo] && stored().map(\.digest) == [manifest(1).digest, manifest(2).digest])
        // A refused push stores nothing.
        _ = try await ledger.putImageTagMutability(a, try TagMutability(mode: .immutable), context: alice)
        await expectError(.imageTagAlreadyExists) { try await ledger.putImage(a, manifest: manifest(3), tag: tag("v1"), context: alice) }
        #expect(try stored().count == 2)
        #expect(try ledger.manifest(manifest(1).digest) == manifest(1).bytes && ledger.manifest(manifest(2).digest) == manifest(2).bytes)
        #expect(try ledger.manifest(manifest(3).digest) == nil)
        // The derived state says where each is, byte for byte as a rebuild says it.
        let digest = try ledger.stateDigest()
        try await ledger.rebuild()
        #expect(try ledger.stateDigest() == digest)
        #expect(try ledger.verify().isValid)
    }

    @Test func aMarkerFromThisBootMeansOnlyTheProcessDiedAndTheStateIsKept() async throws {
        let (path, digest, _) = try await closedStore()
        try Data(((StateFlusher.bootId() ?? "") + "\n").utf8).write(to: URL(fileURLWithPath: path + "/state/" + StateFlusher.markerName))
        let (ledger, notices) = try reopen(path)
        defer { ledger.close() }
        #expect(notices.rebuildReason == nil)
        #expect(try ledger.stateDigest() == digest)
    }

    @Test func aStateBehindTheLogAppliesTheLogsTailAtOpen() async throws {
        let (ledger, path) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        try await push(ledger, r, 0..<30)
        ledger.close()
        // Keep the state as it was at seq 61, then let the log run on.
        let saved = path + "-state-copy"
        try FileManager.default.copyItem(atPath: path + "/state", toPath: saved)
        let (again, _) = try reopen(path)
        try await push(again, r, 30..<50)
        _ = try await again.createPolicy(.repository(r.registryId, r.name), tagPattern: "v1.*", context: admin)
        _ = try? await again.putImage(r, manifest: manifest(1234), tag: tag("v10"), context: alice)  // refused: a denial
        let (digest, head) = (try again.stateDigest(), try again.headSeq())
        let history = try again.tagHistory(r, tag: "v10")
        again.close()
        try FileManager.default.removeItem(atPath: path + "/state")
        try FileManager.default.moveItem(atPath: saved, toPath: path + "/state")

        let (caughtUp, notices) = try reopen(path)
        defer { caughtUp.close() }
        #expect(notices.all.contains(.caughtUp(events: head - 61)), "\(notices.all)")
        #expect(notices.rebuildReason == nil)
        #expect(try caughtUp.stateDigest() == digest)
        #expect(try caughtUp.tagHistory(r, tag: "v10") == history, "the denial is indexed too")
    }

    @Test func aStateThatFollowsAnotherLogIsRebuilt() async throws {
        let (path, digest, _) = try await closedStore(pushes: 40)
        let (other, _, _) = try await closedStore(pushes: 45)
        try FileManager.default.removeItem(atPath: path + "/state")
        try FileManager.default.copyItem(atPath: other + "/state", toPath: path + "/state")
        let (ledger, notices) = try reopen(path)
        defer { ledger.close() }
        #expect(notices.rebuildReason?.contains("beyond the log's head") == true || notices.rebuildReason?.contains("another log") == true)
        #expect(try ledger.stateDigest() == digest)
    }

    @Test func readOnlyOpensRefuseAMissingStateAndSayWhatToRun() async throws {
        let (path, _, _) = try await closedStore()
        try FileManager.default.removeItem(atPath: path + "/state")
        do {
            _ = try reopen(path, readOnly: true)
            Issue.record("opened")
        } catch let error as LedgerError {
            #expect(error.message.contains("missing") && error.message.contains("regledger rebuild"))
        }
    }

    @Test func unflushedCommitsAreMarkedUntilAFlushRemovesTheMarker() async throws {
        let path = NSTemporaryDirectory() + "flush-\(UUID().uuidString)"
        var options = Ledger.Options()
        options.stateFlushInterval = 0  // flushes only when asked, so the test decides when
        let ledger = try Ledger(path: path, options: options)
        let marker = path + "/state/" + StateFlusher.markerName
        _ = try await ledger.createRepository(repo("acme/web"), context: alice)
        #expect(FileManager.default.fileExists(atPath: marker), "unflushed commits are marked")
        try ledger.flusher!.flush()
        #expect(!FileManager.default.fileExists(atPath: marker), "a flush removes the marker")
        _ = try await ledger.createRepository(repo("acme/api"), context: alice)
        #expect(FileManager.default.fileExists(atPath: marker))
        ledger.close()
        #expect(!FileManager.default.fileExists(atPath: marker), "close flushes")
    }

    @Test func theFlushTimerRemovesTheMarkerOnItsOwn() async throws {
        let path = NSTemporaryDirectory() + "flush-\(UUID().uuidString)"
        var options = Ledger.Options()
        options.stateFlushInterval = 0.1
        let ledger = try Ledger(path: path, options: options)
        defer { ledger.close() }
        _ = try await ledger.createRepository(repo("acme/web"), context: alice)
        let marker = path + "/state/" + StateFlusher.markerName
        let deadline = Date().addingTimeInterval(10)
        while FileManager.default.fileExists(atPath: marker), Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!FileManager.default.fileExists(atPath: marker))
    }
}

/// A log whose appends sometimes cannot tell whether they happened, as a remote log's can.
final class UncertainLog: LogStore, @unchecked Sendable {
    enum Mode { case normal, appendThenLoseTheAnswer, loseTheAppend, loseTheNextAppendSlowly }
    let inner: LMDBLogStore
    private let lock = NSLock()
    private var _mode = Mode.normal
    var mode: Mode {
        get { lock.withLock { _mode } }
        set { lock.withLock { _mode = newValue } }
    }

    private var _slowAppendStarted = false
    /// Whether an append in ``Mode/loseTheNextAppendSlowly`` has begun.
    var slowAppendStarted: Bool { lock.withLock { _slowAppendStarted } }

    init(_ inner: LMDBLogStore) { self.inner = inner }

    func head() throws -> LogHead { try inner.head() }
    func lastDenial() throws -> UInt64 { try inner.lastDenial() }
    func follow() throws -> (head: LogHead, lastDenial: UInt64) { try inner.follow() }
    func append(_ group: LogGroup) throws {
        switch mode {
        case .normal: try inner.append(group)
        case .appendThenLoseTheAnswer:
            try inner.append(group)
            throw LogAppendOutcomeUnknown(reason: "connection lost during COMMIT")
        case .loseTheAppend: throw LogAppendOutcomeUnknown(reason: "connection lost before COMMIT")
        case .loseTheNextAppendSlowly:
            lock.withLock { _slowAppendStarted = true }
            // Long enough for the commands queued meanwhile to be decided on this group.
            Thread.sleep(forTimeInterval: 0.2)
            mode = .normal
            throw LogAppendOutcomeUnknown(reason: "connection lost before COMMIT")
        }
    }
}

@Suite struct LogBoundaryTests {
    private func ledger() throws -> (Ledger, UncertainLog) {
        let box = LockedBox<UncertainLog>()
        var options = Ledger.Options()
        options.durable = false
        options.makeLogStore = { inner in box.set(UncertainLog(inner)) }
        let ledger = try Ledger(path: NSTemporaryDirectory() + "uncertain-\(UUID().uuidString)", options: options)
        return (ledger, box.value!)
    }

    @Test func anAppendThatHappenedButWasNotConfirmedIsFoundByReadingBackAndAnsweredOnce() async throws {
        let (ledger, log) = try ledger()
        defer { ledger.close() }
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        log.mode = .appendThenLoseTheAnswer
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice)
        log.mode = .normal
        _ = try await ledger.putImage(r, manifest: manifest(2), tag: tag("v2"), context: alice)
        #expect(try ledger.headSeq() == 5)  // created, pushed+tagged twice: nothing appended twice
        #expect(try ledger.appliedSeq() == 5)
        #expect(try ledger.verify().isValid)
    }

    @Test func commandsDecidedOnAGroupWhoseAppendFailedAreDecidedAgainAndAnsweredOnce() async throws {
        let (ledger, log) = try ledger()
        defer { ledger.close() }
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        log.mode = .loseTheNextAppendSlowly
        // The first push's group fails after the others were queued and decided on it; they
        // must be decided again (the first push's image is not there) and each answered once.
        let first = Task { try await ledger.putImage(r, manifest: manifest(0), tag: tag("v0"), context: alice) }
        // The others are sent once the first push's group is being appended (however loaded the machine).
        while !log.slowAppendStarted { try await Task.sleep(for: .milliseconds(2)) }
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for i in 1...40 {
                group.addTask { (try? await ledger.putImage(r, manifest: manifest(i), tag: tag("v\(i)"), context: alice)) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        await #expect(throws: LedgerError.self) { try await first.value }
        #expect(outcomes.allSatisfy { $0 }, "every command decided on the failed group succeeded when decided again")
        #expect(try ledger.headSeq() == 1 + 2 * 40)
        #expect(Set(try ledger.allEntries(r).map { $0.tag! }) == Set((1...40).map { "v\($0)" }))
        #expect(try ledger.verify().isValid)
        #expect(try await ledger.rebuild() == ledger.stateDigest())
    }

    @Test func anAppendThatDidNotHappenFailsTheGroupAndLeavesNoTrace() async throws {
        let (ledger, log) = try ledger()
        defer { ledger.close() }
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        let digest = try ledger.stateDigest()
        log.mode = .loseTheAppend
        await expectError(.storageFault) { _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice) }
        #expect(try ledger.headSeq() == 1)
        #expect(try ledger.stateDigest() == digest, "the state applied nothing")
        log.mode = .normal
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice)
        #expect(try ledger.headSeq() == 3)
        #expect(try ledger.verify().isValid)
    }
}

/// A value set once from a `@Sendable` closure.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?
    func set(_ value: Value) -> Value { lock.withLock { stored = value }; return value }
    var value: Value? { lock.withLock { stored } }
}
