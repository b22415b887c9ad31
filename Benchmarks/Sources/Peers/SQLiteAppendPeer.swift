import BenchSupport
import Crypto
import Foundation
import GRDB

/// What an embedding user would pick instead for writes: SQLite (through GRDB) in WAL mode with
/// `synchronous=FULL`, storing for each push the rows the store keeps — a hash-chained log
/// record, an image row, a tag row and a listing row — 64 pushes a transaction, one writer.
public enum SQLiteAppendPeer {
    /// Pushes `count` images into a fresh database, `perTransaction` a transaction; pushes/s.
    public static func run(count: Int, perTransaction: Int = 64) throws -> Double {
        let path = NSTemporaryDirectory() + "regledger-sqlite-append-\(UUID().uuidString).db"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE log (seq INTEGER PRIMARY KEY, record BLOB NOT NULL, hash BLOB NOT NULL);
                CREATE TABLE images (repo INTEGER NOT NULL, digest BLOB NOT NULL, record BLOB NOT NULL, PRIMARY KEY (repo, digest)) WITHOUT ROWID;
                CREATE TABLE tags (repo INTEGER NOT NULL, tag TEXT NOT NULL, digest BLOB NOT NULL, PRIMARY KEY (repo, tag)) WITHOUT ROWID;
                CREATE TABLE listing (repo INTEGER NOT NULL, kind INTEGER NOT NULL, digest BLOB NOT NULL, tag TEXT NOT NULL,
                                      status INTEGER NOT NULL, PRIMARY KEY (repo, kind, digest, tag)) WITHOUT ROWID;
                """)
        }
        let manifests = (0..<count).map { Fixtures.manifest($0) }
        var hash = [UInt8](repeating: 0, count: 32)
        let start = ContinuousClock.now
        var next = 0
        while next < count {
            let end = min(count, next + perTransaction)
            try queue.write { db in
                let log = try db.cachedStatement(sql: "INSERT INTO log VALUES (?, ?, ?)")
                let image = try db.cachedStatement(sql: "INSERT INTO images VALUES (1, ?, ?)")
                let tag = try db.cachedStatement(sql: "INSERT INTO tags VALUES (1, ?, ?)")
                let listing = try db.cachedStatement(sql: "INSERT INTO listing VALUES (1, 0, ?, ?, 0)")
                for i in next..<end {
                    let manifest = manifests[i]
                    let digest = SQLitePeer.blob(manifest.digest)
                    // The record as the store's is: the event, chained on the previous hash.
                    let record = Array("image.pushed bench/append \(manifest.digest) t\(i) \(manifest.mediaType)".utf8) + hash
                    hash = Array(SHA256.hash(data: record))
                    try log.execute(arguments: [i + 1, Data(record), Data(hash)])
                    try image.execute(arguments: [digest, Data(manifest.bytes.prefix(110))])
                    try tag.execute(arguments: ["t\(i)", digest])
                    try listing.execute(arguments: [digest, "t\(i)"])
                }
            }
            next = end
        }
        return Double(count) / ((ContinuousClock.now - start) / .seconds(1))
    }
}
