import Foundation
import LMDB
import PostgresFixture
@testable @_spi(Cluster) import RegistryLedger
@testable @_spi(Cluster) import RegistryLedgerPostgres
import Testing

/// Runs `body` with a new server, stopped afterwards whatever happens.
func withPostgres<R>(_ body: (PostgresServer) async throws -> R) async throws -> R {
    let server = try PostgresServer.start()
    defer { server.stop() }
    return try await body(server)
}

let writer = CommandContext(actor: "alice", origin: .ecr, requestId: "req-1")

func manifest(_ seed: Int) -> Manifest {
    let json = """
    {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":100,"digest":"sha256:\(String(repeating: "a", count: 64))"},\
    "layers":[{"size":1000,"digest":"sha256:\(String(repeating: "b", count: 64))","seed":\(seed)}]}
    """
    return try! Manifest(bytes: Array(json.utf8))
}

/// A store of its own on a node, optionally joined to a cluster's shared log.
func node(_ shared: (any SharedLog)?, path: String = NSTemporaryDirectory() + "node-\(UUID().uuidString)") throws -> Ledger {
    var options = Ledger.Options()
    options.durable = false
    options.sharedLog = shared
    return try Ledger(path: path, options: options)
}

/// The records a standalone store wrote for `commands` pushes: material for a shared log.
func standaloneRecords(pushes: Int) async throws -> (records: [SharedLogGroup.Record], manifests: [SharedLogGroup.Manifest]) {
    let ledger = try node(nil)
    defer { ledger.close() }
    let ref = try RepositoryRef("acme/web")
    _ = try await ledger.createRepository(ref, context: writer)
    for i in 0..<pushes { _ = try await ledger.putImage(ref, manifest: manifest(i), tag: try Tag("v\(i)"), context: writer) }
    let records = try ledger.events().map { SharedLogGroup.Record(seq: $0.seq, previousHash: $0.prevHash, hash: $0.hash, bytes: $0.encoded) }
    let manifests = (0..<pushes).map { SharedLogGroup.Manifest(digest: manifest($0).digest.rawBytes, bytes: manifest($0).bytes) }
    return (records, manifests)
}

@Suite(.serialized) struct PostgresLogTests {
    @Test func aGroupIsStoredByteForByteAndReadBackInOrder() async throws {
        try await withPostgres { pg in
            let log = try PostgresLog(url: pg.url)
            defer { log.shutdown() }
            #expect(try log.head().seq == 0)
            let (records, manifests) = try await standaloneRecords(pushes: 3)
            try log.append(SharedLogGroup(records: Array(records.prefix(3)), manifests: [manifests[0]]))
            try log.append(SharedLogGroup(records: Array(records.dropFirst(3)), manifests: Array(manifests.dropFirst()),
                                          denials: [.init(number: 1, bytes: [1, 2, 3])]))
            #expect(try log.head().seq == records.last!.seq)
            #expect(try log.head().hash == records.last!.hash)
            #expect(try log.records(after: 0, limit: 100) == records)
            #expect(try log.records(after: 2, limit: 2) == Array(records[2..<4]))
            #expect(try log.manifests(manifests.map(\.digest)).count == manifests.count)
            #expect(try log.denials(after: 0, limit: 10) == [.init(number: 1, bytes: [1, 2, 3])])
            #expect(try log.lastDenial() == 1)
            // The schema is recorded; a second connection finds it and creates nothing.
            #expect(try pg.psql("SELECT version FROM regledger_schema").trimmingCharacters(in: .whitespacesAndNewlines) == "1")
            let again = try PostgresLog(url: pg.url)
            #expect(try again.head().seq == records.last!.seq)
            again.shutdown()
        }
    }

