import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// An error reported by LMDB, carrying its raw result code.
///
/// Match a specific condition in a `catch` with the static constants:
/// `catch LMDBError.mapFull { … }`.
public struct LMDBError: Error, Equatable, Sendable, CustomStringConvertible {
    /// LMDB's (or the system's) result code.
    public let code: Int32

    public init(code: Int32) { self.code = code }

    public var description: String {
        "LMDB error \(code): \(String(cString: mdb_strerror(code)))"
    }

    public static let notFound = LMDBError(code: MDB_NOTFOUND)
    public static let mapFull = LMDBError(code: MDB_MAP_FULL)
    public static let mapResized = LMDBError(code: MDB_MAP_RESIZED)
    public static let readersFull = LMDBError(code: MDB_READERS_FULL)
    public static let keyExists = LMDBError(code: MDB_KEYEXIST)
    public static let badValueSize = LMDBError(code: MDB_BAD_VALSIZE)
    /// The filesystem holding the environment is full (a commit found no room).
    public static let noSpace = LMDBError(code: ENOSPC)
    /// The user's disk quota is used up.
    public static let quotaExceeded = LMDBError(code: EDQUOT)
    /// The device failed a read or a write.
    public static let ioError = LMDBError(code: EIO)
    /// LMDB met a fatal error earlier and the environment must be reopened.
    public static let panic = LMDBError(code: MDB_PANIC)
    /// A page of the file is not what LMDB expects.
    public static let corrupted = LMDBError(code: MDB_CORRUPTED)
    /// The environment was closed.
    public static let closed = LMDBError(code: EBADF)

    public static func ~= (pattern: LMDBError, error: any Error) -> Bool {
        (error as? LMDBError)?.code == pattern.code
    }
}

@inline(__always)
@usableFromInline
func check(_ rc: Int32) throws(LMDBError) {
    if rc != 0 { throw LMDBError(code: rc) }
}
