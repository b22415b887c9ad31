import Foundation
import Glibc
import LMDB
import Testing

/// Environments opened with `writeMap`: pages written in place, the file allocated to the map.
@Suite struct WriteMapTests {
    private func options(mapSize: Int = 256 << 10, maxMapSize: Int = 1 << 30) -> Environment.Options {
        var options = Environment.Options()
        options.mapSize = mapSize
        options.maxMapSize = maxMapSize
        options.durable = false
        options.writeMap = true
        return options
    }

    /// Bytes of disk the file at `path` holds (not its apparent size).
    private func allocatedBytes(_ path: String) -> Int {
        var attributes = stat()
        return stat(path, &attributes) == 0 ? Int(attributes.st_blocks) * 512 : -1
    }

    private func key(_ i: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(i).bigEndian) { Array($0) } }

    @Test func theFileIsAllocatedToTheMapAtOpenAndAtEveryGrowthAndAPlainOpenReadsWhatWasWritten() throws {
        let path = temporaryDirectory()
        let env = try Environment(path: path, options: options())
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv")
        #expect(allocatedBytes(path + "/data.mdb") >= 256 << 10)
        let value = [UInt8](repeating: 7, count: 1000)
        for batch in 0..<10 {
            try env.write { txn in for i in 0..<500 { try txn.put(db, key(batch * 500 + i), value) } }
            #expect(allocatedBytes(path + "/data.mdb") >= env.mapSize, "after batch \(batch), map \(env.mapSize)")
        }
        #expect(env.mapSize > 4 << 20, "the map grew")
        try env.reserve(16 << 20)
        #expect(allocatedBytes(path + "/data.mdb") >= env.mapSize)
        env.close()

        var plain = Environment.Options()
        plain.readOnly = true
        let reader = try Environment(path: path, options: plain)
        let table: Table<RawBytes, RawBytes> = try reader.openTable(named: "kv", create: false)
        #expect(try reader.read { txn in try txn.count(table) } == 5000)
        #expect(try reader.read { txn in try txn.get(table, key(4321)) } == value)
    }

    @Test func theMapGrowsByAQuarterAndReservesJustWhatIsAskedNotByDoubling() throws {
        let env = try Environment(path: temporaryDirectory(), options: options(mapSize: 64 << 20))
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv")
        try env.reserve(100 << 20)
        #expect(env.mapSize == (env.usedBytes + (100 << 20) + (1 << 20) - 1) & ~((1 << 20) - 1), "what was asked, in whole MiB")
        let reserved = env.mapSize
        let value = [UInt8](repeating: 3, count: 3000)
        var i = 0
        while env.mapSize == reserved {
            try env.write { txn in for _ in 0..<1000 { try txn.put(db, key(i), value); i += 1 } }
        }
        #expect(env.mapSize == (reserved + reserved / 4 + (1 << 20) - 1) & ~((1 << 20) - 1), "a quarter more, not twice")
    }

    @Test func theFreeListCountsThePagesEarlierCommitsFreed() throws {
        let env = try Environment(path: temporaryDirectory(), options: options())
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv")
        try env.write { txn in for i in 0..<2000 { try txn.put(db, key(i), [UInt8](repeating: 1, count: 500)) } }
        let before = try env.freeListBytes()
        try env.write { txn in for i in 0..<2000 { _ = try txn.delete(db, key(i)) } }
        try env.write { txn in try txn.put(db, key(0), [1]) }
        let freed = try env.freeListBytes()
        // 2,000 rows of 500 bytes filled about 250 leaf pages: deleted, their pages are free.
        #expect(freed - before >= 200 * 4096, "\(before) -> \(freed)")
        #expect(freed < env.usedBytes)
    }

    @Test(arguments: [0.5, 0.99])
    func aFileCutShorterThanItsMapIsRefusedAsCorruptedAndNotExtended(_ kept: Double) throws {
        let path = temporaryDirectory()
        do {
            let env = try Environment(path: path, options: options())
            let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv")
            try env.write { txn in for i in 0..<2000 { try txn.put(db, key(i), [UInt8](repeating: 1, count: 500)) } }
            #expect(env.usedBytes < env.mapSize)
            env.close()
        }
        // Even a cut past the used pages, which loses nothing, is found: the file was allocated to the map.
        let size = try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as! Int
        #expect(truncate(path + "/data.mdb", off_t(Double(size) * kept)) == 0)
        #expect(throws: LMDBError.corrupted) { _ = try Environment(path: path, options: options()) }
        #expect(try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as! Int == Int(Double(size) * kept))
    }

    @Test func reopenedWithASmallerMapTheFileKeepsItsSizeAndOpensAgain() throws {
        let path = temporaryDirectory()
        let env = try Environment(path: path, options: options())
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv")
        try env.write { txn in for i in 0..<4000 { try txn.put(db, key(i), [UInt8](repeating: 1, count: 500)) } }
        let grown = env.mapSize
        env.close()
        for _ in 0..<2 {
            let again = try Environment(path: path, options: options(mapSize: 64 << 10))
            #expect(again.mapSize == grown)
            let table: Table<RawBytes, RawBytes> = try again.openTable(named: "kv")
            try again.write { txn in try txn.put(table, key(99_999), [2]) }
            #expect(try again.read { txn in try txn.count(table) } == 4001)
            again.close()
        }
    }

    /// A full disk meets the map's growth as `noSpace`, never a `SIGBUS` on a page first touched.
    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root (CI runs as root)"))
    func aGrowthTheDiskCannotHoldFailsWithNoSpaceAndKeepsWhatWasCommitted() throws {
        let mount = temporaryDirectory("writemap-full")
        #expect(Glibc.mount("tmpfs", mount, "tmpfs", 0, "size=4m") == 0, "mount: errno \(errno)")
        defer { umount2(mount, Int32(MNT_DETACH)) }
        let env = try Environment(path: mount, options: options())
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv")
        try env.write { txn in try txn.put(db, [0], [1]) }
        let value = [UInt8](repeating: 9, count: 2000)
        var committed = 0
        #expect(throws: LMDBError.noSpace) {
            for batch in 0..<100 {
                try env.write { txn in for i in 0..<100 { try txn.put(db, key(1 + batch * 100 + i), value) } }
                committed = (batch + 1) * 100
            }
        }
        #expect(committed > 0, "some batches fit before the disk filled")
        #expect(try env.read { txn in try txn.count(db) } == committed + 1)
        #expect(try env.read { txn in try txn.get(db, [0]) } == [1])
        env.close()
    }
}
