import LMDB

/// Work the writer thread runs inside a derived-state write transaction.
protocol WriterWork: AnyObject, Sendable {
    /// Runs alone in its own group instead of joining others, and applies its records to `txn`
    /// itself; a command's records are applied by the writer.
    var isExclusive: Bool { get }
    /// Does the work: a command decides against `view` (the group's state with the group's
    /// accepted commands over it) and, when accepted, applies its events to `view`; exclusive
    /// work writes `txn` (the derived state). Either adds what the log must hold to `group`.
    /// Throws only errors that must abort the whole group (storage errors); its own failures are
    /// kept for ``complete(commitError:)``. Exclusive work may run again from the start when
    /// the map grows.
    func run(_ txn: WriteTransaction, _ view: CommandView, _ writer: Writer, _ group: GroupBuilder) throws
    /// Answers the caller once the group is durable in the log (`nil`) or failed.
    func complete(commitError: (any Error)?)
}

/// A command waiting for the writer, with its caller's continuation.
final class PendingCommand<C: LedgerCommand>: WriterWork, @unchecked Sendable {
    let command: C
    let context: CommandContext
    let continuation: CheckedContinuation<C.Output, any Error>
    private var outcome: Result<C.Output, any Error>?

    init(_ command: C, _ context: CommandContext, _ continuation: CheckedContinuation<C.Output, any Error>) {
        self.command = command
        self.context = context
        self.continuation = continuation
    }

    var isExclusive: Bool { false }

    func run(_ txn: WriteTransaction, _ view: CommandView, _ writer: Writer, _ group: GroupBuilder) throws {
        writer.assertOnWriterThread()
        var changes = Changes(view: CommandView(base: view), context: context, timestamp: writer.timestamp(after: group.head),
                              patterns: writer.patterns, head: group.head)
        // Decide: reads only, and a refusal has nothing to undo.
        do {
            outcome = .success(try command.run(&changes))
        } catch let error as LMDBError {
            throw error  // the transaction is unusable: abort (and grow, when the map is full)
        } catch {
            outcome = .failure(error)
        }
        group.add(denials: changes.denials)
        guard case .success = outcome else { return }
        // Accepted: the group's later commands see its events.
        let applying = ProjectionWriter(view)
        for record in changes.emitted { try applying.applyState(record) }
        group.add(changes.emitted, manifests: changes.manifests)
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

/// Exclusive work given the whole state transaction and group (rebuild, bulk import).
final class ExclusiveJob<R: Sendable>: WriterWork, @unchecked Sendable {
    let body: (WriteTransaction, Writer, GroupBuilder) throws -> R
    let continuation: CheckedContinuation<R, any Error>
    private var result: R?

    init(_ body: @escaping (WriteTransaction, Writer, GroupBuilder) throws -> R, _ continuation: CheckedContinuation<R, any Error>) {
        self.body = body
        self.continuation = continuation
    }

    var isExclusive: Bool { true }

    func run(_ txn: WriteTransaction, _ view: CommandView, _ writer: Writer, _ group: GroupBuilder) throws {
        writer.assertOnWriterThread()
        result = try body(txn, writer, group)
    }

    func complete(commitError: (any Error)?) {
        if let commitError { continuation.resume(throwing: commitError) } else { continuation.resume(returning: result!) }
    }
}

/// A request to follow the log: copy what other nodes appended to a shared log into the local
/// log and the derived state (the writer does it between groups).
final class LogSync: WriterWork, @unchecked Sendable {
    let continuation: CheckedContinuation<Void, any Error>

    init(_ continuation: CheckedContinuation<Void, any Error>) { self.continuation = continuation }

    var isExclusive: Bool { true }

    func run(_ txn: WriteTransaction, _ view: CommandView, _ writer: Writer, _ group: GroupBuilder) throws {
        preconditionFailure("the writer follows the log itself, outside a group")
    }

    func complete(commitError: (any Error)?) {
        if let commitError { continuation.resume(throwing: commitError) } else { continuation.resume() }
    }
}
