/// The binary payload encoding of each ``Event`` case: a type code, a schema version, and the
/// fields in a fixed order. Decoding accepts every schema version ever written.
enum EventCodec {
    /// Current schema version of every event type. Bump per type when its fields change, and
    /// keep decoding the old layout.
    static let schemaVersion: UInt8 = 1

    static func typeCode(_ event: Event) -> UInt16 {
        switch event {
        case .repositoryCreated: 1
        case .repositoryDeleted: 2
        case .tagMutabilityChanged: 3
        case .imagePushed: 4
        case .tagSet: 5
        case .tagRemoved: 6
        case .imageDeleted: 7
        case .imageStatusChanged: 8
        case .policyCreated: 9
        case .policyUpdated: 10
        case .policyDeleted: 11
        case .tagFlagChanged: 12
        case .settingsChanged: 13
        case .resourceTagsChanged: 14
        case .lifecyclePolicyChanged: 15
        case .imageExpired: 16
        case .imageTransitioned: 17
        case .blobLinked: 18
        case .blobUnlinked: 19
        }
    }

    static func encodePayload(_ event: Event, into w: inout BinaryWriter) {
        switch event {
        case .repositoryCreated(let r, let m), .tagMutabilityChanged(let r, let m):
            repository(r, &w); mutability(m, &w)
        case .repositoryDeleted(let r):
            repository(r, &w)
        case .imagePushed(let r, let digest, let mediaType, let size, let subject):
            // Flags: 1 a size follows, 2 a subject follows (records before referrers have 0 or 1).
            repository(r, &w); w.digest(digest); w.string(mediaType)
            w.u8((size == nil ? 0 : 1) | (subject == nil ? 0 : 2))
            if let size { w.varint(UInt64(size)) }
            if let subject { w.digest(subject) }
        case .tagSet(let r, let tag, let digest, let previous):
            repository(r, &w); w.string(tag.value); w.digest(digest)
            if let previous { w.u8(1); w.digest(previous) } else { w.u8(0) }
        case .tagRemoved(let r, let tag, let digest):
            repository(r, &w); w.string(tag.value); w.digest(digest)
        case .imageDeleted(let r, let digest):
            repository(r, &w); w.digest(digest)
        case .imageStatusChanged(let r, let digest, let status):
            repository(r, &w); w.digest(digest); w.u8(statusCode(status))
        case .policyCreated(let s, let p), .policyUpdated(let s, let p):
            scope(s, &w); w.string(p.uuid); w.string(p.tagPattern); w.bool(p.tagPatternMatches)
        case .policyDeleted(let s, let uuid):
            scope(s, &w); w.string(uuid)
        case .tagFlagChanged(let r, let tag, let immutable, let cause):
            repository(r, &w); w.string(tag.value); w.bool(immutable)
            switch cause {
            case .manual: w.u8(0)
            case .policy(let uuid, let boundHit): w.u8(1); w.string(uuid); w.bool(boundHit)
            }
        case .settingsChanged(let r, let settings):
            repository(r, &w); Self.settings(settings, &w)
        case .resourceTagsChanged(let r, let tags):
            repository(r, &w); resourceTags(tags, &w)
        case .lifecyclePolicyChanged(let r, let text):
            repository(r, &w); optionalString(text, &w)
        case .imageExpired(let r, let digest, let rule), .imageTransitioned(let r, let digest, let rule):
            repository(r, &w); w.digest(digest); w.varint(UInt64(rule))
        case .blobLinked(let r, let digest, let size):
            repository(r, &w); w.digest(digest); w.varint(UInt64(size))
        case .blobUnlinked(let r, let digest):
            repository(r, &w); w.digest(digest)
        }
    }

