import Foundation

/// A bounded queue from producer threads to one consumer: a producer waits while `capacity`
/// items are untaken, the consumer while none is there. Made and run by
/// ``pipeline(capacity:name:produce:consume:)``.
final class Handoff<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []
    private var cancelled = false
    /// Producers that have not returned yet.
    private var running: Int
    private let capacity: Int

    private init(capacity: Int, producers: Int) { (self.capacity, running) = (capacity, producers) }

    /// Runs `produce` on a thread of its own, named `name`, while `consume` takes what it puts
    /// here. Returns (or rethrows) only once the producer has returned: when `consume` stops early,
    /// the producer's waiting and later puts return at once, so it should check ``isCancelled``
    /// between long runs of work.
    static func pipeline<R>(capacity: Int = 4, name: String, produce: @escaping @Sendable (Handoff) -> Void,
                            consume: (Handoff) throws -> R) rethrows -> R {
        try pipeline(capacity: capacity, name: name, producers: 1, produce: { _, handoff in produce(handoff) }, consume: consume)
    }

    /// Like ``pipeline(capacity:name:produce:consume:)`` with `producers` threads, named `name`
    /// and their index, each running `produce` with its index; items from different producers
    /// interleave. `take` gives nil once all have returned and everything is taken.
    static func pipeline<R>(capacity: Int = 4, name: String, producers: Int, produce: @escaping @Sendable (Int, Handoff) -> Void,
                            consume: (Handoff) throws -> R) rethrows -> R {
        let handoff = Handoff(capacity: capacity, producers: producers)
        for index in 0..<producers {
            let thread = Thread {
                produce(index, handoff)
                handoff.finishOne()
            }
            thread.name = producers == 1 ? name : "\(name)-\(index)"
            thread.start()
        }
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

    /// The next item, waiting for one; nil once the producers have returned and everything they
    /// put has been taken.
    func take() -> Item? {
        condition.withLock {
            while items.isEmpty && running > 0 { condition.wait() }
            if items.isEmpty { return nil }
            condition.broadcast()
            return items.removeFirst()
        }
    }

    private func cancel() { condition.withLock { cancelled = true; condition.broadcast() } }

    private func finishOne() { condition.withLock { running -= 1; condition.broadcast() } }

    private func waitUntilFinished() { condition.withLock { while running > 0 { condition.wait() } } }
}

/// Something handed to another thread that the compiler cannot prove safe to send: the code
/// that makes one says why only one thread uses it at a time.
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
}
