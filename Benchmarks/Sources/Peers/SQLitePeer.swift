import BenchSupport
import Foundation
import GRDB
import RegistryLedger

/// What an embedding user would pick instead: SQLite (through GRDB) holding the same listing
/// entries in a `WITHOUT ROWID` table keyed like our listing index, paged by keyset on that key
/// with the same default filter (active images only).
public enum SQLitePeer {
    public static func database(entries: Int) async throws -> DatabaseQueue {
        let path = Fixtures.root + "/sqlite-\(entries)-\(Fixtures.version).db"
        if FileManager.default.fileExists(atPath: path) { return try DatabaseQueue(path: path) }
        let partial = path + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        try FileManager.default.createDirectory(atPath: Fixtures.root, withIntermediateDirectories: true)
        let db = try DatabaseQueue(path: partial)
        try await db.write { db in
            try db.execute(sql: """
                CREATE TABLE listing (repo INTEGER NOT NULL, kind INTEGER NOT NULL, digest BLOB NOT NULL, tag TEXT NOT NULL,
                                      status INTEGER NOT NULL, PRIMARY KEY (repo, kind, digest, tag)) WITHOUT ROWID
                """)
            let insert = try db.makeStatement(sql: "INSERT INTO listing VALUES (1, ?, ?, ?, ?)")
            for i in 0..<entries {
                let tag = Fixtures.pagingTag(i)
                let digest = blob(Fixtures.manifest(i).digest)
                try insert.execute(arguments: [tag == nil ? 1 : 0, digest, tag ?? "", i % 100 == 50 ? 1 : 0])
            }
        }
        try db.close()
        try FileManager.default.moveItem(atPath: partial, toPath: path)
        return try DatabaseQueue(path: path)
    }

    /// The digest's 32 bytes, so the key sorts as ours does.
    public static func blob(_ digest: RegistryLedger.Digest) -> Data {
        let hex = Array(digest.description.utf8.dropFirst(7))
        func nibble(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : c - 0x61 + 10 }
        return Data(stride(from: 0, to: 64, by: 2).map { nibble(hex[$0]) << 4 | nibble(hex[$0 + 1]) })
    }

    /// Walks every page of active entries, `pageSize` at a time, resuming after the last key.
    public static func walk(_ queue: DatabaseQueue, pageSize: Int) throws -> (entries: Int, pages: Int) {
        try queue.read { db in
            var entries = 0
            var pages = 0
            var last: (kind: Int64, digest: Data, tag: String) = (-1, Data(), "")
            while true {
                let rows = try Row.fetchAll(db, sql: """
                    SELECT kind, digest, tag FROM listing
                    WHERE repo = 1 AND status = 0 AND (kind, digest, tag) > (?, ?, ?)
                    ORDER BY kind, digest, tag LIMIT ?
                    """, arguments: [last.kind, last.digest, last.tag, pageSize])
                pages += 1
                entries += rows.count
                guard rows.count == pageSize, let end = rows.last else { return (entries, pages) }
                last = (end["kind"], end["digest"], end["tag"])
            }
        }
    }
}
