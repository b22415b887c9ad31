import Foundation
import LMDB

/// The single thread that owns every write (LMDB requires a write transaction to begin and end
/// on one thread, and never to span an `await`).
///
/// Commands queue up while a group is in flight; the next group takes them all (up to
/// ``maxBatch``). Each command decides against a view of the state (its own events over the
/// group's accepted ones, in memory, over the derived state); a refusal has changed nothing.
/// Then the group's records go to the ``LogAppender`` for one durable append while this thread
/// applies them to the derived-state transaction, which commits (without an fsync of its own)
/// once the append is durable. One durable
/// append answers many callers, and its cost is the log's tail, not the state's pages.
final class Writer: @unchecked Sendable {
    static let maxBatch = 2048

    let log: any LogStore
    private let appender: LogAppender
    /// The local log, which exclusive work reads (rebuild replays it).
    let logEnv: Environment
    let logTables: LogTables
    let state: Environment
    let stateTables: StateTables
    let flusher: StateFlusher
    let patterns = PatternCache()
    private let condition = NSCondition()
    private var queue: [any WriterWork] = []
    private var stopping = false
    private let stopped = DispatchSemaphore(value: 0)
    /// Only touched on the writer thread after start.
    private var head: LogHead
    private var lastDenial: UInt64
    /// The log holds a group the state could not commit: catch up before the next group.
    private var stateBehind = false
    /// The next group, decided while the last one was appended (writer thread only).
    private var decidedAhead: DecidedGroup?
    private let stats: WriterStats
    private let onCommit: (@Sendable (Int) -> Void)?
    /// The thread every write transaction runs on; set when it starts (LMDB requires it).
    private var thread: pthread_t?

    init(log: any LogStore, logEnv: Environment, logTables: LogTables, state: Environment, stateTables: StateTables,
         flusher: StateFlusher, head: LogHead, lastDenial: UInt64, stats: WriterStats, onCommit: (@Sendable (Int) -> Void)?) {
        self.log = log
        let condition = self.condition
        self.appender = LogAppender(log: log) {
            // Wakes the writer deciding ahead.
            condition.lock()
            condition.broadcast()
            condition.unlock()
        }
        self.logEnv = logEnv
        self.logTables = logTables
        self.state = state
        self.stateTables = stateTables
        self.flusher = flusher
        self.head = head
        self.lastDenial = lastDenial
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
        if first {
            stopped.wait()
            appender.stop()
        }
    }

