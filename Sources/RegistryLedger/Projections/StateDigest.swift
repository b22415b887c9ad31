import Crypto
import LMDB

/// A SHA-256 over one projection table's rows in key order, each row as a big-endian `u32` key
/// length, the key, a `u32` value length and the value.
struct TableDigest {
    private var sha = SHA256()
    /// Bytes not yet hashed (`used` of them): hashing in large runs costs far less than a call
    /// per field, and copying into a buffer of fixed size less than appending to an array.
    private var pending = [UInt8](repeating: 0, count: 2 * Self.flushAt)
    private var used = 0
    private static let flushAt = 1 << 16

    init() {}

    mutating func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        withUnsafeBytes(of: UInt32(key.count).bigEndian) { copy($0) }
        copy(key)
        withUnsafeBytes(of: UInt32(value.count).bigEndian) { copy($0) }
        copy(value)
        if used >= Self.flushAt { flush() }
    }

    /// Appends `bytes` to what is pending; what does not fit is hashed first, what is larger
    /// than the buffer straight away.
    private mutating func copy(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        if used + bytes.count > pending.count {
            flush()
            if bytes.count > pending.count { return sha.update(bufferPointer: bytes) }
        }
        let at = used
        pending.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[at..<(at + bytes.count)]).copyMemory(from: bytes) }
        used += bytes.count
    }

    /// Adds rows already laid out as the digest lays them out (``ChunkingRowSink``'s chunks).
    mutating func add(rows: UnsafeRawBufferPointer) {
        flush()
        sha.update(bufferPointer: rows)
    }

    private mutating func flush() {
        let used = used
        pending.withUnsafeBytes { sha.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[..<used])) }
        self.used = 0
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
