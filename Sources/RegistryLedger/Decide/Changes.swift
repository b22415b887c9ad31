/// What a command sees and does while it decides: it reads state through ``view`` and records
/// facts with ``emit(_:)``, which chains the event on the log's head and applies it to the view
/// at once, so later reads in the same command see it. Nothing here touches the store: the writer
/// applies and appends what the command emitted only if the command succeeds.
struct Changes {
    let view: CommandView
    let context: CommandContext
    let timestamp: UInt64
    let patterns: PatternCache
    private(set) var head: LogHead
    /// Refusals to record in the denial log, whether or not the command then fails.
    private(set) var denials: [Denial] = []
    /// Events emitted by this command, for the log.
    private(set) var emitted: [EventRecord] = []
    /// Manifests its events are the first to name, for the log.
    private(set) var manifests: [LogGroup.Manifest] = []

    init(view: CommandView, context: CommandContext, timestamp: UInt64, patterns: PatternCache, head: LogHead) {
        self.view = view; self.context = context
        self.timestamp = timestamp; self.patterns = patterns; self.head = head
    }

    /// Chains `event` on the head and applies it to the view.
    mutating func emit(_ event: Event) throws {
        let record = EventRecord(seq: head.seq + 1, timestamp: timestamp, context: context, event: event, prevHash: head.hash)
        try ProjectionWriter(view).applyState(record)
        head = LogHead(seq: record.seq, hash: record.hash, timestamp: timestamp)
        emitted.append(record)
    }

    /// Emits `event`, an `image.pushed` naming `manifest`, and keeps the manifest for the log
    /// when no event before it named it: the log holds each manifest once, under that event's seq.
    mutating func emit(_ event: Event, naming manifest: Manifest) throws {
        try emit(event)
        // Applying the event noted the manifest under its seq unless an earlier event had.
        if try view.manifestSeq(manifest.digest) == head.seq {
            manifests.append(LogGroup.Manifest(seq: head.seq, digest: manifest.digest, bytes: manifest.bytes))
        }
    }

    /// Records a refusal for the denial log and returns the error to throw or report.
    mutating func deny(_ code: LedgerError.Code, _ reason: String, operation: String,
                       repository: RepositoryRef?, tag: String?) -> LedgerError {
        denials.append(Denial(timestamp: timestamp, actor: context.actor, origin: context.origin,
                              requestId: context.requestId, repository: repository, tag: tag,
                              operation: operation, reason: reason, atSeq: head.seq))
        return LedgerError(code, reason)
    }

    /// The repository's record, or `RepositoryNotFoundException`.
    func repository(_ ref: RepositoryRef) throws -> RepoRecord {
        guard let repo = try view.repository(ref) else { throw LedgerError.repositoryNotFound(ref) }
        return repo
    }

    /// The repository's record; a missing one is created first (MUTABLE, default settings) when
    /// `creating`, as a registry-API push creates it (SPEC §8).
    mutating func repository(_ ref: RepositoryRef, creating: Bool) throws -> RepoRecord {
        if creating, try view.repository(ref) == nil { try emit(.repositoryCreated(ref, .default)) }
        return try repository(ref)
    }
}

extension LedgerError {
    static func repositoryNotFound(_ ref: RepositoryRef) -> LedgerError {
        LedgerError(.repositoryNotFound,
                    "The repository with name '\(ref.name)' does not exist in the registry with id '\(ref.registryId)'")
    }

    /// `LifecyclePolicyNotFoundException` for `ref`, worded as ECR words it.
    package static func lifecyclePolicyNotFound(_ ref: RepositoryRef) -> LedgerError {
        LedgerError(.lifecyclePolicyNotFound,
                    "Lifecycle policy does not exist for the repository with name '\(ref.name)' in the registry with id '\(ref.registryId)'")
    }
}
