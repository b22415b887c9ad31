import Foundation
import LMDB

/// Work the writer thread runs inside a write transaction.
protocol WriterWork: AnyObject, Sendable {
    /// Runs alone in its own transaction instead of joining a group commit.
    var isExclusive: Bool { get }
    /// Does the work in `txn`, advancing `head`. Throws only errors that must abort the whole
    /// transaction (storage errors); its own failures are kept for ``complete(commitError:)``.
    func run(_ txn: Transaction, _ writer: Writer, head: inout LogHead) throws
    /// Answers the caller once the transaction committed (`nil`) or failed.
    func complete(commitError: (any Error)?)
}

/// The single thread that owns every write transaction (LMDB requires a write transaction to
/// begin and end on one thread, and never to span an `await`).
///
/// Commands queue up while a commit is in flight; the next transaction takes them all (up to
/// ``maxBatch``), runs each in a nested transaction so one failure rolls back only itself,
/// and commits once: one fsync answers many callers.
final class Writer: @unchecked Sendable {
    static let maxBatch = 2048

    let env: Environment
    let stores: StoreDatabases
    let patterns = PatternCache()
    private let condition = NSCondition()
    private var queue: [any WriterWork] = []
    private var stopping = false
    private let stopped = DispatchSemaphore(value: 0)
    /// Only touched on the writer thread after start.
    private var head: LogHead
    private let stats: WriterStats
    private let onCommit: (@Sendable (Int) -> Void)?

    init(env: Environment, stores: StoreDatabases, head: LogHead, stats: WriterStats, onCommit: (@Sendable (Int) -> Void)?) {
        self.env = env
        self.stores = stores
        self.head = head
        self.stats = stats
        self.onCommit = onCommit
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "regledger-writer"
        thread.start()
    }

    /// Queues `work`; it is answered through its own completion.
    func enqueue(_ work: any WriterWork) {
        condition.lock()
        if stopping {
            condition.unlock()
            work.complete(commitError: LedgerError(.storage, "the ledger is closed"))
            return
        }
        queue.append(work)
        condition.signal()
        condition.unlock()
    }

    /// Finishes queued work, then stops the thread. Idempotent.
    func stop() {
        condition.lock()
        let first = !stopping
        stopping = true
        condition.signal()
        condition.unlock()
        if first { stopped.wait() }
    }

    private func nextBatch() -> [any WriterWork]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !stopping { condition.wait() }
        if queue.isEmpty { return nil }
        if queue[0].isExclusive { return [queue.removeFirst()] }
        let count = min(Self.maxBatch, queue.prefix { !$0.isExclusive }.count)
        let batch = Array(queue.prefix(count))
        queue.removeFirst(count)
        return batch
    }

    private func loop() {
        while let batch = nextBatch() {
            let start = head
            var end = start
            do {
                try env.write { txn in
                    end = start  // a retry after map growth starts over
                    for work in batch { try work.run(txn, self, head: &end) }
                }
                head = end
                stats.recordCommit(batchSize: batch.count)
                onCommit?(batch.count)
                for work in batch { work.complete(commitError: nil) }
            } catch {
                let failure = LedgerError.storage(error, at: env.path, doing: "the commit")
                for work in batch { work.complete(commitError: failure) }
            }
        }
        stopped.signal()
    }

    /// The next timestamp: now in µs, never before the log's last one.
    func timestamp(after head: LogHead) -> UInt64 {
        max(UInt64(Date().timeIntervalSince1970 * 1_000_000), head.timestamp)
    }

    /// Appends refusals to the denial log (in the enclosing transaction, outside any command's).
    func recordDenials(_ denials: [Denial], _ txn: Transaction) throws {
        guard !denials.isEmpty else { return }
        var next = try txn.withCursor(stores.denials) { c in try c.last().map { KeyLayout.readU64($0.key) } ?? 0 }
        for denial in denials {
            next += 1
            try txn.put(stores.denials, key: KeyLayout.u64(next), value: denial.encoded(), flags: .append)
            if let repository = denial.repository, let tag = denial.tag {
                try txn.put(stores.tagDenials, key: HistoryIndex.tagPrefix(repository, tag) + KeyLayout.u64(next), value: [])
            }
        }
    }
}

/// A command waiting for the writer, with its caller's continuation.
final class PendingCommand<C: LedgerCommand>: WriterWork, @unchecked Sendable {
    let command: C
    let context: RequestContext
    let continuation: CheckedContinuation<C.Output, any Error>
    private var outcome: Result<C.Output, any Error>?

    init(_ command: C, _ context: RequestContext, _ continuation: CheckedContinuation<C.Output, any Error>) {
        self.command = command
        self.context = context
        self.continuation = continuation
    }

    var isExclusive: Bool { false }

    func run(_ txn: Transaction, _ writer: Writer, head: inout LogHead) throws {
        let projections = try writer.stores.current(txn)
        let timestamp = writer.timestamp(after: head)
        // What comes back out of the command's nested transaction, whether it commits or not.
        var (newHead, denials) = (head, [Denial]())
        do {
            let output = try txn.nested { child in
                var changes = Changes(txn: child, stores: writer.stores, projections: projections, context: context,
                                      timestamp: timestamp, patterns: writer.patterns, head: head)
                defer { (newHead, denials) = (changes.head, changes.denials) }
                return try command.run(&changes)
            }
            head = newHead
            outcome = .success(output)
        } catch let error as LMDBError {
            throw error  // the transaction is unusable: abort (and grow, when the map is full)
        } catch {
            outcome = .failure(error)
        }
        try writer.recordDenials(denials, txn)
    }

    func complete(commitError: (any Error)?) {
        if let commitError { return continuation.resume(throwing: commitError) }
        switch outcome! {
        case .success(let output): continuation.resume(returning: output)
        case .failure(let error as LedgerError): continuation.resume(throwing: error)
        case .failure(let error): continuation.resume(throwing: LedgerError(.storage, "\(error)"))
        }
    }
}

/// Exclusive work given the whole transaction (rebuild, bulk import).
final class ExclusiveJob<R: Sendable>: WriterWork, @unchecked Sendable {
    let body: (Transaction, Writer, inout LogHead) throws -> R
    let continuation: CheckedContinuation<R, any Error>
    private var result: R?

    init(_ body: @escaping (Transaction, Writer, inout LogHead) throws -> R, _ continuation: CheckedContinuation<R, any Error>) {
        self.body = body
        self.continuation = continuation
    }

    var isExclusive: Bool { true }

    func run(_ txn: Transaction, _ writer: Writer, head: inout LogHead) throws {
        result = try body(txn, writer, &head)
    }

    func complete(commitError: (any Error)?) {
        if let commitError { continuation.resume(throwing: commitError) } else { continuation.resume(returning: result!) }
    }
}

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
