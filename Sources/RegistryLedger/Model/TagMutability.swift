/// ECR's tag mutability setting: a mode and, for the `*_WITH_EXCLUSION` modes, 1–5 filters.
public struct TagMutability: Hashable, Sendable {
    public enum Mode: String, CaseIterable, Sendable {
        case mutable = "MUTABLE"
        case immutable = "IMMUTABLE"
        case immutableWithExclusion = "IMMUTABLE_WITH_EXCLUSION"
        case mutableWithExclusion = "MUTABLE_WITH_EXCLUSION"

        var takesFilters: Bool { self == .immutableWithExclusion || self == .mutableWithExclusion }
    }

    public let mode: Mode
    public let filters: [WildcardFilter]

    public static let `default` = TagMutability(uncheckedMode: .mutable, filters: [])

    /// - Throws: `InvalidParameterException` when an exclusion mode has no filters or more than
    ///   five, or a plain mode has any.
    public init(mode: Mode, filters: [WildcardFilter] = []) throws(LedgerError) {
        if mode.takesFilters {
            guard (1...5).contains(filters.count) else {
                throw .invalid("Invalid parameter at 'imageTagMutabilityExclusionFilters': \(mode.rawValue) requires between 1 and 5 exclusion filters")
            }
        } else if !filters.isEmpty {
            throw .invalid("Invalid parameter at 'imageTagMutabilityExclusionFilters': exclusion filters are only allowed with IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION")
        }
        self.mode = mode
        self.filters = filters
    }

    /// Parses a mode name as ECR spells it.
    public init(modeName: String, filters: [WildcardFilter] = []) throws(LedgerError) {
        guard let mode = Mode(rawValue: modeName) else {
            throw .invalid("Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]'")
        }
        try self.init(mode: mode, filters: filters)
    }

    init(uncheckedMode mode: Mode, filters: [WildcardFilter]) {
        self.mode = mode
        self.filters = filters
    }

    /// Whether ECR forbids overwriting `tag` under this setting.
    public func isImmutable(_ tag: Tag) -> Bool {
        switch mode {
        case .mutable: false
        case .immutable: true
        case .immutableWithExclusion: !filters.contains { $0.matches(tag.value) }
        case .mutableWithExclusion: filters.contains { $0.matches(tag.value) }
        }
    }
}

/// An ECR exclusion filter: `{filterType: "WILDCARD", filter}`, where `*` matches any run of
/// characters (even none), every other character is literal, and the whole tag must match.
public struct WildcardFilter: Hashable, Sendable {
    public static let filterType = "WILDCARD"
    public let filter: String

    /// - Throws: `InvalidParameterException` unless `filter` matches `^[0-9a-zA-Z._*-]{1,128}$`
    ///   and `filterType` is `WILDCARD`.
    public init(_ filter: String, filterType: String = WildcardFilter.filterType) throws(LedgerError) {
        guard filterType == Self.filterType else {
            throw .invalid("Invalid parameter at 'filterType' failed to satisfy constraint: 'Member must satisfy enum value set: [WILDCARD]'")
        }
        let u = filter.utf8
        guard (1...128).contains(u.count), u.allSatisfy({ c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "*") || c == UInt8(ascii: "-")
        }) else {
            throw .invalid("Invalid parameter at 'filter' failed to satisfy constraint: 'Member must satisfy regular expression pattern: ^[0-9a-zA-Z._*-]{1,128}$'")
        }
        self.filter = filter
    }

    init(unchecked filter: String) { self.filter = filter }

    /// Whole-string, case-sensitive glob match with `*` as the only wildcard. Linear-time
    /// backtracking over the last star: never exponential.
    public func matches(_ text: String) -> Bool {
        let p = Array(filter.utf8), t = Array(text.utf8)
        var pi = 0, ti = 0
        var star = -1, resume = 0
        while ti < t.count {
            if pi < p.count, p[pi] != UInt8(ascii: "*"), p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if pi < p.count, p[pi] == UInt8(ascii: "*") {
                star = pi; resume = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; resume += 1; ti = resume
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
