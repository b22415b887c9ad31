import Foundation
import LMDB
import Testing

func temporaryDirectory(_ name: String = "lmdb") -> String {
    let path = NSTemporaryDirectory() + "\(name)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct EnvironmentTests {
    @Test func writtenValuesAreReadBackAfterCommit() throws {
        let env = try Environment(path: temporaryDirectory())
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv")
        try env.write { txn in try txn.put(db, [1, 2], [9, 9, 9]) }
        let value = try env.read { txn in try txn.get(db, [1, 2]) }
        #expect(value == [9, 9, 9])
        #expect(try env.read { txn in try txn.get(db, [7]) } == nil)
    }

    @Test func errorThrownInsideWriteRollsBackEverything() throws {
        struct Boom: Error {}
        let env = try Environment(path: temporaryDirectory())
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv")
        #expect(throws: Boom.self) {
            try env.write { txn in
                try txn.put(db, [1], [1])
                throw Boom()
            }
        }
        #expect(try env.read { txn in try txn.count(db) } == 0)
    }

    @Test func cursorSeeksToFirstKeyAtOrAfterInByteOrder() throws {
        let env = try Environment(path: temporaryDirectory())
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv")
        try env.write { txn in
            for k: UInt8 in [10, 20, 30] { try txn.put(db, [0, k], [k]) }
        }
        let found = try env.read { txn in
            try txn.withCursor(db) { cursor in try cursor.seek(atOrAfterBytes: [0, 15]).map { $0.rawValue.map { $0 } } }
        }
        #expect(found == [20])
        let pastEnd = try env.read { txn in
            try txn.withCursor(db) { cursor in try cursor.seek(atOrAfterBytes: [0, 31]) != nil }
        }
        #expect(pastEnd == false)
    }

    @Test func appendFlagRejectsKeysOutOfOrder() throws {
        let env = try Environment(path: temporaryDirectory())
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "log")
        try env.write { txn in
            try txn.put(db, [0, 2], [2], flags: .append)
        }
        #expect(throws: LMDBError.keyExists) {
            try env.write { txn in try txn.put(db, [0, 1], [1], flags: .append) }
        }
    }

    @Test func cursorAppendFillsADatabaseInKeyOrderAndRejectsAKeyOutOfOrder() throws {
        let env = try Environment(path: temporaryDirectory())
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "filled")
        let keys: [[UInt8]] = (0..<2_000).map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        try env.write { txn in
            try txn.withCursor(db) { c in
                for key in keys { try key.withUnsafeBytes { k in try [UInt8](k).withUnsafeBytes { try c.put(rawKey: k, rawValue: $0, flags: .append) } } }
            }
        }
        let stored = try env.read { txn in
            try txn.withCursor(db) { c in
                var out: [[UInt8]] = []
                var entry = try c.first()
                while let e = entry { out.append(Array(e.rawKey)); entry = try c.next() }
                return out
            }
        }
        #expect(stored == keys)
        #expect(throws: LMDBError.keyExists) {
            try env.write { txn in
                try txn.withCursor(db) { c in try [UInt8]([0, 5]).withUnsafeBytes { try c.put(rawKey: $0, rawValue: $0, flags: .append) } }
            }
        }
    }

    @Test func mapGrowsOnDemandWithoutErrorReachingTheCaller() throws {
        var options = Environment.Options()
        options.mapSize = 1 << 20  // 1 MiB, far below what is written
        options.durable = false
        let env = try Environment(path: temporaryDirectory(), options: options)
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv")
        let value = [UInt8](repeating: 7, count: 1000)
        for batch in 0..<20 {
            try env.write { txn in
                for i in 0..<500 {
                    let k = withUnsafeBytes(of: UInt32(batch * 500 + i).bigEndian) { Array($0) }
                    try txn.put(db, k, value)
                }
            }
        }
        #expect(env.mapSize > 1 << 20)
        #expect(try env.read { txn in try txn.count(db) } == 10_000)
    }

    /// An unsynced environment with a 1 MiB map that may grow to `maxMapSize`, and its table "kv".
    private func smallMap(maxMapSize: Int) throws -> (Environment, Table<RawBytes, RawBytes>) {
        var options = Environment.Options()
        options.mapSize = 1 << 20
        options.maxMapSize = maxMapSize
        options.durable = false
        let env = try Environment(path: temporaryDirectory(), options: options)
        return (env, try env.openTable(named: "kv"))
    }

    @Test func reservingGrowsTheMapByDoublingUntilTheBytesFitAndNeverPastTheMaximum() throws {
        let (env, db) = try smallMap(maxMapSize: 16 << 20)
        try env.write { txn in for i in 0..<100 { try txn.put(db, [UInt8(i)], [UInt8](repeating: 1, count: 1000)) } }
        let used = env.usedBytes
        #expect(used > 100_000 && used < 1 << 20)
        try env.reserve(0)
        #expect(env.mapSize == 1 << 20, "nothing to reserve: unchanged")
        try env.reserve(3 << 20)
        #expect(env.mapSize == 4 << 20, "the first doubling that fits \(used) + 3 MiB")
        try env.reserve(100 << 20)
        #expect(env.mapSize == 16 << 20, "capped at the maximum")
        // What was reserved is usable without growth.
        try env.write { txn in for i in 0..<3000 { try txn.put(db, withUnsafeBytes(of: UInt32(1000 + i).bigEndian) { Array($0) }, [UInt8](repeating: 2, count: 1000)) } }
        #expect(env.mapSize == 16 << 20)
    }

    @Test func writesPastTheMaximumMapSizeFailWithMapFullAndKeepCommittedData() throws {
        let (env, db) = try smallMap(maxMapSize: 2 << 20)
        try env.write { txn in try txn.put(db, [0], [1]) }
        let big = [UInt8](repeating: 1, count: 4000)
        #expect(throws: LMDBError.mapFull) {
            try env.write { txn in
                for i in 0..<2000 {
                    try txn.put(db, withUnsafeBytes(of: UInt32(i + 1).bigEndian) { Array($0) }, big)
                }
            }
        }
        #expect(try env.read { txn in try txn.get(db, [0]) } == [1])
    }

    @Test func readOnlyOpenOfMissingDirectoryFails() {
        var options = Environment.Options()
        options.readOnly = true
        #expect(throws: LMDBError.self) {
            _ = try Environment(path: "/nonexistent/\(UUID().uuidString)", options: options)
        }
    }
}

@Suite struct ReadOnlyTests {
    @Test func readOnlyOpenAfterTheWriterClosedReadsNamedDatabases() throws {
        let path = temporaryDirectory()
        do {
            let env = try Environment(path: path)
            let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv")
            try env.write { txn in try txn.put(db, [1], [2]) }
        }
        var options = Environment.Options()
        options.readOnly = true
        let env = try Environment(path: path, options: options)
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv", create: false)
        #expect(try env.read { txn in try txn.get(db, [1]) } == [2])
    }
}

@Suite struct DiscardedWriteTests {
    @Test func discardedWriteSeesItsOwnWritesAndLeavesNothing() throws {
        let env = try Environment(path: temporaryDirectory())
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv")
        let seen = try env.discardedWrite { txn in
            try txn.put(db, [1], [1])
            return try txn.get(db, [1])
        }
        #expect(seen == [1])
        #expect(try env.read { txn in try txn.count(db) } == 0)
    }
}
