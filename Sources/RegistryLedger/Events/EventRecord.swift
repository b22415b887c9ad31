import Foundation
import LMDB
import Crypto

/// One log record: an event in its envelope, chained to the record before it.
///
/// Binary layout (format 1): `u8 format, u64 seq, u64 timestamp µs, str actor, u8 origin,
/// str requestId, u16 type, u8 schema, bytes payload, 32 prevHash` — the *canonical bytes* —
/// then `32 hash`, where hash = SHA-256(canonical bytes), which end with the previous hash.
public struct EventRecord: Sendable, Hashable {
    public static let format: UInt8 = 1
    /// The previous hash of the first record.
    public static let genesisHash = [UInt8](repeating: 0, count: 32)

    public let seq: UInt64
    /// Microseconds since 1970, never decreasing along the log.
    public let timestamp: UInt64
    public let actor: String
    public let origin: Origin
    public let requestId: String
    public let event: Event
    public let prevHash: [UInt8]
    public let hash: [UInt8]
    /// The stored form: canonical bytes followed by the hash (encoded once, when built or read).
    public let encoded: [UInt8]

    /// Builds the record that follows `prevHash`, computing its hash.
    public init(seq: UInt64, timestamp: UInt64, context: CommandContext, event: Event, prevHash: [UInt8]) {
        self.seq = seq
        self.timestamp = timestamp
        self.actor = context.actor
        self.origin = context.origin
        self.requestId = context.requestId
        self.event = event
        self.prevHash = prevHash
        let canonical = Self.canonicalBytes(seq: seq, timestamp: timestamp, actor: actor, origin: origin,
                                            requestId: requestId, event: event, prevHash: prevHash)
        self.hash = Array(SHA256.hash(data: canonical))
        self.encoded = canonical + hash
    }

    private init(seq: UInt64, timestamp: UInt64, actor: String, origin: Origin, requestId: String,
                 event: Event, prevHash: [UInt8], hash: [UInt8], encoded: [UInt8]) {
        self.seq = seq; self.timestamp = timestamp; self.actor = actor; self.origin = origin
        self.requestId = requestId; self.event = event; self.prevHash = prevHash; self.hash = hash; self.encoded = encoded
    }

    static func canonicalBytes(seq: UInt64, timestamp: UInt64, actor: String, origin: Origin,
                               requestId: String, event: Event, prevHash: [UInt8]) -> [UInt8] {
        var w = BinaryWriter(capacity: 192)
        w.u8(format)
        w.u64(seq)
        w.u64(timestamp)
        w.string(actor)
        w.u8(origin.code)
        w.string(requestId)
        w.u16(EventCodec.typeCode(event))
        w.u8(EventCodec.schemaVersion)
        var payload = BinaryWriter()
        EventCodec.encodePayload(event, into: &payload)
        w.data(payload.bytes)
        w.raw(prevHash)
        return w.bytes
    }

    /// The timestamp of a stored record, read from its envelope (format(1), seq(8), timestamp(8))
    /// without decoding the rest; nil when the record is too short to hold one.
    static func timestamp(of buffer: UnsafeRawBufferPointer) -> UInt64? {
        var r = BinaryReader(buffer)
        guard (try? r.u8()) != nil, (try? r.u64()) != nil else { return nil }
        return try? r.u64()
    }

    /// The hash a stored record ends with (a decoded record's stored bytes end with its previous
    /// hash, then its hash): the chain walk reads it without decoding the record again.
    static func hash(ofStored buffer: UnsafeRawBufferPointer) -> Digest {
        Digest(rawPointer: UnsafeRawBufferPointer(rebasing: buffer[(buffer.count - 32)...]))
    }

    /// The previous hash a stored record holds, before its own hash.
    static func previousHash(ofStored buffer: UnsafeRawBufferPointer) -> Digest {
        Digest(rawPointer: UnsafeRawBufferPointer(rebasing: buffer[(buffer.count - 64)..<(buffer.count - 32)]))
    }

    /// Decodes a stored record. With `verifyHash`, also recomputes the hash over the canonical
    /// bytes and rejects a record whose stored hash differs.
    public static func decode(_ buffer: UnsafeRawBufferPointer, verifyHash: Bool = true) throws(DecodingError) -> EventRecord {
        try decode(buffer, verifyHash: verifyHash, envelope: true)
    }

