/// Serializes the response objects the services build (`[String: Any]` of strings, numbers,
/// booleans, lists and objects) to JSON bytes, keys sorted. It replaces Foundation's
/// `JSONSerialization`, whose bridging through `NSDictionary` took three quarters of the
/// server's time on ListImages pages.
enum JSONBody {
    static func encode(_ value: Any) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out)
        return out
    }

    private static func write(_ value: Any, into out: inout [UInt8]) {
        switch ObjectIdentifier(type(of: value)) {
        case ObjectIdentifier(String.self): writeString(value as! String, into: &out)
        case ObjectIdentifier(Bool.self): out += (value as! Bool) ? Array("true".utf8) : Array("false".utf8)
        case ObjectIdentifier(Int.self): out += Array(String(value as! Int).utf8)
        case ObjectIdentifier(Int64.self): out += Array(String(value as! Int64).utf8)
        case ObjectIdentifier(UInt64.self): out += Array(String(value as! UInt64).utf8)
        case ObjectIdentifier(Double.self):
            let d = value as! Double
            out += d.isFinite ? Array((d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)).utf8) : Array("null".utf8)
        case ObjectIdentifier([String: Any].self): writeObject(value as! [String: Any], into: &out)
        case ObjectIdentifier([String: String].self): writeObject(value as! [String: String], into: &out)
        case ObjectIdentifier([Any].self): writeArray(value as! [Any], into: &out)
        case ObjectIdentifier([[String: Any]].self): writeArray(value as! [[String: Any]], into: &out)
        case ObjectIdentifier([String].self): writeArray(value as! [String], into: &out)
        default:
            if let object = value as? [String: Any] { writeObject(object, into: &out) }
            else if let list = value as? [Any] { writeArray(list, into: &out) }
            else { out += Array("null".utf8) }
        }
    }

    private static func writeObject<V>(_ object: [String: V], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (i, key) in object.keys.sorted().enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            writeString(key, into: &out)
            out.append(UInt8(ascii: ":"))
            write(object[key]!, into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    private static func writeArray<V>(_ list: [V], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, item) in list.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            write(item, into: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// Appends `s` as a JSON string (quoted, escaped where needed).
    static func writeString(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { writeString(utf8: UnsafeRawBufferPointer($0), into: &out) }
    }

    /// A JSON string of UTF-8 bytes (lent from the store, for instance).
    static func writeString(utf8: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Names, tags and digests need no escaping: copy them in one piece.
        if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: utf8)
        } else {
            writeEscaped(utf8, into: &out)
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func writeEscaped(_ utf8: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
    }
}