    @Test func theDatabaseRefusesForksGapsStaleWritersTamperingAndRewrites() async throws {
        try await withPostgres { pg in
            let log = try PostgresLog(url: pg.url)
            defer { log.shutdown() }
            let (records, _) = try await standaloneRecords(pushes: 3)
            try log.append(SharedLogGroup(records: Array(records.prefix(4))))
            // A stale writer: a record at a seq the log holds (a fork).
            #expect(throws: SharedLogConflict.self) { try log.append(SharedLogGroup(records: [records[3]])) }
            // A gap: seq head + 2.
            #expect(throws: SharedLogConflict.self) { try log.append(SharedLogGroup(records: [records[5]])) }
            // The right seq chained on another hash.
            let other = SharedLogGroup.Record(seq: 5, previousHash: records[2].hash, hash: records[4].hash, bytes: records[4].bytes)
            #expect(throws: (any Error).self) { try log.append(SharedLogGroup(records: [other])) }
            // Bytes that do not hash to the record's hash.
            var bytes = records[4].bytes
            bytes[20] ^= 1
            let tampered = SharedLogGroup.Record(seq: 5, previousHash: records[4].previousHash, hash: records[4].hash, bytes: bytes)
            #expect(throws: (any Error).self) { try log.append(SharedLogGroup(records: [tampered])) }
            // A group is all or nothing: its good first record is not kept when its second is bad.
            #expect(throws: (any Error).self) { try log.append(SharedLogGroup(records: [records[4], tampered])) }
            // A manifest whose digest is not its hash.
            #expect(throws: (any Error).self) {
                try log.append(SharedLogGroup(manifests: [.init(digest: Array(repeating: 7, count: 32), bytes: [1])]))
            }
            #expect(try log.head().seq == 4)
            #expect(throws: (any Error).self) { try pg.psql("DELETE FROM regledger_log WHERE seq = 4") }
            #expect(throws: (any Error).self) { try pg.psql("UPDATE regledger_log SET record = record WHERE seq = 1") }
            #expect(throws: (any Error).self) { try pg.psql("TRUNCATE regledger_log") }
            try log.append(SharedLogGroup(records: Array(records.dropFirst(4))))
            #expect(try log.records(after: 0, limit: 100) == records)
        }
    }

    @Test func badURLsUnreachableServersWrongPasswordsAndOtherSchemaVersionsAreClearAndKeepTheSecret() async throws {
        try await withPostgres { pg in
            func message(_ url: String) -> String {
                do { _ = try PostgresLog(url: url); return "" } catch { return "\(error)" }
            }
            #expect(message("mysql://x@localhost/db").contains("postgres://USER:PASSWORD@HOST:PORT/DATABASE"))
            #expect(message("postgres://u:p@127.0.0.1:1/db?sslmode=bogus").contains("sslmode must be disable, prefer or require"))
            #expect(message("postgres://u:p@127.0.0.1:1/db?target=x").contains("does not know: target"))
            #expect(message("postgres://127.0.0.1:1/db").contains("names no user"))
            // sslmode=disable against this server (which has no TLS) connects; require is refused.
            let plain = try PostgresLog(url: pg.url + "?sslmode=disable&application_name=regledger-test")
            #expect(try pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'regledger-test'")
                .trimmingCharacters(in: .whitespacesAndNewlines) == "1")
            plain.shutdown()
            #expect(!message(pg.url + "?sslmode=require").isEmpty)
            let wrong = message("postgres://postgres:not-the-password@127.0.0.1:\(pg.port)/postgres")
            #expect(wrong.contains("refused") && wrong.contains("127.0.0.1:\(pg.port)") && !wrong.contains("not-the-password"), "\(wrong)")
            let closed = message("postgres://postgres:hidden@127.0.0.1:1/postgres")
            #expect(closed.contains("cannot reach PostgreSQL at postgres://postgres:***@127.0.0.1:1/postgres"), "\(closed)")
            #expect(!closed.contains("hidden"))
            let log = try PostgresLog(url: pg.url)
            log.shutdown()
            try pg.psql("ALTER TABLE regledger_schema DISABLE TRIGGER ALL; UPDATE regledger_schema SET version = 99")
            let newer = message(pg.url)
            #expect(newer.contains("schema version 99") && newer.contains("uses 1"), "\(newer)")
        }
    }
}

