import Foundation
import LMDB
@testable import RegistryLedger
import Testing

@Suite struct TimeTravelTests {
    /// A store with a random history: several hundred events per repository.
    func history(seed: UInt64, count: Int = 7000) async throws -> (Ledger, [EventRecord]) {
        let (ledger, _) = try makeLedger()
        try await runRandomCommands(ledger, count: count, seed: seed)
        return (ledger, try ledger.events())
    }

    /// A fresh store holding exactly the first `n` records of `events`.
    func replayedPrefix(_ source: Ledger, _ events: [EventRecord], _ n: Int) async throws -> Ledger {
        let (fresh, _) = try makeLedger()
        let prefix = Array(events.prefix(n))
        let manifests = try Set(prefix.compactMap { r -> Digest? in
            if case .imagePushed(_, let d, _, _, _) = r.event { d } else { nil }
        }).map { try source.manifest($0)! }
        try await fresh.append(imported: prefix, manifests: manifests)
        return fresh
    }

    @Test func stateAtAnyPointEqualsALiteralReplayOfThatPrefix() async throws {
        let (ledger, events) = try await history(seed: 11)
        #expect(events.count > 1500)
        var rng = SeededGenerator(state: 5)
        let points = [1, 2, events.count / 2, events.count] + (0..<8).map { _ in Int.random(in: 1...events.count, using: &rng) }
        for n in points {
            let replay = try await replayedPrefix(ledger, events, n)
            let expected = try replay.currentState()
            let travelled = try ledger.state(at: .seq(UInt64(n)))
            #expect(travelled == expected, "state at seq \(n) differs from a replay of the first \(n) events")
            // One repository alone is the same as its part of the whole.
            for repo in expected.repositories.prefix(2) {
                #expect(try ledger.state(at: .seq(UInt64(n)), repository: repo.ref).repositories == [repo])
            }
        }
    }

    /// Rows of the temporal index (both tables).
    func versionRows(_ ledger: Ledger) throws -> Int {
        try ledger.stateEnv.read { txn in
            let dbs = try ledger.stateTables.current(txn)
            return try txn.count(dbs.repoVersions) + txn.count(dbs.contentVersions)
        }
    }

    @Test func theTemporalIndexIsRebuiltByteForByte() async throws {
        let (ledger, events) = try await history(seed: 12)
        #expect(try versionRows(ledger) >= events.count / 2)
        let digest = try ledger.stateDigest()
        #expect(try await ledger.rebuild() == digest)
        #expect(try ledger.verify().isValid)
    }

