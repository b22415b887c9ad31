import LMDB

extension LedgerError {
    /// `error`, thrown while the store at `path` was `doing` something, as callers see it: a
    /// ``LedgerError`` as it is; LMDB's full disk as ``Code/insufficientStorage`` naming the
    /// directory; its map limit, I/O errors and corruption as ``Code/storageFault``;
    /// anything else (a missing directory, a permission) as ``Code/storage``.
    static func storage(_ error: any Error, at path: String, doing: String) -> LedgerError {
        switch error {
        case let error as LedgerError:
            error
        case LMDBError.noSpace, LMDBError.quotaExceeded:
            LedgerError(.insufficientStorage, "no space left on the device holding \(path): \(doing) failed and changed nothing; "
                + "writes succeed again once space is freed")
        case LMDBError.mapFull:
            LedgerError(.storageFault, "the store at \(path) reached its maximum map size: \(doing) failed and changed nothing")
        case let error as LMDBError where [LMDBError.ioError, .panic, .corrupted].contains(error):
            LedgerError(.storageFault, "\(doing) failed at \(path): \(error)")
        default:
            LedgerError(.storage, "\(doing) failed at \(path): \(error)")
        }
    }
}
