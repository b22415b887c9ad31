/// The group being assembled: the records its commands emitted, chained on ``head``, the
/// manifests they name, and the refusals they met, numbered on from ``lastDenial``.
final class GroupBuilder {
    /// The head the group continues.
    let start: LogHead
    private(set) var head: LogHead
    private(set) var lastDenial: UInt64
    private(set) var log = LogGroup()

    init(head: LogHead, lastDenial: UInt64) {
        self.start = head
        self.head = head
        self.lastDenial = lastDenial
    }

    /// Adds records that continue ``head`` (already applied to the state) and the manifests they
    /// are the first to name.
    func add(_ records: [EventRecord], manifests: [LogGroup.Manifest]) {
        guard let last = records.last else { return }
        precondition(records.first!.seq == head.seq + 1, "records must continue the group's head")
        log.records += records
        log.manifests += manifests
        head = LogHead(seq: last.seq, hash: last.hash, timestamp: last.timestamp)
    }

    /// Numbers `denials` and adds them.
    func add(denials: [Denial]) {
        for denial in denials {
            lastDenial += 1
            log.denials.append((lastDenial, denial))
        }
    }
}
