import Foundation
import LMDB

/// A private LMDB environment in a temporary directory where past state is laid out to be read
/// with the real readers: a repository's listing at a point (paged by the ordinary pager).
/// Nothing is ever committed, so it costs no disk writes and leaves nothing behind. One use at
/// a time.
final class ScratchSpace: @unchecked Sendable {
    private let lock = NSLock()
    private var opened: (env: Environment, dbs: ProjectionTables, path: String)?

    /// Runs `body` with an empty projection generation in an aborted write transaction.
    func withEmptyGeneration<R>(_ body: (WriteTransaction, ProjectionTables) throws -> R) throws -> R {
        lock.lock()
        defer { lock.unlock() }
        let (env, dbs) = try open()
        return try env.discardedWrite { txn in try body(txn, dbs) }
    }

    private func open() throws -> (Environment, ProjectionTables) {
        if let opened { return (opened.env, opened.dbs) }
        let path = NSTemporaryDirectory() + "regledger-scratch-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var options = Environment.Options()
        options.durable = false
        options.mapSize = 64 << 20
        options.maxDatabases = 64
        let env = try Environment(path: path, options: options)
        let dbs = try ProjectionTables.open(env, generation: 0, create: true)
        opened = (env, dbs, path)
        return (env, dbs)
    }

    deinit {
        if let opened {
            opened.env.close()
            try? FileManager.default.removeItem(atPath: opened.path)
        }
    }
}
