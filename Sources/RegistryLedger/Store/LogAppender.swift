import Foundation

/// The thread that makes groups durable: it appends a group to the log (its fsync, or a remote
/// log's round trip) while the writer thread applies the same group to derived state. One
/// group at a time; the writer waits for the outcome before it commits the state, so derived
/// state never shows a group the log does not hold.
final class LogAppender: @unchecked Sendable {
    private let log: any LogStore
    private let condition = NSCondition()
    private var pending: LogGroup?
    private var outcome: Result<Void, any Error>?
    private var stopping = false
    private let stopped = DispatchSemaphore(value: 0)
    /// Called on the appender's thread when a group's outcome is known.
    private let onOutcome: @Sendable () -> Void

    init(log: any LogStore, onOutcome: @escaping @Sendable () -> Void) {
        self.log = log
        self.onOutcome = onOutcome
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "regledger-log-appender"
        thread.start()
    }

    /// Starts appending `group`; ``wait()`` gives the outcome. At most one group is in flight.
    func start(_ group: LogGroup) {
        condition.lock()
        precondition(pending == nil && outcome == nil, "a group is already in flight")
        pending = group
        condition.broadcast()
        condition.unlock()
    }

    /// Whether the group last started has its outcome (``wait()`` would not block).
    var hasOutcome: Bool {
        condition.lock()
        defer { condition.unlock() }
        return outcome != nil
    }

    /// The outcome of the group last started: returns once it is durable in the log.
    /// - Throws: why it is not (a ``LogAppendOutcomeUnknown`` is read back first: the group
    ///   either stands and this returns, or it does not and this throws).
    func wait() throws {
        condition.lock()
        while outcome == nil { condition.wait() }
        let result = outcome!
        outcome = nil
        condition.unlock()
        try result.get()
    }

    /// Stops the thread (after the group in flight, if any). Idempotent.
    func stop() {
        condition.lock()
        let first = !stopping
        stopping = true
        condition.broadcast()
        condition.unlock()
        if first { stopped.wait() }
    }

    private func loop() {
        while true {
            condition.lock()
            while pending == nil && !stopping { condition.wait() }
            guard let group = pending else {
                condition.unlock()
                stopped.signal()
                return
            }
            condition.unlock()
            let result = Result { try append(group) }
            condition.lock()
            pending = nil
            outcome = result
            condition.broadcast()
            condition.unlock()
            onOutcome()
        }
    }

    /// Appends `group`; when the log cannot tell whether it did, reads its head back.
    private func append(_ group: LogGroup) throws {
        do {
            try log.append(group)
        } catch let unknown as LogAppendOutcomeUnknown {
            let held: Bool
            if let last = group.records.last {
                let now = try log.head()
                held = now.seq == last.seq && now.hash == last.hash
            } else {
                held = try group.denials.last.map { try log.lastDenial() == $0.number } ?? true
            }
            guard held else { throw LedgerError(.storageFault, "\(unknown); read back, the log does not hold the group: nothing was changed") }
        }
    }
}
