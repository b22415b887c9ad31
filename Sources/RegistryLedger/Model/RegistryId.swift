/// A 12-digit registry (AWS account) id.
public struct RegistryId: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: String

    /// The store's default registry when neither config nor request names one.
    public static let defaultId = RegistryId(unchecked: "000000000000")

    /// - Throws: `InvalidParameterException` unless `value` is exactly 12 ASCII digits.
    public init(_ value: String) throws(LedgerError) {
        guard value.utf8.count == 12, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw .invalid("Invalid parameter at 'registryId' failed to satisfy constraint: 'must satisfy regular expression pattern: [0-9]{12}'")
        }
        self.value = value
    }

    init(unchecked value: String) { self.value = value }

    public var description: String { value }
    public static func < (a: RegistryId, b: RegistryId) -> Bool { a.value < b.value }
}
