import Dispatch
import Foundation
import LMDB

/// Derived state is committed without an fsync (SPEC §3): the log alone is durable (and so is a
/// cluster node's local copy of the log: the cluster's log in PostgreSQL is). This keeps the two
/// promises that makes necessary. Every `interval` (and at close) it forces the state's
/// commits to disk. And while some commit may not be on disk yet, a marker file in the state's
/// directory names the kernel's boot id: found at open with another boot id, the machine
/// restarted while the state held unflushed commits, which may then be torn, so the state is
/// rebuilt from the log. A process that dies leaves its commits in the page cache, whole.
final class StateFlusher: @unchecked Sendable {
    static let markerName = "unflushed"

    let env: Environment
    let directory: String
    private let lock = NSLock()
    /// Whether the marker exists.
    private var dirty: Bool
    /// A commit is under way: the marker must stay.
    private var committing = false
    /// Counts finished commits, so a flush that raced one keeps the marker.
    private var commits: UInt64 = 0
    private var timer: (any DispatchSourceTimer)?

    /// - Parameters:
    ///   - interval: seconds between flushes; 0 flushes only at ``close()``.
    ///   - dirtyFromStart: writes the marker now, for an environment written outside
    ///     ``committing(_:)`` until the first flush (a cluster node's local log while it opens).
    init(env: Environment, directory: String, interval: Double, dirtyFromStart: Bool = false) throws {
        self.env = env
        self.directory = directory
        dirty = FileManager.default.fileExists(atPath: directory + "/" + Self.markerName)
        if dirtyFromStart {
            try Self.writeMarker(in: directory)
            dirty = true
        }
        guard interval > 0 else { return }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "regledger.state-flush"))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(50))
        timer.setEventHandler { [weak self] in try? self?.flush() }
        timer.resume()
        self.timer = timer
    }

    /// Runs `commit` (one or more derived-state commits) with the marker in place first.
    func committing<R>(_ commit: () throws -> R) throws -> R {
        try lock.withLock {
            if !dirty {
                try Self.writeMarker(in: directory)
                dirty = true
            }
            committing = true
        }
        defer { lock.withLock { commits += 1; committing = false } }
        return try commit()
    }

    /// Forces committed state to disk, then removes the marker unless a commit came in meanwhile.
    func flush() throws {
        let before: UInt64? = lock.withLock { dirty && !committing ? commits : nil }
        guard let before else { return }
        try env.sync()
        try lock.withLock {
            guard commits == before, !committing, dirty else { return }
            try DurableFiles.remove(named: Self.markerName, in: directory)
            dirty = false
        }
    }

    /// Stops the timer and flushes a last time (the writer has stopped).
    func close() {
        timer?.cancel()
        try? flush()
    }

    private static func writeMarker(in directory: String) throws {
        try DurableFiles.write(Array(((bootId() ?? "unknown") + "\n").utf8), named: markerName, in: directory)
    }

    /// Why the environment in `directory` (`what` it holds, for the message) may be torn, or
    /// nil: it held unflushed commits when the machine restarted (the marker names another boot).
    static func tornReason(directory: String, holding what: String = "the derived state") -> String? {
        guard let recorded = try? String(contentsOfFile: directory + "/" + markerName, encoding: .utf8) else { return nil }
        let now = bootId()
        guard let now, recorded.trimmingCharacters(in: .whitespacesAndNewlines) == now else {
            return "the machine restarted while \(what) held unflushed commits (boot \(recorded.prefix(36)), now \(now ?? "unknown"))"
        }
        return nil
    }

    /// The kernel's id for this boot.
    static func bootId() -> String? {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
