/// One difference between two points of history, as `audit diff` prints it.
public struct StateChange: Sendable, Hashable {
    /// `repository.created`, `repository.deleted`, `mutability.changed`, `policy.created`,
    /// `policy.updated`, `policy.deleted`, `tag.added`, `tag.moved`, `tag.removed`, `tag.flagged`,
    /// `tag.unflagged`, `image.added`, `image.removed`, `image.status`, `settings.changed`,
    /// `tags.changed` (resource tags), `lifecycle.changed`.
    public let kind: String
    public let registryId: String
    public let repositoryName: String?
    public let organization: String?
    /// What changed, e.g. `tag`, `from`, `to`, `uuid`.
    public let details: [String: String]
}

extension Ledger {
    /// What changed between two points: repositories, settings, policies, tags, flags, images.
    ///
    /// Only the repositories and organizations that events between the two points name can
    /// differ, so only those are reconstructed: the cost follows the activity in the range and
    /// the size of what it touched, not the size of the registry.
    public func diff(from: LogPoint, to: LogPoint) throws -> [StateChange] {
        let (a, b) = (try resolve(from), try resolve(to))
        var repositories = Set<RepositoryRef>()
        var organizations = Set<String>()
        var orgList: [(RegistryId, String)] = []
        if a.seq != b.seq {
            try forEachEvent(seqs: min(a.seq, b.seq) + 1...max(a.seq, b.seq)) { record in
                if let ref = record.event.repository { repositories.insert(ref) }
                if let (registry, org) = record.event.organization, organizations.insert("\(registry)/\(org)").inserted {
                    orgList.append((registry, org))
                }
            }
        }
        // Each touched repository is read at the earlier point, then at the later.
        let (low, high) = a.seq <= b.seq ? (a, b) : (b, a)
        var early = RegistryState(seq: low.seq, timestamp: low.timestamp, repositories: [], organizations: [])
        var late = RegistryState(seq: high.seq, timestamp: high.timestamp, repositories: [], organizations: [])
        for ref in repositories.sorted() {
            if let state = try repositoryState(ref, at: low.seq) { early.repositories.append(state) }
            if let state = try repositoryState(ref, at: high.seq) { late.repositories.append(state) }
        }
        for (registry, org) in orgList.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) {
            if let o = try organizationState(registry, org, at: low.seq) { early.organizations.append(o) }
            if let o = try organizationState(registry, org, at: high.seq) { late.organizations.append(o) }
        }
        return a.seq <= b.seq ? Self.diff(early, late) : Self.diff(late, early)
    }

    static func diff(_ a: RegistryState, _ b: RegistryState) -> [StateChange] {
        var out: [StateChange] = []
        let before = Dictionary(uniqueKeysWithValues: a.repositories.map { ($0.ref, $0) })
        let after = Dictionary(uniqueKeysWithValues: b.repositories.map { ($0.ref, $0) })
        for ref in Set(before.keys).union(after.keys).sorted() {
            func change(_ kind: String, _ details: [String: String] = [:]) {
                out.append(StateChange(kind: kind, registryId: ref.registryId.value, repositoryName: ref.name.value,
                                       organization: nil, details: details))
            }
            let old = before[ref], new = after[ref]
            if old == nil { change("repository.created", ["imageTagMutability": new!.mutability.mode.rawValue]) }
            if new == nil { change("repository.deleted"); continue }
            if let old, old.mutability != new!.mutability {
                change("mutability.changed", ["from": describe(old.mutability), "to": describe(new!.mutability)])
            }
            let (oldSettings, oldResourceTags) = (old?.settings ?? .default, old?.resourceTags ?? [])
            if oldSettings != new!.settings {
                change("settings.changed", ["from": describe(oldSettings), "to": describe(new!.settings)])
            }
            if oldResourceTags != new!.resourceTags {
                change("tags.changed", ["from": describe(oldResourceTags), "to": describe(new!.resourceTags)])
            }
            if old?.lifecyclePolicy != new!.lifecyclePolicy {
                change("lifecycle.changed", ["from": old?.lifecyclePolicy ?? "", "to": new!.lifecyclePolicy ?? ""])
            }
            diffPolicies(old?.policies ?? [], new!.policies) { change($0, $1) }
            let oldTags = Dictionary(uniqueKeysWithValues: (old?.tags ?? []).map { ($0.tag, $0) })
            let newTags = Dictionary(uniqueKeysWithValues: new!.tags.map { ($0.tag, $0) })
            for tag in Set(oldTags.keys).union(newTags.keys).sorted() {
                switch (oldTags[tag], newTags[tag]) {
                case (nil, let t?): change("tag.added", ["tag": tag, "imageDigest": t.digest.description])
                case (let t?, nil): change("tag.removed", ["tag": tag, "imageDigest": t.digest.description])
                case (let o?, let n?) where o.digest != n.digest:
                    change("tag.moved", ["tag": tag, "from": o.digest.description, "to": n.digest.description])
                default: break
                }
                let wasFlagged = oldTags[tag]?.immutable ?? false, isFlagged = newTags[tag]?.immutable ?? false
                if wasFlagged != isFlagged, newTags[tag] != nil { change(isFlagged ? "tag.flagged" : "tag.unflagged", ["tag": tag]) }
            }
            let oldImages = Dictionary(uniqueKeysWithValues: (old?.images ?? []).map { ($0.digest, $0) })
            let newImages = Dictionary(uniqueKeysWithValues: new!.images.map { ($0.digest, $0) })
            for digest in Set(oldImages.keys).union(newImages.keys).sorted() {
                switch (oldImages[digest], newImages[digest]) {
                case (nil, _?): change("image.added", ["imageDigest": digest.description])
                case (_?, nil): change("image.removed", ["imageDigest": digest.description])
                case (let o?, let n?) where o.status != n.status:
                    change("image.status", ["imageDigest": digest.description, "from": o.status.rawValue, "to": n.status.rawValue])
                default: break
                }
            }
        }
        let oldOrgs = Dictionary(uniqueKeysWithValues: a.organizations.map { ("\($0.registryId)/\($0.name)", $0) })
        for org in b.organizations {
            diffPolicies(oldOrgs["\(org.registryId)/\(org.name)"]?.policies ?? [], org.policies) { kind, details in
                out.append(StateChange(kind: kind, registryId: org.registryId.value, repositoryName: nil, organization: org.name, details: details))
            }
        }
        return out
    }

    private static func diffPolicies(_ old: [Policy], _ new: [Policy], _ change: (String, [String: String]) -> Void) {
        let before = Dictionary(uniqueKeysWithValues: old.map { ($0.uuid, $0) })
        let after = Set(new.map(\.uuid))
        for p in new {
            let details = ["uuid": p.uuid, "tagPattern": p.tagPattern, "tagPatternMatches": String(p.tagPatternMatches)]
            if let o = before[p.uuid] {
                if o != p { change("policy.updated", details) }
            } else {
                change("policy.created", details)
            }
        }
        for p in old where !after.contains(p.uuid) { change("policy.deleted", ["uuid": p.uuid]) }
    }

    private static func describe(_ s: RepositorySettings) -> String {
        "scanOnPush=\(s.scanOnPush) encryption=\(s.encryption.type.rawValue)" + (s.encryption.kmsKey.map { " kmsKey=\($0)" } ?? "")
    }

    private static func describe(_ tags: [ResourceTag]) -> String {
        tags.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }

    private static func describe(_ m: TagMutability) -> String {
        m.filters.isEmpty ? m.mode.rawValue : "\(m.mode.rawValue) [\(m.filters.map(\.filter).joined(separator: ", "))]"
    }
}
