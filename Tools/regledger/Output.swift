import Foundation
import RegistryLedger

/// How the audit tool prints things: short lines for people, JSON for machines.
enum Output {
    static func json(_ object: Any) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]),
               as: UTF8.self)
    }

    static func eventLine(_ r: EventRecord) -> String {
        let repo = r.event.repository.map { " \($0.name)" } ?? ""
        let p = EventJSON.payload(r.event)
        let payload = p.keys.sorted().map { "\($0)=\(p[$0]!)" }.joined(separator: " ")
        return "#\(r.seq) \(ISO8601.format(r.timestamp)) \(r.actor)@\(r.origin.rawValue) \(r.event.typeName)\(repo) \(payload)"
    }

    static func policies(_ ps: [Policy]) -> [[String: Any]] {
        ps.map { ["uuid": $0.uuid, "tagPattern": $0.tagPattern, "tagPatternMatches": $0.tagPatternMatches] }
    }

    static func stateJSON(_ s: RegistryState) -> String {
        json([
            "seq": s.seq, "timestamp": ISO8601.format(s.timestamp),
            "repositories": s.repositories.map { r -> [String: Any] in
                [
                    "registryId": r.registryId.value, "repositoryName": r.name.value,
                    "imageTagMutability": r.mutability.mode.rawValue,
                    "imageTagMutabilityExclusionFilters": r.mutability.filters.map { ["filterType": "WILDCARD", "filter": $0.filter] },
                    "policies": policies(r.policies),
                    "images": r.images.map { ["imageDigest": $0.digest.description, "imageTags": $0.tags, "imageStatus": $0.status.rawValue] },
                    "tags": r.tags.map { ["tag": $0.tag, "imageDigest": $0.digest.description, "immutable": $0.immutable] },
                    "imageScanningConfiguration": r.settings.scanningJSON,
                    "encryptionConfiguration": r.settings.encryptionJSON,
                    "resourceTags": ResourceTag.json(r.resourceTags),
                    "lifecyclePolicy": r.lifecyclePolicy.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } ?? NSNull(),
                ]
            },
            "organizations": s.organizations.map { ["registryId": $0.registryId.value, "name": $0.name, "policies": policies($0.policies)] },
        ])
    }

    static func stateText(_ s: RegistryState) -> String {
        var lines = ["State at seq \(s.seq) (\(ISO8601.format(s.timestamp)))"]
        for r in s.repositories {
            let filters = r.mutability.filters.isEmpty ? "" : " [\(r.mutability.filters.map(\.filter).joined(separator: ", "))]"
            lines.append("\nrepository \(r.registryId)/\(r.name)  \(r.mutability.mode.rawValue)\(filters)")
            lines.append("  scan on push \(r.settings.scanOnPush), encryption \(r.settings.encryption.type.rawValue)"
                + (r.settings.encryption.kmsKey.map { " (\($0))" } ?? "")
                + (r.resourceTags.isEmpty ? "" : ", resource tags " + r.resourceTags.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))
            for p in r.policies { lines.append("  policy \(p.uuid)  \(p.tagPatternMatches ? "" : "NOT ")\(p.tagPattern)") }
            for t in r.tags { lines.append("  tag \(t.tag.padding(toLength: max(t.tag.count, 24), withPad: " ", startingAt: 0)) \(t.digest)\(t.immutable ? "  immutable" : "")") }
            for i in r.images where i.tags.isEmpty || i.status != .active {
                lines.append("  image \(i.digest)  \(i.status.rawValue)\(i.tags.isEmpty ? "  untagged" : "")")
            }
        }
        for o in s.organizations {
            lines.append("\norganization \(o.registryId)/\(o.name)")
            for p in o.policies { lines.append("  policy \(p.uuid)  \(p.tagPatternMatches ? "" : "NOT ")\(p.tagPattern)") }
        }
        return lines.joined(separator: "\n")
    }

    static func historyJSON(_ entry: TagHistoryEntry) -> String {
        switch entry {
        case .event(let r): return EventJSON.line(r)
        case .denied(let d):
            var object: [String: Any] = ["type": "denied", "timestamp": ISO8601.format(d.timestamp), "actor": d.actor,
                                         "origin": d.origin.rawValue, "requestId": d.requestId, "operation": d.operation,
                                         "reason": d.reason, "atSeq": d.atSeq]
            if let repo = d.repository { object["registryId"] = repo.registryId.value; object["repositoryName"] = repo.name.value }
            if let tag = d.tag { object["tag"] = tag }
            return json(object)
        }
    }

    static func historyLine(_ entry: TagHistoryEntry) -> String {
        switch entry {
        case .event(let r): return eventLine(r)
        case .denied(let d): return "   \(ISO8601.format(d.timestamp)) \(d.actor)@\(d.origin.rawValue) DENIED \(d.operation): \(d.reason)"
        }
    }

    static func changeJSON(_ c: StateChange) -> String {
        var object: [String: Any] = ["kind": c.kind, "registryId": c.registryId]
        if let r = c.repositoryName { object["repositoryName"] = r }
        if let o = c.organization { object["organization"] = o }
        for (k, v) in c.details { object[k] = v }
        return json(object)
    }

    static func changeLine(_ c: StateChange) -> String {
        let place = c.repositoryName ?? "organization \(c.organization ?? "")"
        return "\(c.kind) \(place) " + c.details.keys.sorted().map { "\($0)=\(c.details[$0]!)" }.joined(separator: " ")
    }
}
