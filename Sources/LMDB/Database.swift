import CLMDB

/// A handle to one named LMDB database inside an ``Environment``; ``Table`` gives it a layout.
@usableFromInline
struct Database: Sendable, Hashable {
    @usableFromInline let dbi: MDB_dbi
    /// The database's name in the environment.
    let name: String
}

/// Flags for ``WriteTransaction/put(_:_:_:flags:)``.
public struct PutFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Fail with ``LMDBError/keyExists`` when the key is present.
    public static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
    /// Append at the end: the key must sort after every key present (fast path for logs).
    public static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
}
