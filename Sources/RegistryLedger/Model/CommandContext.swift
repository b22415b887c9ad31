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
public struct CommandContext: Sendable, Hashable {
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
