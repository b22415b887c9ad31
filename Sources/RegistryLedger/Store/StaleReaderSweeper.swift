import Dispatch
import LMDB

/// Frees, every `interval`, the LMDB reader slots of processes that died inside a read
/// transaction (SPEC §6), so that a killed `regledger audit` neither pins old pages — the map
/// would grow under writes for good — nor, with enough of them, fills the reader table.
/// LMDB checks only when an environment opens, or when our own read finds the table full.
final class StaleReaderSweeper: @unchecked Sendable {  // a DispatchSource is thread-safe
    private let timer: any DispatchSourceTimer

    init(_ envs: Environment..., every interval: Double) {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "regledger.stale-readers"))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(100))
        let envs = envs.map { WeakEnvironment(env: $0) }
        timer.setEventHandler { for weak in envs { weak.env?.releaseStaleReaders() } }
        timer.resume()
    }

    /// Stops the timer. A check already under way may still finish; the environment ignores it
    /// once closed.
    func stop() {
        timer.cancel()
    }
}

private struct WeakEnvironment: @unchecked Sendable {
    weak var env: Environment?
}

/// The reader tables of a store's LMDB environments, for monitoring.
public struct ReaderSlotStats: Sendable, Equatable {
    /// Slots held now, by every process that has the store open.
    public let inUse: Int
    /// The tables' size.
    public let capacity: Int
    /// Slots of dead processes this process freed since it opened the store.
    public let staleReleased: Int
}
