import Foundation
import LMDB

/// Small files whose presence means something after a crash (an import under way, unflushed
/// derived state): written and synced, with their directory entry, before anything relies on them.
enum DurableFiles {
    /// Creates or replaces `name` in `directory` with `bytes`, durably and atomically: the file
    /// is written whole under another name first, so a failed write (a full disk) leaves none.
    static func write(_ bytes: [UInt8], named name: String, in directory: String) throws {
        let temporary = directory + "/" + temporaryName(for: name)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw LMDBError(code: errno) }
        do {
            defer { _ = Glibc.close(fd) }
            guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count, fsync(fd) == 0 else {
                throw LMDBError(code: errno == 0 ? EIO : errno)
            }
            guard rename(temporary, directory + "/" + name) == 0 else { throw LMDBError(code: errno) }
        } catch {
            unlink(temporary)
            throw error
        }
        try syncDirectory(directory)
    }

    /// The name `write` gives the file while it is being written (left behind if the process dies then).
    static func temporaryName(for name: String) -> String { "." + name + ".tmp" }

    /// Removes `name` from `directory`, durably.
    static func remove(named name: String, in directory: String) throws {
        try FileManager.default.removeItem(atPath: directory + "/" + name)
        try syncDirectory(directory)
    }

    static func syncDirectory(_ directory: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw LMDBError(code: errno) }
        defer { _ = Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw LMDBError(code: errno) }
    }
}
