import LMDB

/// A refused mutation, kept in the denial log.
public struct Denial: Sendable, Hashable {
    public let timestamp: UInt64
    public let actor: String
    public let origin: Origin
    public let requestId: String
    public let repository: RepositoryRef?
    public let tag: String?
    /// What was attempted, e.g. `PutImage`.
    public let operation: String
    public let reason: String
    /// The log's head seq when the attempt was refused.
    public let atSeq: UInt64

    func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.u64(timestamp); w.string(actor); w.u8(origin.code); w.string(requestId)
        if let repository { w.u8(1); w.string(repository.registryId.value); w.string(repository.name.value) } else { w.u8(0) }
        if let tag { w.u8(1); w.string(tag) } else { w.u8(0) }
        w.string(operation); w.string(reason); w.u64(atSeq)
        return w.bytes
    }

    static func decode(_ b: UnsafeRawBufferPointer) throws(DecodingError) -> Denial {
        var r = BinaryReader(b)
        let ts = try r.u64(), actor = try r.string()
        guard let origin = Origin(code: try r.u8()) else { throw DecodingError(reason: "unknown origin") }
        let requestId = try r.string()
        let repository: RepositoryRef? = try r.bool()
            ? RepositoryRef(registryId: RegistryId(unchecked: try r.string()), name: RepositoryName(unchecked: try r.string()))
            : nil
        let tag: String? = try r.bool() ? try r.string() : nil
        return Denial(timestamp: ts, actor: actor, origin: origin, requestId: requestId, repository: repository,
                      tag: tag, operation: try r.string(), reason: try r.string(), atSeq: try r.u64())
    }
}

/// The denial log's values.
enum StoredDenial: TableCodec {
    static func encode(_ denial: Denial) -> [UInt8] { denial.encoded() }
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> Denial { try Denial.decode(bytes) }
}