    @Test func aPushAddsTheSameTwoVersionRowsWhateverTheRepositorysSize() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/web")
        _ = try await ledger.createRepository(ref, context: alice)
        let start = try versionRows(ledger)
        try await push(ledger, ref, 0..<100)
        let first = try versionRows(ledger) - start
        try await push(ledger, ref, 100..<1400)
        let before = try versionRows(ledger)
        try await push(ledger, ref, 1400..<1500)
        // An image and a tag version per push, with 100 images in the repository as with 1,400.
        #expect(first == 200)
        #expect(try versionRows(ledger) - before == first)
        // A repository deletion is one version, however much it held.
        let beforeDeletion = try versionRows(ledger)
        _ = try await ledger.deleteRepository(ref, force: true, context: alice)
        #expect(try versionRows(ledger) - beforeDeletion == 1)
        let deletedAt = try ledger.headSeq()
        #expect(try ledger.state(at: .seq(deletedAt), repository: ref).repositories.isEmpty)
        #expect(try ledger.state(at: .seq(deletedAt - 1), repository: ref).repositories.first?.images.count == 1500)
    }

    @Test func aTagMovedHundredsOfTimesIsReadAtEachPointAsItWasThen() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/web")
        _ = try await ledger.createRepository(ref, context: alice)
        _ = try await ledger.putImage(ref, manifest: manifest(9999), tag: tag("stable"), context: alice)
        var points: [(seq: UInt64, digest: Digest)] = []
        for i in 0..<300 {
            let m = manifest(i)
            _ = try await ledger.putImage(ref, manifest: m, tag: tag("latest"), context: alice)
            points.append((try ledger.headSeq(), m.digest))
        }
        // A repository created again later starts empty: nothing of the first one shows through.
        _ = try await ledger.deleteRepository(ref, force: true, context: alice)
        _ = try await ledger.createRepository(ref, context: alice)
        let recreated = try ledger.headSeq()
        _ = try await ledger.putImage(ref, manifest: manifest(5000), tag: tag("other"), context: alice)
        for (index, point) in points.enumerated() where index % 7 == 0 || index == points.count - 1 {
            let state = try #require(try ledger.state(at: .seq(point.seq), repository: ref).repositories.first)
            #expect(state.tags.map(\.tag) == ["latest", "stable"])
            #expect(state.tags.first { $0.tag == "latest" }?.digest == point.digest)
            #expect(state.images.count == index + 2, "every image pushed so far, the moved-from ones untagged")
            #expect(state.images.first { $0.digest == point.digest }?.tags == ["latest"])
        }
        let fresh = try #require(try ledger.state(at: .seq(recreated), repository: ref).repositories.first)
        #expect(fresh.images.isEmpty && fresh.tags.isEmpty)
        #expect(try ledger.state(at: .seq(recreated + 2), repository: ref).repositories.first?.tags.map(\.tag) == ["other"])
    }

    @Test func aDamagedVersionRowIsAStorageErrorNotACrash() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/web")
        _ = try await ledger.createRepository(ref, context: alice)
        try await push(ledger, ref, 0..<300)
        let head = try ledger.headSeq()
        let good = try ledger.state(at: .seq(head), repository: ref)
        #expect(good.repositories.first?.tags.count == 300)
        let repoId: UInt64 = 1
        // A tag version of the wrong length, an unknown image status, a key of an unknown kind, a
        // key too short to hold a seq.
        let rows: [(key: [UInt8], value: [UInt8])] = [
            (BigEndianU64.encode(repoId) + [2] + Array("zz".utf8) + [0] + BigEndianU64.encode(2), [1, 2, 3]),
            (BigEndianU64.encode(repoId) + [0] + Array(repeating: 7, count: 32) + BigEndianU64.encode(2), [200]),
            (BigEndianU64.encode(repoId) + [9, 1] + BigEndianU64.encode(2), [1]),
            (BigEndianU64.encode(repoId) + [0, 1], [1]),
        ]
        for row in rows {
            try ledger.stateEnv.write { txn in try txn.put(try ledger.stateTables.current(txn).contentVersions.raw, row.key, row.value) }
            let error = await expectError(.storage) { try ledger.state(at: .seq(head), repository: ref) }
            #expect(error?.message.contains("temporal index") == true)
            try ledger.stateEnv.write { txn in _ = try txn.delete(try ledger.stateTables.current(txn).contentVersions.raw, row.key) }
        }
        #expect(try ledger.state(at: .seq(head), repository: ref) == good)
    }

    @Test func anOrganizationsPoliciesAreReadAtEachPointAndADamagedVersionIsAStorageError() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/web")
        let org = PolicyScope.organization(.defaultId, "acme")
        _ = try await ledger.createRepository(ref, context: alice)
        let known = try ledger.headSeq()
        let first = try await ledger.createPolicy(org, tagPattern: "v.*", context: admin)
        let created = try ledger.headSeq()
        _ = try await ledger.updatePolicy(org, uuid: first.uuid, tagPattern: "w.*", context: admin)
        let updated = try ledger.headSeq()
        _ = try await ledger.deletePolicy(org, uuid: first.uuid, context: admin)
        let head = try ledger.headSeq()
        func patterns(_ seq: UInt64) throws -> [String]? {
            try ledger.state(at: .seq(seq)).organizations.first { $0.name == "acme" }?.policies.map(\.tagPattern)
        }
        #expect(try patterns(known) == [])
        #expect(try patterns(created) == ["v.*"])
        #expect(try patterns(updated) == ["w.*"])
        #expect(try patterns(head) == [])
        // A policy version that does not decode.
        let key = ThenSeq<ThenSeq<PolicyScopeKey>>.encode(((org, created), created))
        try ledger.stateEnv.write { txn in try txn.put(try ledger.stateTables.current(txn).organizationVersions.raw, key, [9, 9]) }
        let error = await expectError(.storage) { try ledger.state(at: .seq(created)) }
        #expect(error?.message.contains("temporal index of organization acme") == true)
    }

    @Test func aVersionWithAnyByteDamagedGivesAStateOrAStorageErrorNeverACrash() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/web")
        _ = try await ledger.createRepository(ref, context: alice)
        try await push(ledger, ref, 0..<30)
        _ = try await ledger.createPolicy(.repository(ref.registryId, ref.name), tagPattern: "t1.*", context: admin)
        try await push(ledger, ref, 30..<42)
        let head = try ledger.headSeq()
        let rows = try ledger.stateEnv.read { txn in
            var out: [(key: [UInt8], value: [UInt8])] = []
            try txn.forEach(try ledger.stateTables.current(txn).contentVersions.raw) { e in
                out.append((try e.key(), try e.value()))
                return true
            }
            return out
        }
        var rng = SeededGenerator(state: 21)
        for _ in 0..<150 {
            let (key, good) = rows[Int.random(in: 0..<rows.count, using: &rng)]
            guard !good.isEmpty else { continue }
            var bad = good
            let at = Int.random(in: 0..<bad.count, using: &rng)
            bad[at] ^= UInt8.random(in: 1...255, using: &rng)
            try ledger.stateEnv.write { txn in try txn.put(try ledger.stateTables.current(txn).contentVersions.raw, key, bad) }
            do {
                _ = try ledger.state(at: .seq(head), repository: ref)
                _ = try ledger.listImages(ref, at: .seq(head))
            } catch let error as LedgerError {
                #expect(error.code == .storage, "\(error)")
            }
            try ledger.stateEnv.write { txn in try txn.put(try ledger.stateTables.current(txn).contentVersions.raw, key, good) }
        }
    }

    @Test func pagingAtAPastPointDerivesListingEntriesFromThatPointsImages() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        try await push(ledger, r, 0..<40, tagPrefix: "v")
        // Untagged images (their tag moved on), an image with two tags, archived and activating ones.
        try await push(ledger, r, 100..<110, tagPrefix: "v")
        for i in 0..<10 { _ = try await ledger.putImage(r, manifest: manifest(200 + i), tag: tag("v\(100 + i)"), context: alice) }
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("also-1"), context: alice)
        for i in 2..<6 {
            _ = try await ledger.updateImageStorageClass(r, imageId: ImageIdentifier(tag: "v\(i)"), targetStorageClass: "ARCHIVE", context: alice)
        }
        _ = try await ledger.updateImageStorageClass(r, imageId: ImageIdentifier(tag: "v2"), targetStorageClass: "STANDARD", context: alice)
        try await push(ledger, r, 300..<500, tagPrefix: "w")
        let then = try ledger.headSeq()
        let expected = try ledger.allEntries(r, filter: ImageFilter(imageStatus: .any))
        let untagged = try ledger.allEntries(r, filter: ImageFilter(tagStatus: .untagged, imageStatus: .any))
        #expect(untagged.count == 10 && expected.count == 261)
        try await push(ledger, r, 500..<520, tagPrefix: "w")
        _ = try await ledger.batchDeleteImage(r, imageIds: [ImageIdentifier(tag: "also-1")], context: alice)
        var seen: [ImageEntry] = []
        var token: String?
        repeat {
            let page = try ledger.listImages(r, at: .seq(then), filter: ImageFilter(imageStatus: .any), maxResults: 50, nextToken: token)
            seen += page.items
            token = page.nextToken
        } while token != nil
        #expect(seen == expected)
        #expect(Array(try ledger.listImages(r, at: .seq(then), filter: ImageFilter(tagStatus: .untagged, imageStatus: .any), maxResults: 100).items) == untagged)
    }

    @Test func timePointsResolveToTheLastEventAtOrBeforeThem() async throws {
        let (ledger, events) = try await history(seed: 13, count: 300)
        let first = events[0].timestamp
        await expectError(.invalidParameter) { try ledger.resolve(.time(first - 1)) }
        await expectError(.invalidParameter) { try ledger.resolve(.seq(0)) }
        #expect(try ledger.resolve(.time(UInt64.max)).seq == UInt64(events.count))
        #expect(try ledger.resolve(.seq(UInt64.max)).seq == UInt64(events.count))
        for record in events.filter({ $0.seq % 37 == 0 }) {
            let resolved = try ledger.resolve(.time(record.timestamp))
            // The last event with this timestamp (several events can share a microsecond).
            #expect(resolved.seq == events.last { $0.timestamp <= record.timestamp }!.seq)
            #expect(try ledger.state(at: .time(record.timestamp)) == ledger.state(at: .seq(resolved.seq)))
        }
        let (empty, _) = try makeLedger()
        await expectError(.invalidParameter) { try empty.state(at: .seq(1)) }
    }

    @Test func tagHistoryListsEveryChangeOfTheTagAndItsRefusals() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(2), tag: tag("other"), context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(2), tag: tag("v1"), context: alice)
        _ = try await ledger.setTagImmutable(r, tag: tag("v1"), immutable: true, context: alice)
        await expectError(.imageTagAlreadyExists) { try await ledger.putImage(r, manifest: manifest(3), tag: tag("v1"), context: alice) }
        _ = try await ledger.deleteRepository(r, force: true, context: alice)
        _ = try await ledger.createRepository(r, context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(4), tag: tag("v1"), context: alice)
        let kinds = try ledger.tagHistory(r, tag: "v1").map { entry -> String in
            switch entry {
            case .event(let record): record.event.typeName
            case .denied(let denial): "denied:\(denial.operation)"
            }
        }
        #expect(kinds == ["tag.set", "tag.set", "tag.flagged", "denied:PutImage", "repository.deleted", "tag.set"])
        #expect(try ledger.tagHistory(r, tag: "never").isEmpty)
        await expectError(.invalidParameter) { try ledger.tagHistory(r, tag: String(repeating: "t", count: 600)) }
        await expectError(.invalidParameter) { try ledger.listTags(r, specificTag: "bad tag") }
    }

    @Test func importRefusesRecordsThatDoNotContinueTheChain() async throws {
        let (ledger, events) = try await history(seed: 14, count: 100)
        let (fresh, _) = try makeLedger()
        await expectError(.invalidParameter) { try await fresh.append(imported: Array(events.dropFirst())) }
        let tampered = EventRecord(seq: 1, timestamp: events[0].timestamp, context: CommandContext(actor: "mallory"),
                                   event: events[0].event, prevHash: events[0].prevHash)
        await expectError(.invalidParameter) { try await fresh.append(imported: [tampered, events[1]]) }
        #expect(try fresh.headSeq() == 0)
        _ = ledger
    }
}

