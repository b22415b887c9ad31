import Crypto
import LMDB

/// What ``Ledger/verify(chunkSize:)`` found.
public struct VerificationReport: Sendable {
    /// The head when verification started; later appends are not covered.
    public let headSeq: UInt64
    public let eventsVerified: UInt64
    public let manifestsVerified: Int
    /// The digest of the store's projections at `headSeq`.
    public let storedDigest: String
    /// The digest of projections replayed from the log; nil when the chain broke first.
    public let replayedDigest: String?
    /// The first seq whose record, hash or chain link does not verify, or which names a manifest
    /// whose bytes no longer match its digest.
    public let firstBadSeq: UInt64?
    /// Every problem found, for people.
    public let problems: [String]

    public var isValid: Bool { problems.isEmpty }
}

extension Ledger {
    /// Proves the store untampered: walks the hash chain, replays the log in memory (as rebuild
    /// does) and compares the digest of the projections it yields with the store's, and checks
    /// every stored manifest against its digest. Reads in chunks of at most `chunkSize` records,
    /// each in its own read transaction, so it never holds old pages for long and works while
    /// another process writes; `progress` hears every `chunkSize` records.
    public func verify(chunkSize: UInt64 = 50_000, progress: ((UInt64, UInt64) -> Void)? = nil) throws -> VerificationReport {
        // The stored state's digest (at the point it reflects) and the manifests are checked on a
        // thread of their own while this one folds the log: they read other pages than the fold.
        try Handoff<BackgroundCheck>.pipeline(capacity: 3, name: "regledger.verify-checks", produce: { [self] handoff in
            do {
                try readBoth { stxn, ltxn in
                    handoff.put(.point(head: try LMDBLogStore.head(ltxn, logTables).seq, applied: try AppliedPoint.read(stxn, stateTables).seq))
                    handoff.put(.storedDigest(try StateDigest.compute(stxn, try stateTables.current(stxn))))
                }
                let (count, bad) = try verifyManifests()
                handoff.put(.manifests(count: count, bad: bad))
            } catch {
                handoff.put(.failed(error))
            }
        }, consume: { handoff in
            guard case .point(let head, let applied) = try BackgroundCheck.next(handoff) else { throw BackgroundCheck.outOfOrder }
            var problems: [String] = []
            var firstBad: UInt64?
            var verified: UInt64 = 0
            // The log folds in memory as rebuild folds it; the manifests kept at its tail are
            // checked against the events as they are read.
            var replayed: StateDigest?
            let tailManifests = logTables.manifestLog.map(ManifestCheck.init)
            do {
                let fold = try LogFold.fold(logEnv, logTables.log, through: head, applying: applied, chunk: min(chunkSize, 8192),
                                            checking: tailManifests) { seq in
                    if seq / chunkSize > verified / chunkSize || seq == head { progress?(seq, head) }
                    verified = seq
                }
                replayed = try fold.stateDigest()
                fold.free()
            } catch let corruption as LogCorruption {
                firstBad = corruption.seq
                problems.append(corruption.description)
            }
            guard case .storedDigest(let storedDigest) = try BackgroundCheck.next(handoff),
                  case .manifests(let manifests, let badDigests) = try BackgroundCheck.next(handoff) else { throw BackgroundCheck.outOfOrder }
            if let replayed, replayed != storedDigest {
                let tables = replayed.tablesDiffering(from: storedDigest).map { "\($0)" }.joined(separator: ", ")
                problems.append("the store's projections (digest \(storedDigest.hex.prefix(16))…) differ from a replay of the log (\(replayed.hex.prefix(16))…) "
                                + "in \(tables); run `regledger rebuild`")
            }
            for digest in badDigests {
                let seq = try firstSeq(naming: digest, through: head)
                if let seq { firstBad = min(firstBad ?? seq, seq) }
                problems.append("manifest \(digest) no longer hashes to its digest" + (seq.map { " (pushed at seq \($0))" } ?? ""))
            }
            for seq in tailManifests?.badSeqs ?? [] {
                firstBad = min(firstBad ?? seq, seq)
                problems.append("the manifest stored at seq \(seq) does not hash to the digest the event there names")
            }
            return VerificationReport(headSeq: head, eventsVerified: verified, manifestsVerified: manifests + (tailManifests?.checked ?? 0),
                                      storedDigest: storedDigest.hex, replayedDigest: replayed?.hex, firstBadSeq: firstBad, problems: problems)
        })
    }

    /// What the checking thread of ``verify(chunkSize:progress:)`` hands over, in this order.
    private enum BackgroundCheck {
        case point(head: UInt64, applied: UInt64)
        case storedDigest(StateDigest)
        case manifests(count: Int, bad: [Digest])
        case failed(any Error)

        static let outOfOrder = LedgerError(.storage, "verification's checking thread answered out of order")

        /// The next item, rethrowing the thread's error.
        static func next(_ handoff: Handoff<BackgroundCheck>) throws -> BackgroundCheck {
            guard let item = handoff.take() else { throw outOfOrder }
            if case .failed(let error) = item { throw error }
            return item
        }
    }

    /// Checks every manifest stored by digest (``LogTables/manifests``): returns how many and the
    /// digests that fail. Reads 10,000 at a time, each in its own read transaction, so that no old
    /// pages are held for long.
    private func verifyManifests() throws -> (Int, [Digest]) {
        var (count, bad) = (0, [Digest]())
        var resume: Digest?
        repeat {
            resume = try logEnv.read { txn -> Digest? in
                try txn.withCursor(logTables.manifests) { c in
                    var entry = try resume.map { try c.seek(atOrAfter: $0) } ?? c.first()
                    var n = 0
                    while let e = entry {
                        let digest = try e.key()
                        if n == 10_000 { return digest }
                        if Digest(of: e.rawValue) != digest { bad.append(digest) }
                        (count, n) = (count + 1, n + 1)
                        entry = try c.next()
                    }
                    return nil
                }
            }
        } while resume != nil
        return (count, bad)
    }

    /// The first `image.pushed` event naming `digest` (a scan: only run when something is wrong).
    private func firstSeq(naming digest: Digest, through head: UInt64) throws -> UInt64? {
        try logEnv.read { txn in
            var found: UInt64?
            struct Found: Error {}
            do {
                try LogReplay.forEach(txn, logTables.log, through: head) { record in
                    if case .imagePushed(_, let d, _, _, _) = record.event, d == digest { found = record.seq; throw Found() }
                }
            } catch is Found {} catch is LogCorruption {}
            return found
        }
    }
}

extension Ledger {
    /// Checks the newest `recent` log records: each one's hash and its link to the record
    /// before. A start-up check that costs milliseconds; ``verify(chunkSize:progress:)`` checks all.
    ///
    /// - Throws: ``LogCorruption`` naming the first seq that does not verify.
    public func verifyHead(recent: UInt64 = 1024) throws {
        try logEnv.read { txn in
            let head = try LMDBLogStore.head(txn, logTables).seq
            guard head > 0 else { return }
            try LogReplay.forEach(txn, logTables.log, from: head > recent ? head - recent + 1 : 1, through: head) { _ in }
        }
    }
}
