import Crypto
import Foundation
@testable import RegistryLedger
import LMDB
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
        try ledger.logEnv.read { txn in
            var seqs: [UInt64] = []
            try LogReplay.forEach(txn, ledger.logTables.log) { seqs.append($0.seq) }
            return seqs
        }
    }

    @Test(arguments: [1, 7, 64, 100_000] as [UInt64])
    func concurrentWalkYieldsEveryRecordInOrderWhateverTheChunkSize(chunk: UInt64) async throws {
        let ledger = try await store()
        let head = try ledger.headSeq()
        var seen: [(UInt64, Event)] = []
        var chunks: [Int] = []
        try LogReplay.forEachChunkConcurrently(ledger.logEnv, ledger.logTables.log, through: head, chunk: chunk) { records in
            chunks.append(records.count)
            seen += records.map { ($0.seq, $0.event) }
        }
        #expect(seen.map(\.0) == Array(1...head))
        #expect(chunks.dropLast().allSatisfy { $0 == Int(chunk) } && chunks.last! <= Int(chunk))
        #expect(seen.map(\.0) == (try sequentialSeqs(ledger)))
        let events = try ledger.events(from: 1, limit: Int(head)).map(\.event)
        #expect(seen.map(\.1) == events)
    }

    @Test func concurrentWalkNamesATamperedRecordInALaterChunk() async throws {
        let ledger = try await store()
        let head = try ledger.headSeq()
        let target: UInt64 = 150
        try ledger.logEnv.write { txn in
            var bytes = try txn.get(ledger.logTables.log.raw, BigEndianU64.encode(target))!
            bytes[bytes.count - 40] ^= 0x01  // inside the previous hash: the record's own hash fails
            try txn.put(ledger.logTables.log.raw, BigEndianU64.encode(target), bytes)
        }
        var applied: UInt64 = 0
        #expect(throws: LogCorruption.self) {
            try LogReplay.forEachChunkConcurrently(ledger.logEnv, ledger.logTables.log, through: head, chunk: 32) { applied = $0.last!.seq }
        }
        #expect(applied == target - 1)
        do {
            try LogReplay.forEachChunkConcurrently(ledger.logEnv, ledger.logTables.log, through: head, chunk: 32) { _ in }
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
        try ledger.logEnv.write { txn in try txn.put(ledger.logTables.log.raw, BigEndianU64.encode(64), forged.encoded) }
        do {
            try LogReplay.forEachChunkConcurrently(ledger.logEnv, ledger.logTables.log, through: try ledger.headSeq(), chunk: 32) { _ in }
            Issue.record("a broken chain was walked")
        } catch let corruption as LogCorruption {
            #expect(corruption.seq == 65)
        }
    }

    @Test func concurrentWalkReportsARecordMissingBeforeTheHead() async throws {
        let ledger = try await store()
        let head = try ledger.headSeq()
        do {
            try LogReplay.forEachChunkConcurrently(ledger.logEnv, ledger.logTables.log, through: head + 5, chunk: 50) { _ in }
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
            try LogReplay.forEachChunkConcurrently(ledger.logEnv, ledger.logTables.log, through: try ledger.headSeq(), chunk: 3) { _ in
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
        let lean = try ledger.logEnv.read { txn in
            var out: [EventRecord] = []
            try LogReplay.forEach(txn, ledger.logTables.log, through: 50, forReplay: true) { out.append($0) }
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

    @Test func stateDigestIsTheSHA256OfEachTablesSHA256OfTheDocumentedLayoutWhateverItBuffers() throws {
        // A table's digest: each row as u32 key length, key, u32 value length, value — a value
        // larger than the digest's buffer goes straight through, as do pre-encoded rows. The
        // state's: each table's byte and digest, in table order.
        // Values that cross the buffer's end and one larger than the buffer.
        var rows: [([UInt8], [UInt8])] = [([1, 2], [3]), ([4], [])]
        for b in UInt8(5)..<9 { rows.append(([b], [UInt8](repeating: b, count: 40_000))) }
        rows += [([9], [UInt8](repeating: 0xAB, count: 200_000)), ([10], [1])]
        var digest = TableDigest()
        var expected = SHA256()
        var layout: [UInt8] = []
        for (key, value) in rows {
            key.withUnsafeBytes { k in value.withUnsafeBytes { v in digest.add(key: k, value: v) } }
            for part in [key, value] {
                withUnsafeBytes(of: UInt32(part.count).bigEndian) { layout.append(contentsOf: $0) }
                layout.append(contentsOf: part)
            }
        }
        expected.update(data: layout)
        let tableDigest = digest.finalize()
        #expect(tableDigest == Array(expected.finalize()))
        var encoded = TableDigest()
        layout.withUnsafeBytes { encoded.add(rows: $0) }
        #expect(encoded.finalize() == tableDigest)

        let names = ProjectionTables.Name.allCases
        let tables = names.map { $0 == .tags ? tableDigest : Array(SHA256.hash(data: [UInt8]())) }
        var state = SHA256()
        for (name, table) in zip(names, tables) { state.update(data: [name.rawValue] + table) }
        let stateDigest = StateDigest(tables: tables)
        #expect(stateDigest.hex == state.finalize().map { String(format: "%02x", $0) }.joined())
        #expect(stateDigest.tablesDiffering(from: StateDigest(tables: names.map { _ in Array(SHA256.hash(data: [UInt8]())) })) == [.tags])
    }
}

@Suite struct PipelineTests {
    /// What the producer of ``pipelineReturnsOnlyOnceItsProducerHasStoppedWhenTheConsumerStopsEarly`` saw.
    private final class ProducerLog: @unchecked Sendable {
        let lock = NSLock()
        var puts = 0
        var stopped = false
    }

    @Test func pipelineReturnsOnlyOnceItsProducerHasStoppedWhenTheConsumerStopsEarly() throws {
        struct Stop: Error {}
        let log = ProducerLog()
        #expect(throws: Stop.self) {
            try Handoff<Int>.pipeline(capacity: 2, name: "test-producer", produce: { handoff in
                // Would block for good on a full queue if cancellation did not release it.
                for i in 0..<100_000 where !handoff.isCancelled {
                    handoff.put(i)
                    log.lock.withLock { log.puts += 1 }
                }
                Thread.sleep(forTimeInterval: 0.05)
                log.lock.withLock { log.stopped = true }
            }, consume: { handoff in
                for expected in 0..<5 { #expect(handoff.take() == expected) }
                throw Stop()
            })
        }
        log.lock.withLock {
            #expect(log.stopped)
            #expect(log.puts < 100_000)
        }
    }

    @Test func takingAfterTheProducerReturnedGivesWhatItPutThenNil() {
        let taken = Handoff<Int>.pipeline(capacity: 2, name: "test-producer", produce: { handoff in
            for i in 0..<5 { handoff.put(i) }
        }, consume: { handoff in
            var taken: [Int] = []
            while let item = handoff.take() { taken.append(item) }
            return taken
        })
        #expect(taken == [0, 1, 2, 3, 4])
    }

    @Test func itemsOfSeveralProducersAllArriveEachInItsOrderAndTakingEndsAfterTheLast() {
        let taken = Handoff<(Int, Int)>.pipeline(capacity: 3, name: "test-producers", producers: 3, produce: { producer, handoff in
            for i in 0..<(200 * (producer + 1)) { handoff.put((producer, i)) }
        }, consume: { handoff in
            var taken: [(Int, Int)] = []
            while let item = handoff.take() { taken.append(item) }
            return taken
        })
        for producer in 0..<3 {
            #expect(taken.filter { $0.0 == producer }.map(\.1) == Array(0..<(200 * (producer + 1))))
        }
    }

    @Test func rowsHandedOnInChunksArriveWholeAndInOrderWithTheirTablesDigests() throws {
        // Enough rows for several chunks, of every size a row can have.
        let rows: [(table: ProjectionTables.Name, key: [UInt8], value: [UInt8])] = (0..<3_000).map { i in
            (i < 2_000 ? .images : .tags, (0..<(1 + i % 40)).map { UInt8(truncatingIfNeeded: i &+ $0) },
             (0..<(i % 7 == 0 ? 0 : i % 500)).map { UInt8(truncatingIfNeeded: i &* 3 &+ $0) })
        }
        let tables: [ProjectionTables.Name] = [.images, .tags]
        let (received, digests) = try Handoff<ChunkingRowSink.Item>.pipeline(name: "test-rows", produce: { handoff in
            var sink = ChunkingRowSink(handoff)
            for table in tables {
                for row in rows where row.table == table { sink.row(table, key: { $0.raw(row.key) }, value: { $0.raw(row.value) }) }
                sink.endTable(table)
            }
        }, consume: { handoff -> ([(ProjectionTables.Name, [UInt8], [UInt8])], [[UInt8]]) in
            var received: [(ProjectionTables.Name, [UInt8], [UInt8])] = []
            var digests: [[UInt8]] = []
            var chunks = 0
            for table in tables {
                taking: while true {
                    switch handoff.take() {
                    case .rows(let rowsTable, let encoded):
                        chunks += 1
                        encoded.forEachRow { received.append((rowsTable, Array($0), Array($1))) }
                    case .tableEnd(let endedTable, let digest):
                        #expect(endedTable == table)
                        digests.append(digest)
                        break taking
                    default: Issue.record("a failure or the end within a table"); break taking
                    }
                }
            }
            #expect(chunks > 2)
            return (received, digests)
        })
        #expect(received.count == rows.count)
        #expect(zip(received, rows).allSatisfy { $0.0 == $1.table && $0.1 == $1.key && $0.2 == $1.value })
        let expected = tables.map { table in
            var digest = TableDigest()
            for row in rows where row.table == table {
                row.key.withUnsafeBytes { k in row.value.withUnsafeBytes { v in digest.add(key: k, value: v) } }
            }
            return digest.finalize()
        }
        #expect(digests == expected)
    }
}

