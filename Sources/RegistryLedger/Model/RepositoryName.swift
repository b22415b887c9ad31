/// A repository name valid under ECR's pattern; its first path segment is its Quay namespace.
///
/// Pattern (whole string): `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`,
/// 2–256 characters.
public struct RepositoryName: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: String

    /// - Throws: `InvalidParameterException` naming the broken rule.
    public init(_ value: String) throws(LedgerError) {
        let bytes = Array(value.utf8)
        guard (2...256).contains(bytes.count) else {
            throw .invalid("Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must have length between 2 and 256'")
        }
        guard Self.matchesPattern(bytes) else {
            throw .invalid("Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression pattern: (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*'")
        }
        self.value = value
    }

    init(unchecked value: String) { self.value = value }

    /// The Quay organization: the part before the first `/`, or nil for a name without one.
    public var namespace: String? {
        guard let slash = value.firstIndex(of: "/") else { return nil }
        return String(value[..<slash])
    }

    public var description: String { value }
    public static func < (a: RepositoryName, b: RepositoryName) -> Bool { a.value < b.value }

    private static func isAlnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }

    /// Each `/`-separated component: alphanumeric runs joined by `.`, `_`, `__` or one or more `-`.
    static func matchesPattern(_ bytes: [UInt8]) -> Bool {
        var i = 0
        while true {
            // One component.
            guard i < bytes.count, isAlnum(bytes[i]) else { return false }
            while i < bytes.count, isAlnum(bytes[i]) { i += 1 }
            while i < bytes.count, bytes[i] != UInt8(ascii: "/") {
                let start = i
                switch bytes[i] {
                case UInt8(ascii: "."): i += 1
                case UInt8(ascii: "_"): i += 1; if i < bytes.count, bytes[i] == UInt8(ascii: "_") { i += 1 }
                case UInt8(ascii: "-"): while i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
                default: return false
                }
                guard i > start, i < bytes.count, isAlnum(bytes[i]) else { return false }
                while i < bytes.count, isAlnum(bytes[i]) { i += 1 }
            }
            if i == bytes.count { return true }
            i += 1  // the slash; a component must follow
        }
    }
}
