/// A repository's settings beyond tag mutability (SPEC §2.7): image scanning on push (stored
/// and reported; no scanner runs) and encryption at rest (fixed at creation).
public struct RepositorySettings: Sendable, Hashable {
    public var scanOnPush: Bool
    public var encryption: EncryptionConfiguration

    public init(scanOnPush: Bool = false, encryption: EncryptionConfiguration = .aes256) {
        self.scanOnPush = scanOnPush
        self.encryption = encryption
    }

    /// What a repository created without settings has.
    public static let `default` = RepositorySettings()
}

/// ECR's `encryptionConfiguration`: `AES256` (the default), or `KMS` / `KMS_DSSE` with an
/// optional key.
public struct EncryptionConfiguration: Sendable, Hashable {
    public enum EncryptionType: String, Sendable, CaseIterable {
        case aes256 = "AES256", kms = "KMS", kmsDsse = "KMS_DSSE"
    }

    public let type: EncryptionType
    /// The KMS key, for the KMS types only; nil when not given.
    public let kmsKey: String?

    /// - Throws: `InvalidParameterException` for an unknown type, a key with `AES256` or a key
    ///   outside 1–2048 characters.
    public init(typeName: String, kmsKey: String?) throws(LedgerError) {
        guard let type = EncryptionType(rawValue: typeName) else {
            throw .invalid("Invalid parameter at 'encryptionConfiguration.encryptionType' failed to satisfy constraint: "
                + "'Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]'")
        }
        if let kmsKey {
            guard type != .aes256 else {
                throw .invalid("Invalid parameter at 'encryptionConfiguration.kmsKey': a KMS key can only be given with encryption type KMS or KMS_DSSE")
            }
            guard (1...2048).contains(kmsKey.count) else {
                throw .invalid("Invalid parameter at 'encryptionConfiguration.kmsKey' failed to satisfy constraint: 'Member must have length between 1 and 2048'")
            }
        }
        self.init(uncheckedType: type, kmsKey: kmsKey)
    }

    /// A configuration read back from the store (validated when it was written).
    init(uncheckedType type: EncryptionType, kmsKey: String?) {
        self.type = type
        self.kmsKey = kmsKey
    }

    public static let aes256 = EncryptionConfiguration(uncheckedType: .aes256, kmsKey: nil)
}

/// A resource tag of a repository (ECR `Tag`: `Key`, `Value`), not to be confused with an
/// image tag.
public struct ResourceTag: Sendable, Hashable, Comparable {
    public let key: String
    public let value: String

    /// - Throws: `InvalidTagParameterException` for a key outside 1–128 characters or a value
    ///   over 256.
    public init(key: String, value: String) throws(LedgerError) {
        guard (1...128).contains(key.count) else {
            throw LedgerError(.invalidTagParameter, "Invalid parameter at 'tags.Key' failed to satisfy constraint: 'Member must have length between 1 and 128'")
        }
        guard value.count <= 256 else {
            throw LedgerError(.invalidTagParameter, "Invalid parameter at 'tags.Value' failed to satisfy constraint: 'Member must have length between 0 and 256'")
        }
        self.init(uncheckedKey: key, value: value)
    }

    init(uncheckedKey key: String, value: String) {
        self.key = key
        self.value = value
    }

    public static func < (a: ResourceTag, b: ResourceTag) -> Bool { (a.key, a.value) < (b.key, b.value) }

    /// The most resource tags a repository may carry.
    public static let maxPerRepository = 50

    /// `existing` with `added` set (a key already there takes the new value), sorted by key.
    /// - Throws: `InvalidTagParameterException` for a key given twice in `added`,
    ///   `TooManyTagsException` past ``maxPerRepository``.
    static func merging(_ added: [ResourceTag], into existing: [ResourceTag]) throws(LedgerError) -> [ResourceTag] {
        var keys = Set<String>()
        for tag in added where !keys.insert(tag.key).inserted {
            throw LedgerError(.invalidTagParameter, "The tag key '\(tag.key.prefix(128))' is given more than once")
        }
        var byKey = Dictionary(uniqueKeysWithValues: existing.map { ($0.key, $0) })
        for tag in added { byKey[tag.key] = tag }
        guard byKey.count <= maxPerRepository else {
            throw LedgerError(.tooManyTags, "A repository can have at most \(maxPerRepository) tags; this request would leave \(byKey.count)")
        }
        return byKey.values.sorted()
    }
}
