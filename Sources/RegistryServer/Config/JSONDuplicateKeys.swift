import Foundation

/// Finds a key that appears twice in one JSON object: Foundation's parser keeps the last one
/// silently, and a config must not mean something other than what it seems to say.
enum JSONDuplicateKeys {
    /// The first repeated key (decoded), or nil. `bytes` must already parse as JSON.
    static func first(in bytes: [UInt8]) -> String? {
        // One frame per open container: the keys seen so far (nil for an array) and whether the
        // next string is a key.
        var frames: [(keys: Set<String>?, expectingKey: Bool)] = []
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "{"): frames.append((keys: [], expectingKey: true))
            case UInt8(ascii: "["): frames.append((keys: nil, expectingKey: false))
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = frames.popLast()
            case UInt8(ascii: ","):
                if frames.last?.keys != nil { frames[frames.count - 1].expectingKey = true }
            case UInt8(ascii: "\""):
                let start = i
                i += 1
                while i < bytes.count && bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                guard let top = frames.last, top.keys != nil, top.expectingKey else { break }
                let literal = Data(bytes[start...min(i, bytes.count - 1)])
                guard let key = (try? JSONSerialization.jsonObject(with: literal, options: .fragmentsAllowed)) as? String else { break }
                if frames[frames.count - 1].keys!.insert(key).inserted == false { return key }
                frames[frames.count - 1].expectingKey = false
            default: break
            }
            i += 1
        }
        return nil
    }
}
