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

    /// The derived state in `path` could not follow a group the log already holds (`error`):
    /// the callers are not told it succeeded, since what they read would not show it yet, nor
    /// that nothing changed. The state catches up from the log before the next group.
    static func stateBehind(_ error: any Error, at path: String) -> LedgerError {
        let fault = storage(error, at: path, doing: "applying the change to the derived state")
        let cause = fault.code == .insufficientStorage ? "no space left on the device holding \(path)" : fault.message
        return LedgerError(fault.code == .storage ? .storageFault : fault.code,
                           "\(cause): the change is durable in the log, but the derived state could not follow it yet; "
                               + "it shows once the state catches up (with the next write after space is freed)")
    }
}
