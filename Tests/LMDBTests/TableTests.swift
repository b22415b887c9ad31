import Foundation
import LMDB
import Testing

/// The typed layer: tables read and write items through their codecs, scans stay in their
/// prefix, settings share one table, and malformed rows are errors.
@Suite struct TableTests {
    @Test func typedTablesStoreItemsAndScanAPrefixInKeyOrder() throws {
        let env = try Environment(path: temporaryDirectory())
        let seqs: Table<BigEndianU64, UTF8Text> = try env.openTable(named: "seqs")
        try env.write { txn in
            for n: UInt64 in [300, 2, 1 << 40, 7] { try txn.put(seqs, n, "n\(n)") }
            #expect(try txn.reading.get(seqs, 7) == "n7", "a write transaction reads through its reading view")
        }
        try env.read { txn in
            #expect(try txn.get(seqs, 300) == "n300")
            #expect(try txn.get(seqs, 8) == nil)
            #expect(try txn.contains(seqs, 2) && !txn.contains(seqs, 3))
            var visited: [UInt64] = []
            try txn.forEach(seqs) { e in visited.append(try e.key()); return true }
            #expect(visited == [2, 7, 300, 1 << 40], "big-endian keys sort numerically")
            visited = []
            try txn.forEach(seqs, from: BigEndianU64.encode(8)) { e in visited.append(try e.key()); return visited.count < 1 }
            #expect(visited == [300], "from the first key at or after, until the body stops")
            let before = try txn.withCursor(seqs) { c in try c.seek(beforeBytes: BigEndianU64.encode(300))?.value() }
            #expect(before == "n7")
            let beforeAll = try txn.withCursor(seqs) { c in try c.seek(beforeBytes: BigEndianU64.encode(1)) }
            #expect(beforeAll == nil)
        }
        let names: Table<UTF8Text, NoValue> = try env.openTable(named: "names")
        try env.write { txn in for name in ["ab", "abc", "abd", "b", "a"] { try txn.put(names, name, ()) } }
        let underAb = try env.read { txn in
            var out: [String] = []
            try txn.forEach(names, prefix: UTF8Text.encode("ab")) { e in out.append(try e.key()); return true }
            return out
        }
        #expect(underAb == ["ab", "abc", "abd"])
    }

    @Test func settingsShareATableEachWithItsOwnValueCodec() throws {
        let env = try Environment(path: temporaryDirectory())
        let meta: Table<UTF8Text, RawBytes> = try env.openTable(named: "meta")
        let format = Setting<SingleByte>("format", in: meta)
        let counter = Setting<BigEndianU64>("counter", in: meta)
        try env.write { txn in
            try txn.put(format, 7)
            try txn.put(counter, 1 << 33)
        }
        #expect(try env.read { txn in try txn.get(format) } == 7)
        #expect(try env.read { txn in try txn.get(counter) } == 1 << 33)
        #expect(try env.read { txn in try txn.get(meta, "format") } == [7])
        let deleted = try env.write { txn in try txn.delete(format) }
        #expect(deleted)
        #expect(try env.read { txn in try txn.get(format) } == nil)
    }

    @Test func aRowItsCodecCannotReadIsAnErrorNotACrash() throws {
        let env = try Environment(path: temporaryDirectory())
        let numbers: Table<UTF8Text, BigEndianU64> = try env.openTable(named: "numbers")
        try env.write { txn in try txn.put(numbers.raw, UTF8Text.encode("short"), [1, 2, 3]) }
        #expect(throws: TableCodecError.self) { try env.read { txn in try txn.get(numbers, "short") } }
        let versions: Table<UTF8Text, EmptyMeansNone<BigEndianU64>> = try env.openTable(named: "versions")
        try env.write { txn in
            try txn.put(versions, "deleted", nil)
            try txn.put(versions, "kept", 5)
        }
        #expect(try env.read { txn in try txn.get(versions.raw, UTF8Text.encode("deleted")) } == [], "none is stored as no bytes")
        #expect(try env.read { txn in try txn.get(versions, "deleted") } == .some(nil))
        #expect(try env.read { txn in try txn.get(versions, "kept") } == .some(5))
        #expect(try env.read { txn in try txn.get(versions, "absent") } == nil)
    }

    @Test func aTableThatDoesNotExistIsNotCreatedWhenAskedNotTo() throws {
        let env = try Environment(path: temporaryDirectory())
        #expect(throws: LMDBError.notFound) { _ = try env.openTable(named: "missing", create: false) as Table<RawBytes, RawBytes> }
        let made: Table<RawBytes, RawBytes> = try env.openTable(named: "made")
        try env.write { txn in try txn.drop(made) }
        #expect(throws: LMDBError.notFound) { _ = try env.openTable(named: "made", create: false) as Table<RawBytes, RawBytes> }
    }
}
