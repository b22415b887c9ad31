/// Where a Quay immutability policy applies.
public enum PolicyScope: Hashable, Sendable, CustomStringConvertible {
    /// Every repository whose namespace is `name`.
    case organization(RegistryId, String)
    case repository(RegistryId, RepositoryName)

    public var registryId: RegistryId {
        switch self {
        case .organization(let r, _), .repository(let r, _): r
        }
    }

    public var description: String {
        switch self {
        case .organization(_, let org): "organization \(org)"
        case .repository(_, let repo): "repository \(repo)"
        }
    }
}

/// A Quay immutability policy: tags matching (or, inverted, not matching) `tagPattern` get the
/// sticky immutable flag.
public struct Policy: Hashable, Sendable {
    public let uuid: String
    public let tagPattern: String
    public let tagPatternMatches: Bool

    public init(uuid: String, tagPattern: String, tagPatternMatches: Bool) {
        self.uuid = uuid
        self.tagPattern = tagPattern
        self.tagPatternMatches = tagPatternMatches
    }
}

/// An organization as Quay sees it: known once a repository in its namespace has existed.
public struct Organization: Hashable, Sendable {
    public let registryId: RegistryId
    public let name: String
}
