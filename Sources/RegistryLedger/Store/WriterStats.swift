import Foundation

/// Counters the writer keeps: commits and the largest group.
public final class WriterStats: @unchecked Sendable {
    private let lock = NSLock()
    private var _commits = 0
    private var _largestBatch = 0

    func recordCommit(batchSize: Int) {
        lock.lock(); defer { lock.unlock() }
        _commits += 1
        _largestBatch = max(_largestBatch, batchSize)
    }

    /// Durable commits so far.
    public var commits: Int { lock.lock(); defer { lock.unlock() }; return _commits }
    /// The largest group committed at once.
    public var largestBatch: Int { lock.lock(); defer { lock.unlock() }; return _largestBatch }
}
