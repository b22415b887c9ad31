/// An image tag: 1–300 characters, `[A-Za-z0-9_][A-Za-z0-9._-]*`.
public struct Tag: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: String

    /// - Throws: `InvalidParameterException` naming the broken rule.
    public init(_ value: String) throws(LedgerError) {
        let bytes = value.utf8
        guard (1...300).contains(bytes.count) else {
            throw .invalid("Invalid parameter at 'imageTag' failed to satisfy constraint: 'Member must have length between 1 and 300'")
        }
        func isWord(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "_")
        }
        var valid = isWord(bytes.first!)
        if valid {
            valid = bytes.dropFirst().allSatisfy { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
        }
        guard valid else {
            throw .invalid("Invalid parameter at 'imageTag' failed to satisfy constraint: 'must satisfy regular expression pattern: [A-Za-z0-9_][A-Za-z0-9._-]*'")
        }
        self.value = value
    }

    init(unchecked value: String) { self.value = value }

    public var description: String { value }
    public static func < (a: Tag, b: Tag) -> Bool { a.value < b.value }
}