    private func nextBatch() -> [any WriterWork]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !stopping { condition.wait() }
        if queue.isEmpty { return nil }
        if queue[0].isExclusive { return [queue.removeFirst()] }
        return takeCommands()
    }

    /// The commands queued by the time any are, while the group in flight is being appended;
    /// nil once the append has its outcome (or exclusive work comes first).
    private func commandsWhileAppending() -> [any WriterWork]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !stopping && !appender.hasOutcome { condition.wait() }
        return queue.first.map { !$0.isExclusive } == true ? takeCommands() : nil
    }

    /// Takes the commands at the head of the queue, up to ``maxBatch``; the lock must be held.
    private func takeCommands() -> [any WriterWork] {
        let count = min(Self.maxBatch, queue.prefix { !$0.isExclusive }.count)
        let batch = Array(queue.prefix(count))
        queue.removeFirst(count)
        return batch
    }

    /// Puts `batch` back at the head of the queue, to be decided again.
    private func requeue(_ batch: [any WriterWork]) {
        condition.lock()
        queue.insert(contentsOf: batch, at: 0)
        condition.unlock()
    }

    /// Traps unless called on the writer thread: write transactions must begin and end there.
    func assertOnWriterThread() {
        precondition(thread.map { pthread_equal($0, pthread_self()) != 0 } == true, "a write ran off the writer thread")
    }

    private func loop() {
        thread = pthread_self()
        while true {
            // Taken before anything can fail: a batch is answered once, whatever happens to it.
            let ahead = decidedAhead
            decidedAhead = nil
            guard let batch = ahead?.batch ?? nextBatch() else { break }
            if let sync = batch.first as? LogSync {
                do { try syncWithLog(); sync.complete(commitError: nil) } catch {
                    sync.complete(commitError: LedgerError.storage(error, at: logEnv.path, doing: "following the log"))
                }
                continue
            }
            do {
                if stateBehind { try catchUpState() }
                try flusher.committing { try runGroup(batch, decided: ahead?.builder) }
                stats.recordCommit(batchSize: batch.count)
                onCommit?(batch.count)
                conflicts = 0
                for work in batch { work.complete(commitError: nil) }
            } catch let conflict as SharedLogConflict where conflicts < Self.maxConflicts {
                // Another node appended first: nothing of the group was appended. Follow the
                // shared log, then decide the same commands again on what it now holds.
                conflicts += 1
                do {
                    try syncWithLog()
                    requeue(batch)
                } catch {
                    let failure = LedgerError.storage(error, at: logEnv.path, doing: "following the shared log after \(conflict)")
                    for work in batch { work.complete(commitError: failure) }
                }
            } catch {
                let failure = LedgerError.storage(error, at: logEnv.path, doing: "the commit")
                for work in batch { work.complete(commitError: failure) }
            }
        }
        stopped.signal()
    }

    /// Times in a row a group may find the shared log moved on before its commands fail.
    static let maxConflicts = 8
    /// Groups in a row that found the shared log moved on (writer thread only).
    private var conflicts = 0

    /// Applies the local log's records after the state's applied point (through ``head``).
    private func catchUpState() throws {
        _ = try flusher.committing {
            let applied = try state.read { txn in try AppliedPoint.read(txn, stateTables) }
            try DerivedState.catchUp(from: applied, state: state, stateTables, log: logEnv, logTables, through: head.seq)
        }
        stateBehind = false
    }

    /// Copies what the log holds beyond the local log into it (a shared log's records appended
    /// by other nodes) and applies it to the derived state.
    private func syncWithLog() throws {
        assertOnWriterThread()
        let (followed, denial) = try log.follow()
        if followed != head || denial != lastDenial { stateBehind = true }
        (head, lastDenial) = (followed, denial)
        if stateBehind { try catchUpState() }
    }

    /// Decides `batch` (unless it was decided ahead: `decided`), hands its group to the appender, applies the
    /// group to derived state in one transaction meanwhile and decides the commands queued since
    /// (``decidedAhead``: they see this group, which the log is about to hold), and commits the
    /// state once the group is durable in the log. Once the append returned the group stands,
    /// whatever happens to the state's commit; if that fails, the callers get the fault (an answer
    /// must show in what they read next) and the state catches up from the log before the next
    /// group. If the append fails, the group decided ahead goes back to the queue.
    private func runGroup(_ batch: [any WriterWork], decided ahead: GroupBuilder?) throws {
        assertOnWriterThread()
        precondition(ahead.map { $0.start == head } ?? true, "a group decided ahead must continue the log's head")
        var builder = ahead ?? GroupBuilder(head: head, lastDenial: lastDenial)
        var appending = false  // the appender has the group
        var answered = false   // … and has said whether the log holds it
        var appended = false   // … which it does
        do {
            try state.write { txn in
                let dbs = try stateTables.current(txn)
                if !appending {
                    if ahead == nil {
                        builder = GroupBuilder(head: head, lastDenial: lastDenial)
                        let view = CommandView(base: ProjectionReader(txn: txn.reading, dbs: dbs))
                        for work in batch { try work.run(txn, view, self, builder) }
                    }
                    appender.start(builder.log)
                    appending = true
                    if !batch[0].isExclusive {
                        try apply(builder.log.records, txn, dbs)
                        try decideAhead(after: builder, txn, dbs)
                    }
                } else if batch[0].isExclusive && builder.log.isEmpty {
                    // Again, after the state's map grew: a job that appends nothing (a rebuild)
                    // wrote the state itself, so it runs again.
                    let view = CommandView(base: ProjectionReader(txn: txn.reading, dbs: dbs))
                    for work in batch { try work.run(txn, view, self, builder) }
                } else {
                    // Again, after the state's map grew: the group is decided and with the log.
                    try apply(builder.log.records, txn, dbs)
                }
                try DerivedState.index(denials: builder.log.denials, txn, stateTables)
                try AppliedPoint(seq: builder.head.seq, hash: builder.head.hash, denial: builder.lastDenial).write(txn, stateTables)
                if !answered {
                    answered = true
                    // A failed append aborts the state's transaction (nothing changed); wrapped, so
                    // that no error of the log's is taken for the state's own (a full map is retried).
                    do { try appender.wait() } catch { throw AppendFailure(error: error) }
                    appended = true
                }
            }
        } catch {
            // The state failed while the append was in flight: whether the group stands is the log's word.
            if appending && !answered { appended = (try? appender.wait()) != nil }
            if !appended, let next = decidedAhead {
                // Decided on a group the log does not hold: decided again later.
                decidedAhead = nil
                requeue(next.batch)
            }
            if let failure = error as? AppendFailure { throw failure.error }
            guard appended else { throw error }
            // The log holds the group: the head moves on whatever the callers are told.
            (head, lastDenial, stateBehind) = (builder.head, builder.lastDenial, true)
            throw LedgerError.stateBehind(error, at: state.path)
        }
        head = builder.head
        lastDenial = builder.lastDenial
    }

    /// Decides the commands that queue up while `group` is being made durable, against the state
    /// in `txn` (which holds `group`): the next group, ready to append once this one stands.
    private func decideAhead(after group: GroupBuilder, _ txn: WriteTransaction, _ dbs: ProjectionTables) throws {
        precondition(decidedAhead == nil, "a group is decided ahead already")
        let builder = GroupBuilder(head: group.head, lastDenial: group.lastDenial)
        let view = CommandView(base: ProjectionReader(txn: txn.reading, dbs: dbs))
        var batch: [any WriterWork] = []
        while batch.count < Self.maxBatch, let next = commandsWhileAppending() {
            batch += next
            do {
                for work in next { try work.run(txn, view, self, builder) }
            } catch {
                requeue(batch)
                throw error
            }
        }
        if !batch.isEmpty { decidedAhead = DecidedGroup(batch: batch, builder: builder) }
    }

    /// A group decided while the one before it was being made durable.
    struct DecidedGroup {
        let batch: [any WriterWork]
        let builder: GroupBuilder
    }

    /// Why a group's append failed, carried out of the state's transaction.
    private struct AppendFailure: Error {
        let error: any Error
    }

    /// Applies a decided group's records to derived state (apply is total: a throw is a fault).
    private func apply(_ records: [EventRecord], _ txn: WriteTransaction, _ dbs: ProjectionTables) throws {
        let writer = ProjectionWriter(txn: txn, dbs: dbs)
        for record in records { try writer.apply(record) }
    }

    /// The next timestamp: now in µs, never before the log's last one.
    func timestamp(after head: LogHead) -> UInt64 {
        max(UInt64(Date().timeIntervalSince1970 * 1_000_000), head.timestamp)
    }
}
