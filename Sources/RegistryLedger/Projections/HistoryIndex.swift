import Crypto
import LMDB

/// Indexes that make history cheap to read, maintained by ``ProjectionWriter`` as events apply
/// (the tables: ``ProjectionTables``): `repoEvents` (a repository's events as ``SeqRun`` rows),
/// `tagEvents` (one tag's events) and `repoHistory` (every repository ever known).
///
/// They are keyed by a repository's *history id* (``HistoryIdKey``): fixed-size (a
/// 256-character name and a 300-character tag would pass LMDB's 511-byte key limit) and the
/// same across a deletion and re-creation, so one tag's history spans both. The state at a
/// point comes from the temporal index, ``Versions``.
enum HistoryIndex {
    /// Records `record` in the indexes; runs before the event is applied. A repository deletion
    /// is indexed under every tag it removes, and a lifecycle action under every tag of its
    /// image, so each tag's history shows them.
    /// `historyId` is ``HistoryIdKey/of(_:)`` of the event's repository, computed once by the caller.
    static func index(_ record: EventRecord, historyId hid: [UInt8]?, _ store: some HistoryStore) throws {
        let seq = record.seq
        if let ref = record.event.repository, let hid {
            try store.indexRepositoryEvent(historyId: hid, seq: seq)
            if let tag = record.event.tag { try store.indexTagEvent(historyId: hid, tag: tag, seq: seq) }
            if case .repositoryDeleted = record.event, let repo = try store.repository(ref) {
                for tag in try store.tagNames(repo.repoId) { try store.indexTagEvent(historyId: hid, tag: tag, seq: seq) }
            }
            switch record.event {
            case .imageExpired(_, let digest, _), .imageTransitioned(_, let digest, _):
                if let repo = try store.repository(ref), let image = try store.image(repo.repoId, digest) {
                    for tag in image.tags { try store.indexTagEvent(historyId: hid, tag: tag, seq: seq) }
                }
            default: break
            }
        }
        if case .repositoryCreated(let ref, _) = record.event, let hid { try store.noteRepository(historyId: hid, ref) }
    }
}

extension Event {
    /// The tag the event concerns, if it concerns one.
    public var tag: String? {
        switch self {
        case .tagSet(_, let t, _, _), .tagRemoved(_, let t, _), .tagFlagChanged(_, let t, _, _): t.value
        default: nil
        }
    }
}
