import Foundation

/// A bounded queue from one producer thread to one consumer: the producer waits while
/// `capacity` items are untaken, the consumer while none is there. Made and run by
/// ``pipeline(capacity:name:produce:consume:)``.
final class Handoff<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []
    private var cancelled = false
    private var finished = false
    private let capacity: Int

    private init(capacity: Int) { self.capacity = capacity }

    /// Runs `produce` on a thread of its own, named `name`, while `consume` takes what it puts
    /// here. Returns (or rethrows) only once the producer has returned: when `consume` stops early,
    /// the producer's waiting and later puts return at once, so it should check ``isCancelled``
    /// between long runs of work.
    static func pipeline<R>(capacity: Int = 4, name: String, produce: @escaping @Sendable (Handoff) -> Void,
                            consume: (Handoff) throws -> R) rethrows -> R {
        let handoff = Handoff(capacity: capacity)
        let thread = Thread {
            produce(handoff)
            handoff.finish()
        }
        thread.name = name
        thread.start()
        defer {
            handoff.cancel()
            handoff.waitUntilFinished()
        }
        return try consume(handoff)
    }

    var isCancelled: Bool { condition.withLock { cancelled } }

    /// Waits for room (or cancellation, which drops `item`).
    func put(_ item: Item) {
        condition.withLock {
            while items.count >= capacity && !cancelled { condition.wait() }
            if !cancelled { items.append(item) }
            condition.broadcast()
        }
    }

    /// The next item, waiting for one; nil once the producer has returned and everything it
    /// put has been taken.
    func take() -> Item? {
        condition.withLock {
            while items.isEmpty && !finished { condition.wait() }
            if items.isEmpty { return nil }
            condition.broadcast()
            return items.removeFirst()
        }
    }

    private func cancel() { condition.withLock { cancelled = true; condition.broadcast() } }

    private func finish() { condition.withLock { finished = true; condition.broadcast() } }

    private func waitUntilFinished() { condition.withLock { while !finished { condition.wait() } } }
}

/// Something handed to another thread that the compiler cannot prove safe to send: the code
/// that makes one says why only one thread uses it at a time.
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
}
