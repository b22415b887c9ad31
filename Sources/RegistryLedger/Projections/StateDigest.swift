import Foundation
import Crypto
import LMDB

/// A SHA-256 over every projection database's entries in key order: equal digests mean
/// byte-identical projections. Fed table by table in ``ProjectionTables/Table`` order, each
/// table's rows in key order.
struct StateDigest {
    private var sha = SHA256()
    /// Bytes not yet hashed: hashing in large runs costs far less than a call per field.
    private var pending: [UInt8] = []
    private static let flushAt = 1 << 16

    init() { pending.reserveCapacity(Self.flushAt + 1024) }

    /// Starts the rows of `table`.
    mutating func begin(_ table: ProjectionTables.Name) { pending.append(table.rawValue) }

    mutating func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        withUnsafeBytes(of: UInt32(key.count).bigEndian) { pending.append(contentsOf: $0) }
        pending.append(contentsOf: key)
        withUnsafeBytes(of: UInt32(value.count).bigEndian) { pending.append(contentsOf: $0) }
        if value.count > Self.flushAt {
            flush()
            sha.update(bufferPointer: value)
        } else {
            pending.append(contentsOf: value)
            if pending.count >= Self.flushAt { flush() }
        }
    }

    private mutating func flush() {
        pending.withUnsafeBytes { sha.update(bufferPointer: $0) }
        pending.removeAll(keepingCapacity: true)
    }

    /// Adds every row of `table` as stored in `dbs`.
    mutating func add(_ table: ProjectionTables.Name, from txn: ReadTransaction, _ dbs: ProjectionTables) throws {
        begin(table)
        try txn.forEach(dbs[raw: table]) { e in
            add(key: e.rawKey, value: e.rawValue)
            return true
        }
    }

    /// Lowercase hex.
    mutating func finalize() -> String {
        flush()
        return sha.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The digest of the projections stored in `dbs`.
    static func compute(_ txn: ReadTransaction, _ dbs: ProjectionTables) throws -> String {
        var digest = StateDigest()
        for table in ProjectionTables.Name.allCases { try digest.add(table, from: txn, dbs) }
        return digest.finalize()
    }
}