    static func decodePayload(type: UInt16, version: UInt8, from r: inout BinaryReader,
                              cache: DecodingCache? = nil) throws(DecodingError) -> Event {
        guard version == 1 else { throw DecodingError(reason: "unknown schema version \(version) of event type \(type)") }
        let event: Event
        switch type {
        case 1: event = .repositoryCreated(try repository(&r, cache), try mutability(&r))
        case 2: event = .repositoryDeleted(try repository(&r, cache))
        case 3: event = .tagMutabilityChanged(try repository(&r, cache), try mutability(&r))
        case 4:
            let repo = try repository(&r, cache), digest = try r.digest(), mediaType = try r.mediaType()
            let flags = try r.u8()
            guard flags <= 3 else { throw DecodingError(reason: "unknown image flags \(flags)") }
            let size: Int64? = flags & 1 != 0 ? Int64(bitPattern: try r.varint()) : nil
            let subject: Digest? = flags & 2 != 0 ? try r.digest() : nil
            event = .imagePushed(repo, digest: digest, mediaType: mediaType, size: size, subject: subject)
        case 5:
            let repo = try repository(&r, cache), tag = try self.tag(&r), digest = try r.digest()
            let previous: Digest? = try r.bool() ? try r.digest() : nil
            event = .tagSet(repo, tag: tag, digest: digest, previous: previous)
        case 6: event = .tagRemoved(try repository(&r, cache), tag: try tag(&r), digest: try r.digest())
        case 7: event = .imageDeleted(try repository(&r, cache), digest: try r.digest())
        case 8: event = .imageStatusChanged(try repository(&r, cache), digest: try r.digest(), status: try status(&r))
        case 9, 10:
            let s = try scope(&r)
            let p = Policy(uuid: try r.string(), tagPattern: try r.string(), tagPatternMatches: try r.bool())
            event = type == 9 ? .policyCreated(s, p) : .policyUpdated(s, p)
        case 11: event = .policyDeleted(try scope(&r), uuid: try r.string())
        case 12:
            let repo = try repository(&r, cache), tag = try self.tag(&r), immutable = try r.bool()
            let cause: FlagCause
            switch try r.u8() {
            case 0: cause = .manual
            case 1: cause = .policy(uuid: try r.string(), boundHit: try r.bool())
            case let c: throw DecodingError(reason: "unknown flag cause \(c)")
            }
            event = .tagFlagChanged(repo, tag: tag, immutable: immutable, cause: cause)
        case 13: event = .settingsChanged(try repository(&r, cache), try settings(&r))
        case 14: event = .resourceTagsChanged(try repository(&r, cache), try resourceTags(&r))
        case 15: event = .lifecyclePolicyChanged(try repository(&r, cache), text: try optionalString(&r))
        case 16, 17:
            let repo = try repository(&r, cache), digest = try r.digest(), rule = try r.varint()
            guard rule >= 1, rule <= 1_000_000 else { throw DecodingError(reason: "rule priority \(rule) out of range") }
            event = type == 16 ? .imageExpired(repo, digest: digest, rulePriority: Int(rule)) : .imageTransitioned(repo, digest: digest, rulePriority: Int(rule))
        case 18:
            let repo = try repository(&r, cache), digest = try r.digest(), size = try r.varint()
            guard size <= UInt64(Int64.max) else { throw DecodingError(reason: "blob size \(size) out of range") }
            event = .blobLinked(repo, digest: digest, size: Int64(size))
        case 19: event = .blobUnlinked(try repository(&r, cache), digest: try r.digest())
        default:
            throw DecodingError(reason: "unknown event type \(type)")
        }
        guard r.isAtEnd else { throw DecodingError(reason: "\(r.remaining) trailing bytes in payload") }
        return event
    }

    // MARK: fields

    private static func repository(_ ref: RepositoryRef, _ w: inout BinaryWriter) {
        w.string(ref.registryId.value); w.string(ref.name.value)
    }

    // Decoded names were validated when written; a record that breaks a rule is malformed.
    private static func repository(_ r: inout BinaryReader, _ cache: DecodingCache?) throws(DecodingError) -> RepositoryRef {
        let registry = try r.dataBuffer(), name = try r.dataBuffer()
        if let ref = cache?.repository(registry, name) { return ref }
        let ref: RepositoryRef
        do {
            ref = RepositoryRef(registryId: try RegistryId(try BinaryReader.string(registry)),
                                name: try RepositoryName(try BinaryReader.string(name)))
        } catch {
            throw DecodingError(reason: "invalid repository in record")
        }
        cache?.remember(ref, registry, name)
        return ref
    }

    private static func tag(_ r: inout BinaryReader) throws(DecodingError) -> Tag {
        do { return try Tag(try r.string()) } catch let e as DecodingError { throw e } catch {
            throw DecodingError(reason: "invalid tag in record")
        }
    }

