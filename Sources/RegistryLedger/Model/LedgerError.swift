/// An error returned by the ledger: a machine-readable code (ECR's exception names, plus the
/// Quay conditions) and a message for people.
public struct LedgerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, as a stable name. ECR codes are ECR's exception names.
    public struct Code: RawRepresentable, Hashable, Sendable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let invalidParameter = Code(rawValue: "InvalidParameterException")
        public static let repositoryNotFound = Code(rawValue: "RepositoryNotFoundException")
        public static let repositoryAlreadyExists = Code(rawValue: "RepositoryAlreadyExistsException")
        public static let repositoryNotEmpty = Code(rawValue: "RepositoryNotEmptyException")
        public static let imageNotFound = Code(rawValue: "ImageNotFoundException")
        public static let imageAlreadyExists = Code(rawValue: "ImageAlreadyExistsException")
        public static let imageTagAlreadyExists = Code(rawValue: "ImageTagAlreadyExistsException")
        public static let imageDigestDoesNotMatch = Code(rawValue: "ImageDigestDoesNotMatchException")
        /// A resource tag whose key or value breaks a rule, or a key given twice.
        public static let invalidTagParameter = Code(rawValue: "InvalidTagParameterException")
        /// A repository without a lifecycle policy asked for one.
        public static let lifecyclePolicyNotFound = Code(rawValue: "LifecyclePolicyNotFoundException")
        /// A blob the repository does not hold: a manifest pushed through the registry API names
        /// one, or a blob operation asks for one.
        public static let layersNotFound = Code(rawValue: "LayersNotFoundException")
        /// More resource tags than a repository may carry.
        public static let tooManyTags = Code(rawValue: "TooManyTagsException")
        /// An image status change that the current status does not allow.
        public static let imageStorageClassUpdateNotSupported = Code(rawValue: "ImageStorageClassUpdateNotSupportedException")
        /// A Quay tag operation on an immutable tag (HTTP 409 `tag_immutable`).
        public static let tagImmutable = Code(rawValue: "TagImmutable")
        /// An unknown policy uuid, or one of another scope (HTTP 404).
        public static let policyNotFound = Code(rawValue: "PolicyNotFound")
        /// An unknown Quay organization (HTTP 404).
        public static let organizationNotFound = Code(rawValue: "OrganizationNotFound")
        /// An unknown Quay tag (HTTP 404).
        public static let tagNotFound = Code(rawValue: "TagNotFound")
        /// The caller lacks the right for this change (HTTP 403).
        public static let forbidden = Code(rawValue: "AccessDeniedException")
        /// The store could not complete the operation: nothing was changed.
        public static let storage = Code(rawValue: "ServerException")
        /// The filesystem holding the store is full (HTTP 507, CLI exit 3): nothing was changed,
        /// and writes succeed again once space is freed.
        public static let insufficientStorage = Code(rawValue: "InsufficientStorage")
        /// The storage itself failed: an I/O error, or the map's size limit (CLI exit 3).
        public static let storageFault = Code(rawValue: "StorageFault")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// Whether the storage failed (a full disk, an I/O error, the map limit) rather than the request.
    public var isStorageFault: Bool { code == .insufficientStorage || code == .storageFault }

    /// An `InvalidParameterException` with `message`.
    public static func invalid(_ message: String) -> LedgerError { LedgerError(.invalidParameter, message) }
}