@Suite struct DiffTests {
    @Test func diffNamesEveryKindOfChangeBetweenTwoPoints() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("gone"), context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(5), tag: tag("keep"), context: alice)
        let start = try ledger.headSeq()
        _ = try await ledger.putImage(r, manifest: manifest(2), tag: tag("v1"), context: alice)
        _ = try await ledger.batchDeleteImage(r, imageIds: [ImageIdentifier(tag: "gone")], context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(3), tag: tag("v3"), context: alice)
        _ = try await ledger.putImageTagMutability(r, try TagMutability(mode: .immutable), context: alice)
        _ = try await ledger.createPolicy(.organization(.defaultId, "acme"), tagPattern: "v3", context: admin)
        _ = try await ledger.updateImageStorageClass(r, imageId: ImageIdentifier(tag: "v1"), targetStorageClass: "ARCHIVE", context: alice)
        _ = try await ledger.updateImageStorageClass(r, imageId: ImageIdentifier(tag: "keep"), targetStorageClass: "ARCHIVE", context: alice)
        _ = try await ledger.createRepository(repo("acme/new"), context: alice)
        let kinds = Set(try ledger.diff(from: .seq(start), to: .seq(try ledger.headSeq())).map(\.kind))
        #expect(kinds == ["tag.moved", "tag.removed", "tag.added", "tag.flagged", "mutability.changed", "policy.created",
                          "image.added", "image.removed", "image.status", "repository.created"])
        #expect(try ledger.diff(from: .seq(start), to: .seq(start)).isEmpty)
    }
}

