import Foundation

/// Keeps a second process from writing the same store: a writable ``Ledger`` holds an exclusive
/// `flock` on `DIR/writer.lock` while open. The writer thread keeps the log head in memory, so two
/// writing processes would refuse each other's appends; readers (the audit tool) take no lock.
/// The kernel drops the lock when the process dies, so a crash never leaves the store locked.
final class WriterLock: Sendable {
    private let fd: Int32
    private let released = OnceFlag()

    /// - Throws: `storage` when another process holds the lock, naming its pid.
    init(directory: String) throws(LedgerError) {
        let path = directory + "/writer.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LedgerError(.storage, "cannot open \(path): \(String(cString: strerror(errno)))") }
        // A child this process is spawning shares the lock's file description until it execs
        // (O_CLOEXEC closes it only then), so a lock just released here can look held for a
        // moment (longer on a loaded machine): retry for up to a second before calling it another
        // writer's.
        var locked = flock(fd, LOCK_EX | LOCK_NB) == 0
        for _ in 0..<100 where !locked {
            usleep(10_000)
            locked = flock(fd, LOCK_EX | LOCK_NB) == 0
        }
        guard locked else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, buffer.count, 0)
            let holder = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            close(fd)
            throw LedgerError(.storage, "the store at \(directory) is open for writing by another process (pid \(holder)); "
                + "stop it first (reading with `regledger audit` needs no lock)")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Releases the lock. Idempotent.
    func release() {
        guard released.setOnce() else { return }
        close(fd)
    }

    deinit { release() }
}
