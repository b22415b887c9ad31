import Foundation
import LMDB
import Testing

/// Another process that opens the environment with liblmdb, begins `count` read transactions,
/// says "ready" and waits to be killed — a `regledger audit` killed inside a read transaction.
final class ReaderProcess {
    static let script = """
        import ctypes, ctypes.util, sys, time
        lib = ctypes.CDLL(ctypes.util.find_library("lmdb"))
        env = ctypes.c_void_p()
        assert lib.mdb_env_create(ctypes.byref(env)) == 0
        assert lib.mdb_env_set_maxreaders(env, 126) == 0
        assert lib.mdb_env_set_mapsize(env, ctypes.c_size_t(1 << 30)) == 0
        rc = lib.mdb_env_open(env, sys.argv[1].encode(), 0x20000 | 0x200000, 0o600)  # MDB_RDONLY | MDB_NOTLS
        assert rc == 0, rc
        txns = []
        for _ in range(int(sys.argv[2])):
            txn = ctypes.c_void_p()
            rc = lib.mdb_txn_begin(env, None, 0x20000, ctypes.byref(txn))
            if rc != 0:
                break
            txns.append(txn)
        print("ready", len(txns), flush=True)
        time.sleep(600)
        """
    let process = Process()
    let held: Int

    init(path: String, transactions count: Int) throws {
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, path, String(count)]
        process.standardOutput = output
        try process.run()
        var line = [UInt8]()
        while let byte = try output.fileHandleForReading.read(upToCount: 1)?.first, byte != 0x0a { line.append(byte) }
        held = Int(String(decoding: line, as: UTF8.self).split(separator: " ").last ?? "") ?? 0
    }

    /// SIGKILL, and wait until the process is gone.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

@Suite(.serialized) struct DeadReaderTests {
    @Test func slotsOfAProcessKilledInsideReadTransactionsAreCountedAndReleased() throws {
        let path = temporaryDirectory()
        let env = try Environment(path: path)
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv")
        try env.write { txn in try txn.put(db, [1], [1]) }
        let reader = try ReaderProcess(path: path, transactions: 3)
        #expect(reader.held == 3)
        #expect(env.readerSlotsInUse() == 3)
        #expect(env.releaseStaleReaders() == 0, "a live reader's slots are not stale")
        reader.kill()
        #expect(env.readerSlotsInUse() == 3, "the dead keep their slots until someone checks")
        #expect(env.releaseStaleReaders() == 3)
        #expect(env.readerSlotsInUse() == 0)
        #expect(env.staleReadersReleased == 3)
    }

    @Test func aReadWhenEverySlotIsHeldByTheDeadFreesThemAndSucceeds() throws {
        let path = temporaryDirectory()
        var options = Environment.Options()
        options.maxReaders = 8
        let env = try Environment(path: path, options: options)
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv")
        try env.write { txn in try txn.put(db, [1], [7]) }
        let reader = try ReaderProcess(path: path, transactions: 8)
        #expect(reader.held == 8)
        #expect(throws: LMDBError.readersFull) { try env.read { txn in try txn.get(db, [1]) } }
        reader.kill()
        #expect(try env.read { txn in try txn.get(db, [1]) } == [7])
        #expect(env.staleReadersReleased == 8)
    }

    @Test func aDeadReaderStopsPinningPagesOnceReleased() throws {
        let path = temporaryDirectory()
        let env = try Environment(path: path)
        let db: Table<RawBytes, RawBytes> = try env.openTable(named: "kv")
        let value = [UInt8](repeating: 0xab, count: 256 << 10)
        func churn(_ rounds: Int) throws {
            for round in 0..<rounds { try env.write { txn in try txn.put(db, [0], value + [UInt8(round & 0xff)]) } }
        }
        func fileSize() throws -> Int { try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as! Int }
        try churn(4)
        let reader = try ReaderProcess(path: path, transactions: 1)
        reader.kill()
        env.releaseStaleReaders()
        let before = try fileSize()
        try churn(100)
        // Without the release every round's pages would stay pinned: 100 × 256 KiB ≈ 25 MiB more.
        let grown = try fileSize() - before
        #expect(grown < 4 << 20, "grew \(grown) bytes")
    }
}