    private static func mutability(_ m: TagMutability, _ w: inout BinaryWriter) {
        w.u8(UInt8(TagMutability.Mode.allCases.firstIndex(of: m.mode)!))
        w.varint(UInt64(m.filters.count))
        for f in m.filters { w.string(f.filter) }
    }

    private static func mutability(_ r: inout BinaryReader) throws(DecodingError) -> TagMutability {
        let code = Int(try r.u8())
        guard code < TagMutability.Mode.allCases.count else { throw DecodingError(reason: "unknown mutability mode \(code)") }
        let count = try r.varint()
        guard count <= 5 else { throw DecodingError(reason: "too many filters") }
        var filters: [WildcardFilter] = []
        for _ in 0..<count { filters.append(WildcardFilter(unchecked: try r.string())) }
        return TagMutability(uncheckedMode: TagMutability.Mode.allCases[code], filters: filters)
    }

    /// Scan on push, the encryption type's code (its place in `EncryptionType.allCases`), the KMS key if any.
    static func settings(_ s: RepositorySettings, _ w: inout BinaryWriter) {
        w.bool(s.scanOnPush)
        w.u8(UInt8(EncryptionConfiguration.EncryptionType.allCases.firstIndex(of: s.encryption.type)!))
        if let key = s.encryption.kmsKey { w.u8(1); w.string(key) } else { w.u8(0) }
    }

    static func settings(_ r: inout BinaryReader) throws(DecodingError) -> RepositorySettings {
        let scanOnPush = try r.bool(), code = Int(try r.u8())
        guard code < EncryptionConfiguration.EncryptionType.allCases.count else { throw DecodingError(reason: "unknown encryption type \(code)") }
        let key: String? = try r.bool() ? try r.string() : nil
        return RepositorySettings(scanOnPush: scanOnPush,
                                  encryption: EncryptionConfiguration(uncheckedType: EncryptionConfiguration.EncryptionType.allCases[code], kmsKey: key))
    }

    static func optionalString(_ s: String?, _ w: inout BinaryWriter) {
        if let s { w.u8(1); w.string(s) } else { w.u8(0) }
    }

    static func optionalString(_ r: inout BinaryReader) throws(DecodingError) -> String? {
        try r.bool() ? try r.string() : nil
    }

    static func resourceTags(_ tags: [ResourceTag], _ w: inout BinaryWriter) {
        w.varint(UInt64(tags.count))
        for t in tags { w.string(t.key); w.string(t.value) }
    }

    static func resourceTags(_ r: inout BinaryReader) throws(DecodingError) -> [ResourceTag] {
        let count = try r.varint()
        guard count <= UInt64(ResourceTag.maxPerRepository) else { throw DecodingError(reason: "too many resource tags") }
        var tags: [ResourceTag] = []
        for _ in 0..<count { tags.append(ResourceTag(uncheckedKey: try r.string(), value: try r.string())) }
        return tags
    }

    private static func scope(_ s: PolicyScope, _ w: inout BinaryWriter) {
        switch s {
        case .organization(let reg, let org): w.u8(0); w.string(reg.value); w.string(org)
        case .repository(let reg, let name): w.u8(1); w.string(reg.value); w.string(name.value)
        }
    }

    private static func scope(_ r: inout BinaryReader) throws(DecodingError) -> PolicyScope {
        let kind = try r.u8(), registry = try r.string(), name = try r.string()
        do {
            switch kind {
            case 0: return .organization(try RegistryId(registry), name)
            case 1: return .repository(try RegistryId(registry), try RepositoryName(name))
            default: throw DecodingError(reason: "unknown policy scope \(kind)")
            }
        } catch let e as DecodingError { throw e } catch {
            throw DecodingError(reason: "invalid policy scope in record")
        }
    }

    /// An image status's one-byte code (0 active, 1 archived, 2 activating).
    static func statusCode(_ s: ImageStatus) -> UInt8 {
        switch s {
        case .active: 0
        case .archived: 1
        case .activating: 2
        }
    }

    static func status(code: UInt8) throws(DecodingError) -> ImageStatus {
        switch code {
        case 0: .active
        case 1: .archived
        case 2: .activating
        default: throw DecodingError(reason: "unknown image status \(code)")
        }
    }

    private static func status(_ r: inout BinaryReader) throws(DecodingError) -> ImageStatus {
        try status(code: try r.u8())
    }
}
