import Foundation

/// The log several nodes share (cluster mode, SPEC §7): what the log boundary needs from a
/// remote log, in the bytes the local log stores. A node appends to it when it writes, copies it
/// into its local log to follow it, and checks its local copy against it. Implemented by the
/// PostgreSQL log (module `RegistryLedgerPostgres`); nothing above the boundary knows which.
///
/// The remote log itself refuses what would break the chain — a record that does not continue
/// its head, with ``SharedLogConflict`` — so no writer, however stale, can fork it.
@_spi(Cluster) public protocol SharedLog: AnyObject, Sendable {
    /// The last record's seq and hash (seq 0 and the genesis hash when empty).
    func head() throws -> (seq: UInt64, hash: [UInt8])
    /// The number of the last refusal in the shared denial log (0 when none).
    func lastDenial() throws -> UInt64
    /// Appends `group` in one transaction, all or nothing.
    ///
    /// - Throws: ``SharedLogConflict`` when the log no longer ends where the group starts (another
    ///   writer appended: nothing happened); ``LogAppendOutcomeUnknown`` when the connection broke
    ///   while committing (the caller reads ``head()`` back); any other error: nothing happened.
    func append(_ group: SharedLogGroup) throws
    /// The stored records after `seq`, in seq order, at most `limit`.
    func records(after seq: UInt64, limit: Int) throws -> [SharedLogGroup.Record]
    /// The refusals numbered after `number`, in order, at most `limit`.
    func denials(after number: UInt64, limit: Int) throws -> [SharedLogGroup.Denial]
    /// The stored manifests among `digests` (raw 32-byte SHA-256 digests).
    func manifests(_ digests: [[UInt8]]) throws -> [SharedLogGroup.Manifest]
    /// The store's identity: the one recorded, or `proposed` when none is yet (the first node
    /// to start records its own).
    func identity(proposing proposed: SharedLogIdentity) throws -> SharedLogIdentity
}

/// What one group commit appends to a shared log, as the local log stores it.
@_spi(Cluster) public struct SharedLogGroup: Sendable {
    public struct Record: Sendable, Equatable {
        public let seq: UInt64
        public let previousHash: [UInt8]
        public let hash: [UInt8]
        /// The record exactly as the local log stores it (its canonical bytes, then its hash).
        public let bytes: [UInt8]
        public init(seq: UInt64, previousHash: [UInt8], hash: [UInt8], bytes: [UInt8]) {
            (self.seq, self.previousHash, self.hash, self.bytes) = (seq, previousHash, hash, bytes)
        }
    }

    public struct Manifest: Sendable, Equatable {
        /// SHA-256 of `bytes`.
        public let digest: [UInt8]
        public let bytes: [UInt8]
        public init(digest: [UInt8], bytes: [UInt8]) { (self.digest, self.bytes) = (digest, bytes) }
    }

    public struct Denial: Sendable, Equatable {
        public let number: UInt64
        public let bytes: [UInt8]
        public init(number: UInt64, bytes: [UInt8]) { (self.number, self.bytes) = (number, bytes) }
    }

    public var records: [Record]
    public var manifests: [Manifest]
    public var denials: [Denial]

    public init(records: [Record] = [], manifests: [Manifest] = [], denials: [Denial] = []) {
        (self.records, self.manifests, self.denials) = (records, manifests, denials)
    }
}

/// Who a store is: the registry it answers for when a request names none, and the key its page
/// tokens are sealed with. Every node of a cluster must share it.
@_spi(Cluster) public struct SharedLogIdentity: Sendable, Equatable {
    public let defaultRegistryId: String
    public let tokenSecret: [UInt8]
    public init(defaultRegistryId: String, tokenSecret: [UInt8]) {
        (self.defaultRegistryId, self.tokenSecret) = (defaultRegistryId, tokenSecret)
    }
}

/// The shared log does not end where the group starts: another writer appended first. Nothing
/// of the group was appended; the node catches up and decides again.
@_spi(Cluster) public struct SharedLogConflict: Error, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "the shared log moved on: \(reason)" }
}

extension SharedLogGroup {
    /// `group` as a shared log stores it.
    init(_ group: LogGroup) {
        self.init(records: group.records.map { Record(seq: $0.seq, previousHash: $0.prevHash, hash: $0.hash, bytes: $0.encoded) },
                  manifests: group.manifests.map { Manifest(digest: $0.digest.rawBytes, bytes: $0.bytes) },
                  denials: group.denials.map { Denial(number: $0.number, bytes: $0.denial.encoded()) })
    }
}