@Suite(.serialized) struct ReplicatedPostgresTests {
    /// What the cluster benchmark runs on: a durable primary that acknowledges a group only once
    /// its synchronous standby holds it.
    @Test func anAcknowledgedGroupIsOnTheSynchronousStandby() async throws {
        let primary = try PostgresServer.start(durable: true, synchronousStandby: true)
        defer { primary.stop() }
        let standby = try primary.startSynchronousStandby()
        defer { standby.stop() }
        #expect(try primary.psql("SELECT sync_state FROM pg_stat_replication").contains("sync"))
        let log = try PostgresLog(url: primary.url)
        defer { log.shutdown() }
        let (records, manifests) = try await standaloneRecords(pushes: 2)
        try log.append(SharedLogGroup(records: records, manifests: manifests))
        // Synchronous commit waits for the standby's flush; replay follows within moments.
        var onStandby = ""
        for _ in 0..<50 {
            onStandby = try standby.psql("SELECT coalesce(max(seq), 0) FROM regledger_log").trimmingCharacters(in: .whitespacesAndNewlines)
            if onStandby == "\(records.last!.seq)" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(onStandby == "\(records.last!.seq)")
        #expect(try standby.psql("SELECT pg_is_in_recovery()").contains("t"))
    }
}

@Suite(.serialized) struct ClusterNodeTests {
    @Test func aNodeThatCannotReachTheDatabaseRetriesWithBackoff() {
        let delays = (1...6).map { ClusterNode.retryDelay(afterFailures: $0, interval: .seconds(1)) }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(4), .seconds(4), .seconds(4)])
        #expect(ClusterNode.retryDelay(afterFailures: 3, interval: .milliseconds(250)) == .seconds(1))
    }

    @Test func nodesSharingTheLogFollowEachOtherAndEndIdentical() async throws {
        try await withPostgres { pg in
            let logA = try PostgresLog(url: pg.url), logB = try PostgresLog(url: pg.url)
            defer { logA.shutdown(); logB.shutdown() }
            let a = try node(logA)
            let b = try node(logB)
            defer { a.close(); b.close() }
            let ref = try RepositoryRef("acme/web")
            _ = try await a.createRepository(ref, context: writer)
            for i in 0..<20 { _ = try await a.putImage(ref, manifest: manifest(i), tag: try Tag("v\(i)"), context: writer) }
            #expect(try await b.followSharedLog() == a.headSeq())
            #expect(try b.stateDigest() == a.stateDigest())
            #expect(try b.batchGetImage(ref, imageIds: [ImageIdentifier(digest: nil, tag: "v3")]).images.first?.manifest == manifest(3).bytes)
            // B writes without having followed A's latest: the shared log refuses the stale group,
            // B follows and decides again; nothing is lost and nothing is appended twice.
            _ = try await a.putImage(ref, manifest: manifest(100), tag: try Tag("from-a"), context: writer)
            _ = try await b.putImage(ref, manifest: manifest(101), tag: try Tag("from-b"), context: writer)
            try await a.followSharedLog()
            #expect(try a.headSeq() == b.headSeq())
            #expect(try a.stateDigest() == b.stateDigest())
            #expect(Set(try a.listTags(ref, limit: 100).tags.map(\.name)).isSuperset(of: ["from-a", "from-b"]))
            #expect(try pg.psql("SELECT count(*) = max(seq) FROM regledger_log").contains("t"))
            // A page token issued by one node is accepted by the other: they share the identity.
            let first = try a.listImages(ref, maxResults: 5)
            #expect(try b.listImages(ref, maxResults: 5, nextToken: first.nextToken).items.count == 5)
            #expect(try a.verify().isValid && b.verify().isValid)
        }
    }

    /// The local copy of the log is committed without fsync (the cluster's log is the durable
    /// one): marked unflushed while it may hold unflushed commits, and copied again from the
    /// cluster's log when the machine restarted meanwhile.
    @Test func aNodesLocalCopyFoundPossiblyTornAfterAMachineRestartIsCopiedAgain() async throws {
        try await withPostgres { pg in
            let log = try PostgresLog(url: pg.url)
            defer { log.shutdown() }
            let path = NSTemporaryDirectory() + "node-\(UUID().uuidString)"
            let notices = NoticeLog()
            var options = Ledger.Options()
            options.sharedLog = log
            options.stateFlushInterval = 0  // flushed at close only
            options.onRecovery = { notices.append($0) }
            var a = try Ledger(path: path, options: options)
            let ref = try RepositoryRef("acme/web")
            _ = try await a.createRepository(ref, context: writer)
            try a.logFlusher!.flush()
            #expect(!FileManager.default.fileExists(atPath: path + "/unflushed"))
            for i in 0..<10 { _ = try await a.putImage(ref, manifest: manifest(i), tag: try Tag("v\(i)"), context: writer) }
            #expect(FileManager.default.fileExists(atPath: path + "/unflushed"), "appends to the local copy are not marked unflushed")
            let (head, digest) = (try a.headSeq(), try a.stateDigest())
            a.close()
            #expect(!FileManager.default.fileExists(atPath: path + "/unflushed"), "a clean close flushes the local copy")
            // Reopened after a clean close: nothing is copied again.
            a = try Ledger(path: path, options: options)
            a.close()
            #expect(!notices.all.contains { if case .discardedLocalCopy = $0 { true } else { false } })
            // The machine restarted while the copy held unflushed commits: it is removed with the
            // derived state and copied again, whole.
            try Array("00000000-0000-0000-0000-000000000000\n".utf8).withUnsafeBytes {
                try Data($0).write(to: URL(fileURLWithPath: path + "/unflushed"))
            }
            // Nothing but the node itself may open it now: the others would read what may be torn.
            for readOnly in [true, false] {
                var alone = Ledger.Options()
                alone.readOnly = readOnly
                #expect {
                    _ = try Ledger(path: path, options: alone)
                } throws: { error in
                    (error as? LedgerError)?.code == .invalidParameter && "\(error)".contains("copy it again from the cluster's log")
                }
            }
            a = try Ledger(path: path, options: options)
            defer { a.close() }
            #expect(notices.all.contains { if case .discardedLocalCopy(let reason) = $0 { reason.contains("machine restarted") } else { false } })
            #expect(notices.all.last { if case .followedSharedLog = $0 { true } else { false } } == .followedSharedLog(records: head))
            #expect(try a.headSeq() == head)
            #expect(try a.stateDigest() == digest)
            #expect(try a.verify().isValid)
            _ = try await a.putImage(ref, manifest: manifest(99), tag: try Tag("after"), context: writer)
            #expect(try log.head().seq == head + 2)
        }
    }

    @Test func aNodeWithAnEmptyDirectoryBootstrapsFromTheSharedLog() async throws {
        try await withPostgres { pg in
            let log = try PostgresLog(url: pg.url)
            defer { log.shutdown() }
            let a = try node(log)
            let ref = try RepositoryRef("acme/web")
            _ = try await a.createRepository(ref, context: writer)
            for i in 0..<30 { _ = try await a.putImage(ref, manifest: manifest(i), tag: try Tag("v\(i)"), context: writer) }
            let (head, digest) = (try a.headSeq(), try a.stateDigest())
            a.close()
            let joining = try PostgresLog(url: pg.url)
            defer { joining.shutdown() }
            let fresh = try node(joining)
            defer { fresh.close() }
            #expect(try fresh.headSeq() == head)
            #expect(try fresh.stateDigest() == digest)
            #expect(try fresh.verify().isValid)
        }
    }

    @Test func aNodeWhoseLocalCopyBelongsToAnotherLogRefusesToJoinAndSaysWhere() async throws {
        try await withPostgres { pg in
            let log = try PostgresLog(url: pg.url)
            defer { log.shutdown() }
            let a = try node(log)
            _ = try await a.createRepository(try RepositoryRef("acme/web"), context: writer)
            a.close()
            // A store written on its own: its seq 1 is another record.
            let path = NSTemporaryDirectory() + "node-\(UUID().uuidString)"
            let alone = try node(nil, path: path)
            _ = try await alone.createRepository(try RepositoryRef("other/app"), context: writer)
            _ = try await alone.createRepository(try RepositoryRef("other/two"), context: writer)
            alone.close()
            let joining = try PostgresLog(url: pg.url)
            defer { joining.shutdown() }
            #expect {
                _ = try node(joining, path: path)
            } throws: { error in
                "\(error)".contains("seq 2") && "\(error)".contains("another log")
            }
            // Nothing of it reached the shared log.
            #expect(try log.head().seq == 1)
        }
    }
}

/// Recovery notices heard while opening stores.
final class NoticeLog: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var notices: [RecoveryNotice] = []
    func append(_ notice: RecoveryNotice) { lock.withLock { notices.append(notice) } }
    var all: [RecoveryNotice] { lock.withLock { notices } }
}