@Suite struct PastListImagesTests {
    @Test func pagingAtAPastPointSeesThatPointsEntriesOnly() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        try await push(ledger, r, 0..<300, tagPrefix: "v")
        let then = try ledger.headSeq()
        let expected = try ledger.allEntries(r, filter: ImageFilter())
        try await push(ledger, r, 300..<700, tagPrefix: "v")
        _ = try await ledger.batchDeleteImage(r, imageIds: [ImageIdentifier(tag: "v1")], context: alice)
        var seen: [ImageEntry] = []
        var token: String?
        repeat {
            let page = try ledger.listImages(r, at: .seq(then), maxResults: 64, nextToken: token)
            seen += page.items
            token = page.nextToken
        } while token != nil
        #expect(seen == expected)
        // A token of the past point does not open a page of the present, nor the reverse.
        let pastToken = try #require(try ledger.listImages(r, at: .seq(then), maxResults: 10).nextToken)
        await expectError(.invalidParameter) { try ledger.listImages(r, maxResults: 10, nextToken: pastToken) }
        let presentToken = try #require(try ledger.listImages(r, maxResults: 10).nextToken)
        await expectError(.invalidParameter) { try ledger.listImages(r, at: .seq(then), maxResults: 10, nextToken: presentToken) }
        await expectError(.repositoryNotFound) { try ledger.listImages(repo("acme/later"), at: .seq(then)) }
    }
}

