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

/// ECR image status (archive support).
public enum ImageStatus: String, CaseIterable, Sendable {
    case active = "ACTIVE"
    case archived = "ARCHIVED"
    case activating = "ACTIVATING"
}

/// Who made a change and through which door.
public struct Origin: RawRepresentable, Hashable, Sendable {
    public let rawValue: String
    public init?(rawValue: String) {
        guard Self.all.contains(where: { $0 == rawValue }) else { return nil }
        self.rawValue = rawValue
    }
    private init(_ value: String) { rawValue = value }

    public static let ecr = Origin("ecr")
    public static let quay = Origin("quay")
    public static let oci = Origin("oci")
    public static let cli = Origin("cli")
    public static let library = Origin("library")
    static let all = ["ecr", "quay", "oci", "cli", "library"]
    var code: UInt8 { UInt8(Self.all.firstIndex(of: rawValue)!) }
    init?(code: UInt8) {
        guard Int(code) < Self.all.count else { return nil }
        rawValue = Self.all[Int(code)]
    }
}

/// The actor, origin and request id recorded on every event a command produces.
public struct RequestContext: Sendable, Hashable {
    public var actor: String
    public var origin: Origin
    public var requestId: String
    /// Whether the caller may clear a tag's immutable flag (Quay `repo:admin`).
    public var isAdmin: Bool

    public init(actor: String, origin: Origin = .library, requestId: String = "", isAdmin: Bool = false) {
        self.actor = actor
        self.origin = origin
        self.requestId = requestId
        self.isAdmin = isAdmin
    }
}
