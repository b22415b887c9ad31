@testable import RegistryLedger
import Foundation
import Glibc
import Synchronization
import Testing

@Suite struct LogEnvelopeTests {
    @Test func everyEventCarriesActorOriginRequestIdAndNonDecreasingTime() async throws {
        let (ledger, _) = try makeLedger()
        let quay = CommandContext(actor: "bob", origin: .quay, requestId: "q-7")
        _ = try await ledger.createRepository(repo("acme/web"), context: alice)
        _ = try await ledger.putImage(repo("acme/web"), manifest: manifest(1), tag: tag("v1"), context: alice)
        _ = try await ledger.createPolicy(.organization(.defaultId, "acme"), tagPattern: "v.*", context: quay)
        let events = try ledger.events()
        #expect(events.map(\.event.typeName) == ["repository.created", "image.pushed", "tag.set", "policy.created", "tag.flagged"])
        #expect(events.map(\.actor) == ["alice", "alice", "alice", "bob", "bob"])
        #expect(events.map(\.origin) == [.ecr, .ecr, .ecr, .quay, .quay])
        #expect(events.map(\.requestId) == ["req-1", "req-1", "req-1", "q-7", "q-7"])
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.timestamp <= $1.timestamp })
        let now = UInt64(Date().timeIntervalSince1970 * 1e6)
        #expect(events.allSatisfy { now - $0.timestamp < 60_000_000 })
        #expect(events.first?.prevHash == EventRecord.genesisHash)
    }
}