    /// Decodes what replaying a record needs — seq, timestamp, event — with its hash verified,
    /// leaving actor, request id, hashes and stored bytes empty (fewer allocations: time travel).
    /// `cache` lends repository references decoded before from the same bytes.
    static func decodeForReplay(_ buffer: UnsafeRawBufferPointer, cache: DecodingCache? = nil) throws(DecodingError) -> EventRecord {
        try decode(buffer, verifyHash: true, envelope: false, cache: cache)
    }

    private static func decode(_ buffer: UnsafeRawBufferPointer, verifyHash: Bool, envelope: Bool,
                               cache: DecodingCache? = nil) throws(DecodingError) -> EventRecord {
        guard buffer.count > 64 else { throw DecodingError(reason: "record too short") }
        var r = BinaryReader(UnsafeRawBufferPointer(rebasing: buffer[0..<buffer.count - 32]))
        let format = try r.u8()
        guard format == Self.format else { throw DecodingError(reason: "unknown record format \(format)") }
        let seq = try r.u64()
        let timestamp = try r.u64()
        let actor = try envelopeString(&r, keep: envelope)
        guard let origin = Origin(code: try r.u8()) else { throw DecodingError(reason: "unknown origin") }
        let requestId = try envelopeString(&r, keep: envelope)
        let type = try r.u16()
        let version = try r.u8()
        var payload = BinaryReader(try r.dataBuffer())
        let event = try EventCodec.decodePayload(type: type, version: version, from: &payload, cache: cache)
        let prevHash = try r.rawBuffer(32)
        guard r.isAtEnd else { throw DecodingError(reason: "trailing bytes in record") }
        let canonical = UnsafeRawBufferPointer(rebasing: buffer[0..<buffer.count - 32])
        let hash = UnsafeRawBufferPointer(rebasing: buffer[(buffer.count - 32)...])
        if verifyHash, !SHA256.hash(data: canonical).withUnsafeBytes({ $0.elementsEqual(hash) }) {
            throw DecodingError(reason: "hash mismatch")
        }
        return EventRecord(seq: seq, timestamp: timestamp, actor: actor, origin: origin, requestId: requestId, event: event,
                           prevHash: envelope ? Array(prevHash) : [], hash: envelope ? Array(hash) : [],
                           encoded: envelope ? Array(buffer) : [])
    }

    /// A string of the envelope, or "" when it is only skipped.
    private static func envelopeString(_ r: inout BinaryReader, keep: Bool) throws(DecodingError) -> String {
        guard keep else {
            _ = try r.dataBuffer()
            return ""
        }
        return try r.string()
    }
}

/// Repository references decoded lately, lent again when the same bytes come back: a replay
/// decodes many records of comparatively few repositories, and a reference costs two strings and
/// a check of ECR's naming rules. Direct-mapped by a hash of the name (1,024 slots: a log whose
/// events interleave hundreds of repositories still hits); one per walk, never shared.
final class DecodingCache {
    private var slots = [(registry: [UInt8], name: [UInt8], ref: RepositoryRef)?](repeating: nil, count: 1024)

    private static func slot(_ name: UnsafeRawBufferPointer) -> Int {
        var h: UInt32 = 2_166_136_261
        for byte in name { h = (h ^ UInt32(byte)) &* 16_777_619 }
        return Int((h ^ h >> 16) & 1023)
    }

    func repository(_ registry: UnsafeRawBufferPointer, _ name: UnsafeRawBufferPointer) -> RepositoryRef? {
        guard let entry = slots[Self.slot(name)], Self.equal(entry.name, name), Self.equal(entry.registry, registry) else { return nil }
        return entry.ref
    }

    func remember(_ ref: RepositoryRef, _ registry: UnsafeRawBufferPointer, _ name: UnsafeRawBufferPointer) {
        slots[Self.slot(name)] = (Array(registry), Array(name), ref)
    }

    private static func equal(_ kept: [UInt8], _ bytes: UnsafeRawBufferPointer) -> Bool {
        kept.count == bytes.count && kept.withUnsafeBytes { bytes.isEmpty || memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }
    }
}

/// The `log` table's values: a record's stored bytes, decoded with its hash verified.
enum StoredRecord: TableCodec {
    static func encode(_ record: EventRecord) -> [UInt8] { record.encoded }
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> EventRecord { try EventRecord.decode(bytes) }
}
