import Crypto
import Foundation
@testable import RegistryLedger
import Testing

/// The concurrent log walk that rebuild uses, and the pieces of the in-memory fold.
@Suite struct LogReplayTests {
    /// A store with a few hundred records of every kind.
    private func store(seed: UInt64 = 11) async throws -> Ledger {
        let (ledger, _) = try makeLedger()
        try await runRandomCommands(ledger, count: 600, seed: seed)
        return ledger
    }

    private func sequentialSeqs(_ ledger: Ledger) throws -> [UInt64] {
        try ledger.env.read { txn in
            var seqs: [UInt64] = []
            try LogReplay.forEach(txn, ledger.stores.log) { seqs.append($0.seq) }
            return seqs
        }
    }

    @Test(arguments: [1, 7, 64, 100_000] as [UInt64])
    func concurrentWalkYieldsEveryRecordInOrderWhateverTheChunkSize(chunk: UInt64) async throws {
        let ledger = try await store()
        let head = try ledger.headSeq()
        var seen: [(UInt64, Event)] = []
        try LogReplay.forEachConcurrently(ledger.env, ledger.stores.log, through: head, chunk: chunk) { seen.append(($0.seq, $0.event)) }
        #expect(seen.map(\.0) == Array(1...head))
        #expect(seen.map(\.0) == (try sequentialSeqs(ledger)))
        let events = try ledger.events(from: 1, limit: Int(head)).map(\.event)
        #expect(seen.map(\.1) == events)
    }

    @Test func concurrentWalkNamesATamperedRecordInALaterChunk() async throws {
        let ledger = try await store()
        let head = try ledger.headSeq()
        let target: UInt64 = 150
        try ledger.env.write { txn in
            var bytes = try txn.get(ledger.stores.log, key: KeyLayout.u64(target))!
            bytes[bytes.count - 40] ^= 0x01  // inside the previous hash: the record's own hash fails
            try txn.put(ledger.stores.log, key: KeyLayout.u64(target), value: bytes)
        }
        var applied: UInt64 = 0
        #expect(throws: LogCorruption.self) {
            try LogReplay.forEachConcurrently(ledger.env, ledger.stores.log, through: head, chunk: 32) { applied = $0.seq }
        }
        #expect(applied == target - 1)
        do {
            try LogReplay.forEachConcurrently(ledger.env, ledger.stores.log, through: head, chunk: 32) { _ in }
        } catch let corruption as LogCorruption {
            #expect(corruption.seq == target)
        }
    }

    @Test func aChainBrokenAtAChunkBoundaryIsNamed() async throws {
        let ledger = try await store()
        // Record 64 ends a chunk of 32; re-signed with other content, its own hash is valid but
        // record 65, the first of the next chunk, no longer links to it.
        let forged = EventRecord(seq: 64, timestamp: 1, context: alice, event: .repositoryDeleted(repo("acme/a")),
                                 prevHash: try ledger.events(from: 63, limit: 1)[0].hash)
        try ledger.env.write { txn in try txn.put(ledger.stores.log, key: KeyLayout.u64(64), value: forged.encoded) }
        do {
            try LogReplay.forEachConcurrently(ledger.env, ledger.stores.log, through: try ledger.headSeq(), chunk: 32) { _ in }
            Issue.record("a broken chain was walked")
        } catch let corruption as LogCorruption {
            #expect(corruption.seq == 65)
        }
    }

    @Test func concurrentWalkReportsARecordMissingBeforeTheHead() async throws {
        let ledger = try await store()
        let head = try ledger.headSeq()
        do {
            try LogReplay.forEachConcurrently(ledger.env, ledger.stores.log, through: head + 5, chunk: 50) { _ in }
            Issue.record("a walk past the last record succeeded")
        } catch let corruption as LogCorruption {
            #expect(corruption.seq == head + 1)
        }
    }

    @Test func anErrorOfTheBodyStopsTheReaderAndIsRethrown() async throws {
        let ledger = try await store()
        struct Stop: Error {}
        var calls = 0
        #expect(throws: Stop.self) {
            try LogReplay.forEachConcurrently(ledger.env, ledger.stores.log, through: try ledger.headSeq(), chunk: 3) { _ in
                calls += 1
                if calls == 10 { throw Stop() }
            }
        }
        #expect(calls == 10)
        // The reader's read transaction is over: a write (which may need to grow the map) goes through.
        _ = try await ledger.createRepository(repo("after/stop"), context: alice)
    }

    @Test func replayDecodingChecksTheHashAndKeepsOnlyWhatApplyingNeeds() async throws {
        let ledger = try await store()
        let full = try ledger.events(from: 1, limit: 50)
        let lean = try ledger.env.read { txn in
            var out: [EventRecord] = []
            try LogReplay.forEach(txn, ledger.stores.log, through: 50, forReplay: true) { out.append($0) }
            return out
        }
        #expect(lean.map(\.event) == full.map(\.event))
        #expect(lean.map(\.timestamp) == full.map(\.timestamp))
        #expect(lean.allSatisfy { $0.actor.isEmpty && $0.hash.isEmpty && $0.encoded.isEmpty })
    }
}

@Suite struct RowEncodingTests {
    @Test(arguments: [0, 1, 127, 128, 300, 16_383, 16_384, 70_000])
    func lengthPrefixedWritesDecodeAsData(count: Int) throws {
        let payload = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var direct = BinaryWriter(), viaClosure = BinaryWriter()
        direct.u8(9); direct.data(payload); direct.u8(7)
        viaClosure.u8(9); viaClosure.data { $0.raw(payload) }; viaClosure.u8(7)
        #expect(viaClosure.bytes == direct.bytes)
        let decoded = try viaClosure.bytes.withUnsafeBytes { buffer throws -> (UInt8, [UInt8], UInt8, Bool) in
            var r = BinaryReader(buffer)
            return (try r.u8(), try r.data(), try r.u8(), r.isAtEnd)
        }
        #expect(decoded.0 == 9 && decoded.1 == payload && decoded.2 == 7 && decoded.3)
    }

    @Test func stateDigestIsTheSHA256OfTheDocumentedLayoutWhateverItBuffers() throws {
        // Table byte, then each row as u32 key length, key, u32 value length, value: a value
        // larger than the digest's buffer goes straight through.
        let rows: [(UInt8, [UInt8], [UInt8])] = [(1, [1, 2], [3]), (1, [4], []), (13, [5], [UInt8](repeating: 0xAB, count: 200_000))]
        var digest = StateDigest()
        var expected = SHA256()
        var lastTable: UInt8?
        for (table, key, value) in rows {
            if table != lastTable {
                digest.begin(ProjectionDatabases.Table(rawValue: table)!)
                expected.update(data: [table])
                lastTable = table
            }
            key.withUnsafeBytes { k in value.withUnsafeBytes { v in digest.add(key: k, value: v) } }
            for part in [key, value] {
                withUnsafeBytes(of: UInt32(part.count).bigEndian) { expected.update(bufferPointer: $0) }
                expected.update(data: part)
            }
        }
        #expect(digest.finalize() == expected.finalize().map { String(format: "%02x", $0) }.joined())
    }
}