@Suite struct StorageSpaceTests {
    @Test func theMapGrowsUnderCommandsWithoutAnErrorReachingTheCaller() async throws {
        let path = NSTemporaryDirectory() + "ledger-\(UUID().uuidString)"
        var options = Ledger.Options()
        options.durable = false
        options.mapSize = 256 << 10
        let ledger = try Ledger(path: path, options: options)
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<3000 { group.addTask { _ = try await ledger.putImage(r, manifest: manifest(i), tag: tag("v\(i)"), context: alice) } }
            try await group.waitForAll()
        }
        #expect(try ledger.allEntries(r).count == 3000)
        #expect(ledger.stateEnv.mapSize > 256 << 10)
    }

    /// A store of `pushes` images, reopened with a 256 KiB map: no larger than the file (LMDB
    /// raises a smaller one to it), so that rebuilding the empty generation needs about as much
    /// room again.
    private func reopenedWithASmallMap(pushes: Int) async throws -> Ledger {
        let path = NSTemporaryDirectory() + "ledger-\(UUID().uuidString)"
        var options = Ledger.Options()
        options.durable = false
        options.mapSize = 256 << 10
        do {
            let ledger = try Ledger(path: path, options: options)
            _ = try await ledger.createRepository(repo("acme/web"), context: alice)
            try await push(ledger, repo("acme/web"), 0..<pushes)
            ledger.close()
        }
        return try Ledger(path: path, options: options)
    }

    @Test func aRebuildThatFillsTheMapGrowsItAndWritesAgainWithoutFoldingTheLogAgainWhileItsReaderIsAtWork() async throws {
        let ledger = try await reopenedWithASmallMap(pushes: 2500)
        let r = repo("acme/web")
        let digest = try ledger.stateDigest()
        let before = ledger.stateEnv.mapSize
        let progress = Notices()
        // Nothing reserved ahead: the writing fills the map.
        #expect(try await ledger.rebuild(reserving: 0) { progress.record(.progress(done: $0, total: $1)) } == digest)
        #expect(ledger.stateEnv.mapSize > before)
        // The log was folded once: only the writing started over.
        let head = try ledger.headSeq()
        #expect(progress.all == [.progress(done: head, total: head)])
        #expect(try ledger.stateDigest() == digest)
        #expect(try ledger.allEntries(r).count == 2500)
    }

    @Test func aRebuildGrowsTheMapAheadForASecondGenerationAsLargeAsTheFirst() async throws {
        let ledger = try await reopenedWithASmallMap(pushes: 1000)
        let (used, free) = (ledger.stateEnv.usedBytes, try ledger.stateEnv.freeListBytes())
        let digest = try ledger.stateDigest()
        // The map as the rebuild's job found it (its progress comes before it writes anything):
        // the freed pages and the map's unused end hold a generation as large as the live pages.
        let mapSizes = Mutex<[Int]>([])
        #expect(try await ledger.rebuild { _, _ in mapSizes.withLock { $0.append(ledger.stateEnv.mapSize) } } == digest)
        #expect(mapSizes.withLock { $0.count == 1 && free + $0[0] - used >= used - free })
        #expect(try ledger.stateDigest() == digest)
    }

    /// The derived state's file is allocated as its map grows: a rebuild on a full disk fails
    /// before it writes anything, as a full disk, and leaves the state as it was.
    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root (CI runs as root)"))
    func aRebuildOnAFullDiskFailsAsAFullDiskAndKeepsTheState() async throws {
        let mount = NSTemporaryDirectory() + "full-rebuild-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        #expect(Glibc.mount("tmpfs", mount, "tmpfs", 0, "size=24m") == 0, "mount: errno \(errno)")
        defer { umount2(mount, Int32(MNT_DETACH)) }
        var options = Ledger.Options()
        options.durable = false
        let ledger = try Ledger(path: mount + "/store", options: options)
        defer { ledger.close() }
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        try await push(ledger, r, 0..<3000)
        let digest = try ledger.stateDigest()
        // The rest of the disk taken: room for nothing like a second generation.
        let ballast = FileManager.default.createFile(atPath: mount + "/ballast", contents: nil)
        #expect(ballast)
        let fd = open(mount + "/ballast", O_WRONLY)
        defer { close(fd) }
        var free = statvfs()
        _ = statvfs(mount, &free)
        #expect(posix_fallocate(fd, 0, off_t(Int(free.f_bavail) * Int(free.f_frsize) - (64 << 10))) == 0)
        let refusal = await expectError(.insufficientStorage) { try await ledger.rebuild() }
        #expect(refusal?.message.contains("no space left on the device holding") == true, "\(String(describing: refusal))")
        #expect(try ledger.stateDigest() == digest)
        #expect(try ledger.allEntries(r).count == 3000)
    }

    @Test func reachingTheMaximumSizeFailsCleanlyAndKeepsEverythingAcknowledged() async throws {
        let path = NSTemporaryDirectory() + "ledger-\(UUID().uuidString)"
        var options = Ledger.Options()
        options.durable = false
        options.mapSize = 256 << 10
        options.maxMapSize = 1 << 20
        let r = repo("acme/web")
        var acknowledged = 0
        var digest = ""
        do {
            let ledger = try Ledger(path: path, options: options)
            _ = try await ledger.createRepository(r, context: alice)
            var failure: LedgerError?
            for i in 0..<20_000 {
                do {
                    _ = try await ledger.putImage(r, manifest: manifest(i), tag: tag("v\(i)"), context: alice)
                    acknowledged += 1
                } catch let error as LedgerError {
                    failure = error
                    break
                }
            }
            #expect(failure?.code == .storageFault && failure?.message.contains("maximum map size") == true, "\(String(describing: failure))")
            #expect(acknowledged > 100)
            #expect(try ledger.allEntries(r).count == acknowledged)
            digest = try ledger.stateDigest()
            ledger.close()
        }
        // Raising the limit lets the same store go on.
        options.maxMapSize = 64 << 20
        let reopened = try Ledger(path: path, options: options)
        #expect(try reopened.stateDigest() == digest)
        _ = try await reopened.putImage(r, manifest: manifest(99_999), tag: tag("after"), context: alice)
        #expect(try reopened.allEntries(r).count == acknowledged + 1)
    }
}
