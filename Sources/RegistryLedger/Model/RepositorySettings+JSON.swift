/// The ECR JSON shapes of a repository's settings and resource tags, written once for the ECR
/// API, the event JSON (export, import, `audit log`) and `audit state`.
extension RepositorySettings {
    /// ECR's `imageScanningConfiguration`.
    package var scanningJSON: [String: Any] { ["scanOnPush": scanOnPush] }

    /// ECR's `encryptionConfiguration` (`kmsKey` only when given).
    package var encryptionJSON: [String: Any] {
        var shape: [String: Any] = ["encryptionType": encryption.type.rawValue]
        if let key = encryption.kmsKey { shape["kmsKey"] = key }
        return shape
    }

    /// `imageScanningConfiguration` as a request or an event gives it (`scanOnPush` defaults to false).
    /// - Throws: `InvalidParameterException` for a wrong type.
    package static func scanOnPush(_ object: JSONObject) throws -> Bool {
        try object.optionalBool("scanOnPush") ?? false
    }

    /// `encryptionConfiguration` as a request or an event gives it.
    /// - Throws: `InvalidParameterException` for a missing type, a wrong type, or what
    ///   ``EncryptionConfiguration/init(typeName:kmsKey:)`` refuses.
    package static func encryption(_ object: JSONObject) throws -> EncryptionConfiguration {
        guard let type = try object.optionalString("encryptionType") else {
            throw LedgerError.invalid("Invalid parameter at 'encryptionConfiguration': 'encryptionType' is required")
        }
        return try EncryptionConfiguration(typeName: type, kmsKey: try object.optionalString("kmsKey"))
    }
}

extension ResourceTag {
    /// ECR's tag list: `[{"Key", "Value"}]`.
    package static func json(_ tags: [ResourceTag]) -> [[String: String]] {
        tags.map { ["Key": $0.key, "Value": $0.value] }
    }

    /// A tag list as a request or an event gives it.
    /// - Throws: `InvalidParameterException` for a wrong JSON type or a missing member,
    ///   `InvalidTagParameterException` for a key or value out of range.
    package static func parse(_ items: [Any]) throws -> [ResourceTag] {
        try items.map { item in
            guard let fields = item as? [String: Any] else { throw LedgerError.invalid("Invalid parameter at 'tags': every tag must be an object with Key and Value") }
            let tag = JSONObject(fields)
            guard let key = try tag.optionalString("Key"), let value = try tag.optionalString("Value") else {
                throw LedgerError.invalid("Invalid parameter at 'tags': every tag needs a Key and a Value (strings)")
            }
            return try ResourceTag(key: key, value: value)
        }
    }
}
