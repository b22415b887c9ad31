import Foundation
import Logging
import RegistryLedger

/// Completes restores from the archive: an image moved to STANDARD is ACTIVATING until the
/// configured delay has passed, then this issues `completeActivation` (an `image.activated`
/// event by the actor `regledger`, carrying the restoring request's id).
///
/// Pending activations live only in memory; at start ``resumePending()`` finds images left
/// ACTIVATING by an earlier run in the default registry and gives each the full delay again.
public final class ActivationScheduler: Sendable {
    /// The actor of `image.activated` events.
    public static let actor = "regledger"

    let ledger: Ledger
    let delay: Duration
    let logger: Logger
    private let tasks = TaskSet()

    public init(ledger: Ledger, delaySeconds: Double, logger: Logger) {
        self.ledger = ledger
        self.delay = .milliseconds(Int64(delaySeconds * 1000))
        self.logger = logger
    }

    /// Completes the activation of `digest` in `ref` after the delay.
    public func schedule(_ ref: RepositoryRef, digest: Digest, requestId: String) {
        tasks.start { [ledger, delay, logger] in
            try? await Task.sleep(for: delay)
            if Task.isCancelled { return }
            let context = CommandContext(actor: Self.actor, origin: .ecr, requestId: requestId)
            do {
                _ = try await ledger.completeActivation(ref, digest: digest, context: context)
            } catch let error as LedgerError where error.code != .storage {
                // Deleted, archived again or already active meanwhile: nothing left to complete.
                logger.debug("activation not completed", metadata: ["repository": "\(ref.name)", "digest": "\(digest)", "reason": "\(error.message)"])
            } catch {
                logger.error("activation failed", metadata: ["repository": "\(ref.name)", "digest": "\(digest)", "error": "\(error)"])
            }
        }
    }

    /// Schedules every image of the default registry that is ACTIVATING now.
    public func resumePending() throws {
        var repositoryToken: String?
        repeat {
            let repositories = try ledger.describeRepositories(maxResults: 1000, nextToken: repositoryToken)
            for repository in repositories.items {
                let ref = RepositoryRef(registryId: repository.registryId, name: repository.name)
                // The listing index carries each entry's status, so this reads no image records;
                // an image with several tags is listed once per tag.
                var scheduled = Set<Digest>()
                var imageToken: String?
                repeat {
                    let entries = try ledger.listImages(ref, filter: ImageFilter(imageStatus: .activating),
                                                        maxResults: 1000, nextToken: imageToken)
                    for entry in entries.items where scheduled.insert(entry.digest).inserted {
                        schedule(ref, digest: entry.digest, requestId: "resumed")
                    }
                    imageToken = entries.nextToken
                } while imageToken != nil
            }
            repositoryToken = repositories.nextToken
        } while repositoryToken != nil
    }

    /// Cancels the activations still waiting (at shutdown; they resume at the next start).
    public func cancelAll() { tasks.cancelAll() }
}

/// Unstructured tasks that can be cancelled together; each removes itself when done.
final class TaskSet: @unchecked Sendable {
    private let lock = NSLock()
    private var tasks: [UInt64: Task<Void, Never>] = [:]
    private var next: UInt64 = 0
    private var cancelled = false

    func start(_ body: @escaping @Sendable () async -> Void) {
        lock.lock(); defer { lock.unlock() }
        guard !cancelled else { return }
        next += 1
        let id = next
        tasks[id] = Task { [weak self] in
            await body()
            self?.finish(id)
        }
    }

    private func finish(_ id: UInt64) {
        lock.lock(); defer { lock.unlock() }
        tasks[id] = nil
    }

    func cancelAll() {
        lock.lock()
        cancelled = true
        let all = Array(tasks.values)
        tasks = [:]
        lock.unlock()
        for task in all { task.cancel() }
    }
}
