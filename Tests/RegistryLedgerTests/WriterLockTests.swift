import Foundation
@testable import RegistryLedger
import Testing

@Suite struct WriterLockTests {
    /// Another open file description of `DIR/writer.lock` holding the lock, as a child being
    /// spawned holds the parent's until it execs. Closed on exec: otherwise a process another
    /// suite spawns meanwhile inherits it and holds the lock for as long as it runs.
    func holdLock(_ directory: String) -> Int32 {
        let fd = open(directory + "/writer.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        return fd
    }

    func directory() throws -> String {
        let path = NSTemporaryDirectory() + "writer-lock-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func aLockReleasedWithinMomentsIsTakenNotRefused() throws {
        let dir = try directory()
        let fd = holdLock(dir)
        // A thread of its own: the shared dispatch pool can be busy with other suites for longer
        // than the lock waits.
        Thread.detachNewThread { usleep(50_000); close(fd) }
        let lock = try WriterLock(directory: dir)
        lock.release()
    }

    @Test func aLockHeldOnIsRefusedNamingItsHolder() throws {
        let dir = try directory()
        let fd = holdLock(dir)
        defer { close(fd) }
        _ = "4242\n".withCString { pwrite(fd, $0, 5, 0) }
        #expect {
            _ = try WriterLock(directory: dir)
        } throws: { error in
            (error as? LedgerError)?.message.contains("pid 4242") == true
        }
    }
}