@Suite struct EventWalkTests {
    @Test func walkingOneRepositoryInSmallChunksYieldsExactlyItsEvents() async throws {
        let (ledger, _) = try makeLedger()
        try await runRandomCommands(ledger, count: 1500, seed: 51)
        let all = try ledger.events()
        for r in CommandUniverse.repos {
            var walked: [UInt64] = []
            try ledger.forEachEvent(repository: r, chunkSize: 7) { walked.append($0.seq) }
            #expect(walked == all.filter { $0.event.repository == r }.map(\.seq), "\(r)")
        }
        let middle = all[all.count / 2].timestamp
        var ranged: [UInt64] = []
        try ledger.forEachEvent(repository: CommandUniverse.repos[0], since: middle, chunkSize: 5) { ranged.append($0.seq) }
        #expect(ranged == all.filter { $0.event.repository == CommandUniverse.repos[0] && $0.timestamp >= middle }.map(\.seq))
        var whole: [UInt64] = []
        try ledger.forEachEvent(until: middle, chunkSize: 11) { whole.append($0.seq) }
        #expect(whole == all.filter { $0.timestamp <= middle }.map(\.seq))
    }

    @Test func aRepositorysEventIndexPacksItsSeqsInRowsOf128ThatRebuildCutsAlike() async throws {
        let (ledger, _) = try makeLedger()
        let (web, api) = (repo("acme/web"), repo("acme/api"))
        _ = try await ledger.createRepository(web, context: alice)
        _ = try await ledger.createRepository(api, context: alice)
        for i in 0..<200 {  // interleaved, so neither repository's seqs are consecutive
            _ = try await ledger.putImage(web, manifest: manifest(i), tag: tag("w\(i)"), context: alice)
            if i % 3 == 0 { _ = try await ledger.putImage(api, manifest: manifest(1000 + i), context: alice) }
        }
        let all = try ledger.events()
        let webSeqs = all.filter { $0.event.repository == web }.map(\.seq)
        #expect(webSeqs.count == 401)
        let hid = HistoryIdKey.of(web)
        let rows = try ledger.stateEnv.read { txn in
            var rows: [UInt64] = []
            try txn.forEach(try ledger.stateTables.current(txn).repoEvents, prefix: hid) { e in
                rows.append(try e.key().seq)
                return true
            }
            return rows
        }
        #expect(rows == [webSeqs[0], webSeqs[128], webSeqs[256], webSeqs[384]])
        // From the middle of a row, across rows, in small chunks.
        for from in [webSeqs[0], webSeqs[100], webSeqs[128], webSeqs[300] + 1] {
            let seqs = try ledger.stateEnv.read { txn in try ledger.repositorySeqs(txn, try ledger.stateTables.current(txn), historyId: hid, from: from) }
            #expect(seqs == webSeqs.filter { $0 >= from })
        }
        var walked: [UInt64] = []
        try ledger.forEachEvent(repository: web, chunkSize: 50) { walked.append($0.seq) }
        #expect(walked == webSeqs)
        let digest = try ledger.stateDigest()
        #expect(try await ledger.rebuild() == digest)
    }

    @Test func aDamagedEventIndexRowIsAStorageErrorNotACrash() async throws {
        let (ledger, _) = try makeLedger()
        let web = repo("acme/web")
        _ = try await ledger.createRepository(web, context: alice)
        try await push(ledger, web, 0..<100)
        let hid = HistoryIdKey.of(web)
        for bad: [UInt8] in [[0], [0x80], [1, 0], Array(repeating: 1, count: SeqRun.capacity)] {
            try ledger.stateEnv.write { txn in
                let dbs = try ledger.stateTables.current(txn)
                let key = try txn.withCursor(dbs.repoEvents) { c in try c.seek(atOrAfterBytes: hid).map { try $0.key() } }!
                try txn.put(dbs.repoEvents, key, bad)
            }
            await expectError(.storage) { try ledger.forEachEvent(repository: web) { _ in } }
            // Time travel reads the temporal index, not the event index.
            #expect(try ledger.state(at: .seq(try ledger.headSeq()), repository: web).repositories.first?.tags.count == 100)
        }
    }
}
