import Crypto
import LMDB

/// A SHA-256 over one projection table's rows in key order, each row as a big-endian `u32` key
/// length, the key, a `u32` value length and the value.
struct TableDigest {
    private var sha = SHA256()
    /// Bytes not yet hashed: hashing in large runs costs far less than a call per field.
    private var pending: [UInt8] = []
    private static let flushAt = 1 << 16

    init() { pending.reserveCapacity(Self.flushAt + 1024) }

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

    /// Adds rows already laid out as the digest lays them out (``ChunkingRowSink``'s chunks).
    mutating func add(rows: UnsafeRawBufferPointer) {
        flush()
        sha.update(bufferPointer: rows)
    }

    private mutating func flush() {
        pending.withUnsafeBytes { sha.update(bufferPointer: $0) }
        pending.removeAll(keepingCapacity: true)
    }

    /// The 32 bytes of the digest.
    mutating func finalize() -> [UInt8] {
        flush()
        return Array(sha.finalize())
    }

    /// The digest of `table` as stored in `dbs`.
    static func compute(_ table: ProjectionTables.Name, _ txn: ReadTransaction, _ dbs: ProjectionTables) throws -> [UInt8] {
        var digest = TableDigest()
        try txn.forEach(dbs[raw: table]) { e in
            digest.add(key: e.rawKey, value: e.rawValue)
            return true
        }
        return digest.finalize()
    }
}

/// The digest of a store's derived state: a SHA-256 over every projection table's byte and
/// ``TableDigest``, in ``ProjectionTables/Name`` order. Equal digests mean byte-identical
/// projections; the tables' own digests say which tables differ, and let tables be digested on
/// different threads.
struct StateDigest: Equatable {
    /// One per table, in `ProjectionTables.Name.allCases` order.
    let tables: [[UInt8]]

    init(tables: [[UInt8]]) {
        precondition(tables.count == ProjectionTables.Name.allCases.count, "a state digest of \(tables.count) tables")
        self.tables = tables
    }

    /// Lowercase hex.
    var hex: String {
        var sha = SHA256()
        for (name, digest) in zip(ProjectionTables.Name.allCases, tables) {
            sha.update(data: [name.rawValue])
            sha.update(data: digest)
        }
        return sha.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The tables whose rows differ between the two states.
    func tablesDiffering(from other: StateDigest) -> [ProjectionTables.Name] {
        zip(ProjectionTables.Name.allCases, zip(tables, other.tables)).filter { $0.1.0 != $0.1.1 }.map(\.0)
    }

    /// The digest of the projections stored in `dbs`.
    static func compute(_ txn: ReadTransaction, _ dbs: ProjectionTables) throws -> StateDigest {
        StateDigest(tables: try ProjectionTables.Name.allCases.map { try TableDigest.compute($0, txn, dbs) })
    }
}
