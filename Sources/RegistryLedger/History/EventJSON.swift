import Foundation

/// The JSON Lines form of log records (export, import, `audit log`):
/// `{"seq","timestamp","actor","origin","requestId","type","schemaVersion","registryId",
/// "repositoryName" (when the event has one),"payload":{…},"prevHash","hash"}`.
/// Hashes are lowercase hex; `timestamp` is ISO 8601 UTC with microseconds. With manifests,
/// `image.pushed` payloads carry the manifest bytes (base64) so that an import is self-contained.
package enum EventJSON {
    /// One record as a JSON object (one line, keys sorted).
    package static func line(_ record: EventRecord, manifest: [UInt8]? = nil) -> String {
        var object: [String: Any] = [
            "seq": record.seq, "timestamp": ISO8601.format(record.timestamp), "actor": record.actor,
            "origin": record.origin.rawValue, "requestId": record.requestId, "type": record.event.typeName,
            "schemaVersion": Int(EventCodec.schemaVersion), "registryId": record.event.registryId.value,
            "prevHash": hex(record.prevHash), "hash": hex(record.hash),
        ]
        if let repo = record.event.repository { object["repositoryName"] = repo.name.value }
        var payload = payload(record.event)
        if let manifest { payload["manifest"] = Data(manifest).base64EncodedString() }
        object["payload"] = payload
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses one line back into a record (its hash recomputed and checked against `hash`) and
    /// the manifest it carries, if any.
    /// - Throws: `InvalidParameterException` saying what is wrong with the line.
    package static func parse(_ line: String) throws -> (EventRecord, [UInt8]?) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
            throw LedgerError.invalid("not a JSON object")
        }
        let f = JSONObject(object)
        let seq = try f.uint("seq")
        guard let timestamp = ISO8601.parse(try f.string("timestamp")) else { throw LedgerError.invalid("seq \(seq): bad timestamp") }
        guard let origin = Origin(rawValue: try f.string("origin")) else { throw LedgerError.invalid("seq \(seq): unknown origin") }
        guard try f.uint("schemaVersion") == UInt64(EventCodec.schemaVersion) else {
            throw LedgerError.invalid("seq \(seq): unknown schema version")
        }
        let payload = try f.object("payload")
        let registry = try RegistryId(try f.string("registryId"))
        let event = try self.event(type: try f.string("type"), registry: registry, repositoryName: f.optionalString("repositoryName"), payload)
        let context = CommandContext(actor: try f.string("actor"), origin: origin, requestId: try f.string("requestId"))
        let record = EventRecord(seq: seq, timestamp: timestamp, context: context, event: event, prevHash: try unhex(try f.string("prevHash")))
        guard hex(record.hash) == (try f.string("hash")) else { throw LedgerError.invalid("seq \(seq): the hash does not match the record") }
        let manifest = try payload.optionalString("manifest").map { b64 -> [UInt8] in
            guard let d = Data(base64Encoded: b64) else { throw LedgerError.invalid("seq \(seq): bad manifest encoding") }
            return Array(d)
        }
        return (record, manifest)
    }

    /// The event's payload fields, as in the JSON form.
    package static func payload(_ event: Event) -> [String: Any] {
        func mutability(_ m: TagMutability) -> [String: Any] {
            ["imageTagMutability": m.mode.rawValue,
             "imageTagMutabilityExclusionFilters": m.filters.map { ["filterType": WildcardFilter.filterType, "filter": $0.filter] }]
        }
        func scope(_ s: PolicyScope) -> [String: Any] {
            switch s {
            case .organization(_, let org): ["scope": "organization", "organization": org]
            case .repository: ["scope": "repository"]
            }
        }
        switch event {
        case .repositoryCreated(_, let m), .tagMutabilityChanged(_, let m): return mutability(m)
        case .repositoryDeleted: return [:]
        case .imagePushed(_, let digest, let mediaType, let size, let subject):
            var p: [String: Any] = ["imageDigest": digest.description, "mediaType": mediaType]
            if let size { p["imageSize"] = size }
            if let subject { p["subject"] = subject.description }
            return p
        case .tagSet(_, let tag, let digest, let previous):
            var p: [String: Any] = ["imageTag": tag.value, "imageDigest": digest.description]
            if let previous { p["previousDigest"] = previous.description }
            return p
        case .tagRemoved(_, let tag, let digest): return ["imageTag": tag.value, "imageDigest": digest.description]
        case .imageDeleted(_, let digest): return ["imageDigest": digest.description]
        case .imageStatusChanged(_, let digest, let status): return ["imageDigest": digest.description, "imageStatus": status.rawValue]
        case .policyCreated(let s, let p), .policyUpdated(let s, let p):
            return scope(s).merging(["uuid": p.uuid, "tagPattern": p.tagPattern, "tagPatternMatches": p.tagPatternMatches]) { a, _ in a }
        case .policyDeleted(let s, let uuid): return scope(s).merging(["uuid": uuid]) { a, _ in a }
        case .tagFlagChanged(_, let tag, let immutable, let cause):
            var p: [String: Any] = ["imageTag": tag.value, "immutable": immutable]
            switch cause {
            case .manual: p["cause"] = "manual"
            case .policy(let uuid, let boundHit): p["cause"] = "policy"; p["policyUuid"] = uuid; p["boundHit"] = boundHit
            }
            return p
        case .settingsChanged(_, let settings):
            return ["imageScanningConfiguration": settings.scanningJSON, "encryptionConfiguration": settings.encryptionJSON]
        case .resourceTagsChanged(_, let tags): return ["tags": ResourceTag.json(tags)]
        case .lifecyclePolicyChanged(_, let text): return ["lifecyclePolicyText": text.map { $0 as Any } ?? NSNull()]
        case .imageExpired(_, let digest, let rule), .imageTransitioned(_, let digest, let rule):
            return ["imageDigest": digest.description, "rulePriority": rule]
        case .blobLinked(_, let digest, let size): return ["blobDigest": digest.description, "blobSize": size]
        case .blobUnlinked(_, let digest): return ["blobDigest": digest.description]
        }
    }

    private static func event(type: String, registry: RegistryId, repositoryName: String?, _ p: JSONObject) throws -> Event {
        func repo() throws -> RepositoryRef {
            guard let repositoryName else { throw LedgerError.invalid("\(type) needs a repositoryName") }
            return RepositoryRef(registryId: registry, name: try RepositoryName(repositoryName))
        }
        func mutability() throws -> TagMutability {
            let filters = try p.array("imageTagMutabilityExclusionFilters").map { item -> WildcardFilter in
                let f = JSONObject(item as? [String: Any] ?? [:])
                return try WildcardFilter(try f.string("filter"), filterType: try f.string("filterType"))
            }
            return try TagMutability(modeName: try p.string("imageTagMutability"), filters: filters)
        }
        func scope() throws -> PolicyScope {
            switch try p.string("scope") {
            case "organization": return .organization(registry, try p.string("organization"))
            case "repository": return .repository(registry, try repo().name)
            case let other: throw LedgerError.invalid("unknown policy scope \(other)")
            }
        }
        func policy() throws -> Policy {
            Policy(uuid: try p.string("uuid"), tagPattern: try p.string("tagPattern"), tagPatternMatches: try p.bool("tagPatternMatches"))
        }
        func digest(_ key: String) throws -> Digest { try Digest(try p.string(key)) }
        switch type {
        case "repository.created": return .repositoryCreated(try repo(), try mutability())
        case "repository.deleted": return .repositoryDeleted(try repo())
        case "mutability.changed": return .tagMutabilityChanged(try repo(), try mutability())
        case "image.pushed":
            let size = try p.optionalUInt("imageSize").map { Int64($0) }
            let subject = try p.optionalString("subject").map { try Digest($0) }
            return .imagePushed(try repo(), digest: try digest("imageDigest"), mediaType: try p.string("mediaType"), size: size, subject: subject)
        case "tag.set":
            let previous = try p.optionalString("previousDigest").map { try Digest($0) }
            return .tagSet(try repo(), tag: try Tag(try p.string("imageTag")), digest: try digest("imageDigest"), previous: previous)
        case "tag.removed": return .tagRemoved(try repo(), tag: try Tag(try p.string("imageTag")), digest: try digest("imageDigest"))
        case "image.deleted": return .imageDeleted(try repo(), digest: try digest("imageDigest"))
        case "image.status":
            guard let status = ImageStatus(rawValue: try p.string("imageStatus")) else { throw LedgerError.invalid("unknown imageStatus") }
            return .imageStatusChanged(try repo(), digest: try digest("imageDigest"), status: status)
        case "policy.created": return .policyCreated(try scope(), try policy())
        case "policy.updated": return .policyUpdated(try scope(), try policy())
        case "policy.deleted": return .policyDeleted(try scope(), uuid: try p.string("uuid"))
        case "tag.flagged":
            let cause: FlagCause = try p.string("cause") == "manual"
                ? .manual : .policy(uuid: try p.string("policyUuid"), boundHit: try p.bool("boundHit"))
            return .tagFlagChanged(try repo(), tag: try Tag(try p.string("imageTag")), immutable: try p.bool("immutable"), cause: cause)
        case "settings.changed":
            return .settingsChanged(try repo(), RepositorySettings(scanOnPush: try RepositorySettings.scanOnPush(try p.object("imageScanningConfiguration")),
                                                                   encryption: try RepositorySettings.encryption(try p.object("encryptionConfiguration"))))
        case "tags.changed":
            let tags = try ResourceTag.parse(try p.array("tags"))
            guard tags == tags.sorted(), Set(tags.map(\.key)).count == tags.count, tags.count <= ResourceTag.maxPerRepository else {
                throw LedgerError.invalid("tags.changed needs at most \(ResourceTag.maxPerRepository) tags with distinct keys, sorted by key")
            }
            return .resourceTagsChanged(try repo(), tags)
        case "image.expired", "image.transitioned":
            guard let rule = try p.optionalInt("rulePriority", in: 1...1_000_000) else { throw LedgerError.invalid("\(type) needs a rulePriority") }
            return type == "image.expired" ? .imageExpired(try repo(), digest: try digest("imageDigest"), rulePriority: rule)
                : .imageTransitioned(try repo(), digest: try digest("imageDigest"), rulePriority: rule)
        case "lifecycle.changed":
            let text = try p.optionalString("lifecyclePolicyText")
            if let text { _ = try LifecyclePolicy(text: text) }
            return .lifecyclePolicyChanged(try repo(), text: text)
        case "blob.linked":
            guard let size = try p.optionalUInt("blobSize"), size <= UInt64(Int64.max) else { throw LedgerError.invalid("blob.linked needs a blobSize") }
            return .blobLinked(try repo(), digest: try digest("blobDigest"), size: Int64(size))
        case "blob.unlinked": return .blobUnlinked(try repo(), digest: try digest("blobDigest"))
        default: throw LedgerError.invalid("unknown event type \(type)")
        }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func unhex(_ s: String) throws -> [UInt8] {
        let u = Array(s.utf8)
        guard u.count == 64 else { throw LedgerError.invalid("a hash must be 64 hex digits") }
        return try stride(from: 0, to: 64, by: 2).map { i in
            guard let b = UInt8(String(decoding: u[i...i + 1], as: UTF8.self), radix: 16) else { throw LedgerError.invalid("bad hex in hash") }
            return b
        }
    }
}
