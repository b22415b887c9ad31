@testable import RegistryLedger
import LMDB
import Testing

@Suite struct VerificationTests {
    func store() async throws -> Ledger {
        let (ledger, _) = try makeLedger()
        try await runRandomCommands(ledger, count: 1500, seed: 21)
        return ledger
    }

    @Test func anUntouchedStoreVerifiesInChunks() async throws {
        let ledger = try await store()
        var progressCalls = 0
        let report = try ledger.verify(chunkSize: 100) { _, _ in progressCalls += 1 }
        #expect(report.isValid, "\(report.problems)")
        #expect(report.eventsVerified == (try ledger.headSeq()))
        #expect(report.replayedDigest == report.storedDigest)
        #expect(report.manifestsVerified > 0)
        #expect(progressCalls == Int((report.headSeq + 99) / 100))
    }

    @Test func aFlippedLogByteIsFoundAndItsSeqNamed() async throws {
        let ledger = try await store()
        let target = try ledger.headSeq() / 2
        try ledger.logEnv.write { txn in
            var bytes = try txn.get(ledger.logTables.log.raw, BigEndianU64.encode(target))!
            bytes[bytes.count / 2] ^= 0x04
            try txn.put(ledger.logTables.log.raw, BigEndianU64.encode(target), bytes)
        }
        let report = try ledger.verify(chunkSize: 64)
        #expect(!report.isValid)
        #expect(report.firstBadSeq == target)
        #expect(report.problems.first?.contains("seq \(target)") == true)
    }

    @Test func anEditedManifestIsFoundAndThePushNamed() async throws {
        let ledger = try await store()
        let pushed = try ledger.events().first { if case .imagePushed = $0.event { true } else { false } }!
        try ledger.logEnv.write { txn in
            var bytes = try txn.get(ledger.logTables.manifestLog!.raw, BigEndianU64.encode(pushed.seq))!
            bytes[0] = UInt8(ascii: " ")
            try txn.put(ledger.logTables.manifestLog!.raw, BigEndianU64.encode(pushed.seq), bytes)
        }
        let report = try ledger.verify()
        #expect(!report.isValid)
        #expect(report.firstBadSeq == pushed.seq)
        #expect(report.problems.contains { $0.contains("seq \(pushed.seq)") })
    }

    @Test func aManifestStoredByDigestAsEarlierVersionsDidIsReadAndChecked() async throws {
        let ledger = try await store()
        let pushed = try ledger.events().first { if case .imagePushed = $0.event { true } else { false } }!
        guard case .imagePushed(_, let digest, _, _, _) = pushed.event else { return }
        let original = try #require(try ledger.manifest(digest))
        // As an earlier version (or a cluster node's copy of the log) holds it: by digest.
        try ledger.logEnv.write { txn in
            _ = try txn.delete(ledger.logTables.manifestLog!.raw, BigEndianU64.encode(pushed.seq))
            try txn.put(ledger.logTables.manifests, digest, original)
        }
        #expect(try ledger.manifest(digest) == original)
        #expect(try ledger.verify().isValid)
        try ledger.logEnv.write { txn in
            var bytes = original
            bytes[0] = UInt8(ascii: " ")
            try txn.put(ledger.logTables.manifests, digest, bytes)
        }
        let report = try ledger.verify()
        #expect(!report.isValid)
        #expect(report.firstBadSeq == pushed.seq)
        #expect(report.problems.contains { $0.contains(digest.description) })
    }

    @Test func aTamperedProjectionRowIsFoundByTheDigestComparison() async throws {
        let ledger = try await store()
        try ledger.stateEnv.write { txn in
            let dbs = try ledger.stateTables.current(txn)
            try txn.put(dbs.tags, (1, "planted"), TagRecord(digest: manifest(1).digest, immutable: false, lastModified: 0))
        }
        let report = try ledger.verify()
        #expect(!report.isValid)
        #expect(report.firstBadSeq == nil)
        #expect(report.replayedDigest != report.storedDigest)
        // The table that differs is named, and only it.
        #expect(report.problems.count == 1 && report.problems[0].contains("differ from a replay of the log") && report.problems[0].contains(" in tags;"))
        // A rebuild repairs it.
        try await ledger.rebuild()
        #expect(try ledger.verify().isValid)
    }
}
