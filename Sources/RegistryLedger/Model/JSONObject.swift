import Foundation

/// Typed access to a decoded JSON object's fields, with `InvalidParameterException`s that name
/// the field. Used by every JSON reader (exports, request bodies).
package struct JSONObject {
    package let fields: [String: Any]

    package init(_ fields: [String: Any]) { self.fields = fields }

    /// Parses `bytes` as a JSON object.
    /// - Throws: `InvalidParameterException` when the bytes are not one JSON object.
    package init(parsing bytes: [UInt8]) throws {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw LedgerError.invalid("the body is not a JSON object")
        }
        fields = object
    }

    /// Whether a decoded value is a JSON boolean (on Linux the numbers 0 and 1 also cast to Bool).
    package static func isBoolean(_ v: Any) -> Bool {
        guard let n = v as? NSNumber else { return false }
        return String(cString: n.objCType) == "c"
    }

    package func string(_ key: String) throws -> String {
        guard let v = try optionalString(key) else { throw LedgerError.invalid("'\(key)' is required") }
        return v
    }

    package func optionalString(_ key: String) throws -> String? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        guard let s = v as? String else { throw LedgerError.invalid("'\(key)' must be a string") }
        return s
    }

    package func uint(_ key: String) throws -> UInt64 {
        guard let v = try optionalUInt(key) else { throw LedgerError.invalid("'\(key)' is required") }
        return v
    }

    package func optionalUInt(_ key: String) throws -> UInt64? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, !Self.isBoolean(v), n.doubleValue >= 0, n.doubleValue < 1.8e19,
              n.doubleValue == n.doubleValue.rounded() else {
            throw LedgerError.invalid("'\(key)' must be a whole number")
        }
        return n.uint64Value
    }

    /// An optional integer that must lie in `range`.
    package func optionalInt(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, !Self.isBoolean(v), n.doubleValue == n.doubleValue.rounded(),
              n.doubleValue >= Double(range.lowerBound), n.doubleValue <= Double(range.upperBound) else {
            throw LedgerError.invalid("Invalid parameter at '\(key)' failed to satisfy constraint: 'Member must have value between \(range.lowerBound) and \(range.upperBound)'")
        }
        return n.intValue
    }

    package func bool(_ key: String) throws -> Bool {
        guard let v = try optionalBool(key) else { throw LedgerError.invalid("'\(key)' is required") }
        return v
    }

    package func optionalBool(_ key: String) throws -> Bool? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        guard Self.isBoolean(v), let b = v as? Bool else { throw LedgerError.invalid("'\(key)' must be true or false") }
        return b
    }

    package func object(_ key: String) throws -> JSONObject {
        guard let v = try optionalObject(key) else { throw LedgerError.invalid("'\(key)' is required") }
        return v
    }

    package func optionalObject(_ key: String) throws -> JSONObject? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        guard let o = v as? [String: Any] else { throw LedgerError.invalid("'\(key)' must be an object") }
        return JSONObject(o)
    }

    package func array(_ key: String) throws -> [Any] {
        guard let v = try optionalArray(key) else { throw LedgerError.invalid("'\(key)' is required") }
        return v
    }

    package func optionalArray(_ key: String) throws -> [Any]? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        guard let a = v as? [Any] else { throw LedgerError.invalid("'\(key)' must be a list") }
        return a
    }

    /// A required list of strings.
    package func strings(_ key: String) throws -> [String] {
        try array(key).map { item in
            guard let s = item as? String else { throw LedgerError.invalid("every item of '\(key)' must be a string") }
            return s
        }
    }

    /// An optional number (not a boolean).
    package func optionalDouble(_ key: String) throws -> Double? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, !Self.isBoolean(v), n.doubleValue.isFinite else { throw LedgerError.invalid("'\(key)' must be a number") }
        return n.doubleValue
    }

    /// A list of objects.
    package func optionalObjects(_ key: String) throws -> [JSONObject]? {
        try optionalArray(key).map { items in
            try items.map { item in
                guard let o = item as? [String: Any] else { throw LedgerError.invalid("every item of '\(key)' must be an object") }
                return JSONObject(o)
            }
        }
    }
}
