/// One image of a repository as lifecycle evaluation sees it.
public struct LifecycleImage: Sendable, Hashable {
    public let digest: Digest
    /// Sorted.
    public let tags: [String]
    /// Microseconds since 1970.
    public let pushedAt: UInt64
    public let status: ImageStatus
    /// A deletion-protected tag of the image (its Quay flag is set) and why, if it has one.
    public let protectedBy: LifecycleProtection?
    /// Why the image may not expire whatever the rules say (SPEC §8 "Relations"): an index of
    /// the repository lists it, or it refers to an image still in the repository.
    public let heldBy: String?

    public init(digest: Digest, tags: [String], pushedAt: UInt64, status: ImageStatus, protectedBy: LifecycleProtection? = nil,
                heldBy: String? = nil) {
        (self.digest, self.tags, self.pushedAt, self.status, self.protectedBy) = (digest, tags, pushedAt, status, protectedBy)
        self.heldBy = heldBy
    }
}

/// Why a lifecycle rule may not act on an image: one of its tags is deletion-protected.
public struct LifecycleProtection: Sendable, Hashable {
    public let tag: String
    /// `manual`, or `policy <uuid>` for a flag an immutability policy set.
    public let cause: String

    public init(tag: String, cause: String) { (self.tag, self.cause) = (tag, cause) }
}

/// What a policy does to one image: the rule that acts on it and its action, or — for a
/// protected image that rule would have acted on — no action (immutability wins).
public struct LifecycleOutcome: Sendable, Hashable {
    public let image: LifecycleImage
    public let rulePriority: Int
    /// nil: the image is protected (``LifecycleImage/protectedBy``) and kept.
    public let action: LifecycleRule.Action?
}

extension LifecyclePolicy {
    /// What this policy does to `images` at `now` (µs since 1970), oldest pushed first (SPEC §2.8).
    ///
    /// Rules go in priority order. A rule selects by its tag status and tag lists — images an
    /// earlier rule selected or acted on included — and marks the images of its selection beyond
    /// the newest `countNumber`, or those pushed more than `countNumber` days before `now`. A
    /// marked image is acted on unless an earlier rule selected it (each image is acted on by at
    /// most one rule), a transition finds it not `ACTIVE`, or one of its tags is protected: then
    /// it is listed as kept, with no action. A held image (``LifecycleImage/heldBy``) is no
    /// candidate of an expiring rule at all: it neither expires nor takes a place in its count.
    public func evaluate(_ images: [LifecycleImage], now: UInt64) -> [LifecycleOutcome] {
        var shielded = Set<Digest>()
        var outcomes: [LifecycleOutcome] = []
        for rule in rules {
            let selection = images.filter { rule.selects($0) && !(rule.action == .expire && $0.heldBy != nil) }.sorted { ($0.pushedAt, $0.digest) > ($1.pushedAt, $1.digest) }
            let marked: ArraySlice<LifecycleImage>
            switch rule.count {
            case .imageCountMoreThan(let keep):
                marked = selection.dropFirst(keep)
            case .sinceImagePushed(let days):
                let cutoff = now >= UInt64(days) * 86_400_000_000 ? now - UInt64(days) * 86_400_000_000 : 0
                marked = selection.filter { $0.pushedAt < cutoff }[...]
            }
            for image in marked where !shielded.contains(image.digest) {
                if rule.action == .transitionToArchive, image.status != .active { continue }
                outcomes.append(LifecycleOutcome(image: image, rulePriority: rule.rulePriority,
                                                 action: image.protectedBy == nil ? rule.action : nil))
            }
            shielded.formUnion(selection.map(\.digest))
        }
        return outcomes.sorted { ($0.image.pushedAt, $0.image.digest) < ($1.image.pushedAt, $1.image.digest) }
    }
}

extension LifecycleRule {
    /// Whether the rule's tag conditions select `image`: `tagged` needs every prefix to start
    /// one of its tags (or every pattern to match one), `untagged` no tags, `any` nothing.
    func selects(_ image: LifecycleImage) -> Bool {
        switch tagStatus {
        case .any: true
        case .untagged: image.tags.isEmpty
        case .tagged:
            !image.tags.isEmpty
                && tagPrefixList.allSatisfy { prefix in image.tags.contains { $0.hasPrefix(prefix) } }
                && tagPatternList.allSatisfy { pattern in image.tags.contains { pattern.matches($0) } }
        }
    }
}
