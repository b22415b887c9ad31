import Foundation
import Crypto
import LMDB

/// A SHA-256 over every projection database's entries in key order: equal digests mean
/// byte-identical projections.
enum StateDigest {
    static func compute(_ txn: Transaction, _ dbs: ProjectionDatabases) throws -> String {
        var sha = SHA256()
        for (index, db) in dbs.all.enumerated() {
            sha.update(data: [UInt8(index)])
            try txn.withCursor(db) { c in
                var entry = try c.first()
                while let e = entry {
                    withUnsafeBytes(of: UInt32(e.key.count).bigEndian) { sha.update(bufferPointer: $0) }
                    sha.update(bufferPointer: e.key)
                    withUnsafeBytes(of: UInt32(e.value.count).bigEndian) { sha.update(bufferPointer: $0) }
                    sha.update(bufferPointer: e.value)
                    entry = try c.next()
                }
            }
        }
        return sha.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
