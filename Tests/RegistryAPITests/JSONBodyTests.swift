import Foundation
@testable import RegistryAPI
import Testing

struct JSONBodyTests {
    @Test func encodesWhatTheServicesBuildAsFoundationReadsIt() throws {
        let object: [String: Any] = [
            "b": true, "f": false, "i": 42, "neg": Int64(-7), "u": UInt64(1) << 63, "d": 1795519490.204682, "whole": 3.0,
            "s": "quote \" back \\ nl \n tab \t ctl \u{01} slash / é ✓",
            "list": [["imageDigest": "sha256:ab", "imageTag": "v1"], ["imageDigest": "sha256:cd"]] as [[String: Any]],
            "strings": ["a", "b"], "empty": [String: String](), "nested": ["x": [1, 2, [3]] as [Any]] as [String: Any],
        ]
        let bytes = JSONBody.encode(object)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(parsed["s"] as? String == object["s"] as? String)
        #expect((parsed["b"] as? NSNumber).map { JSONObjectIsBool($0) } == true)
        #expect(parsed["i"] as? Int == 42 && parsed["neg"] as? Int == -7)
        #expect((parsed["u"] as? NSNumber)?.uint64Value == UInt64(1) << 63)
        #expect(parsed["d"] as? Double == 1795519490.204682)
        #expect(parsed["whole"] as? Int == 3)
        #expect((parsed["list"] as? [[String: String]]) == [["imageDigest": "sha256:ab", "imageTag": "v1"], ["imageDigest": "sha256:cd"]])
        #expect((parsed["strings"] as? [String]) == ["a", "b"])
        #expect((parsed["empty"] as? [String: String]) == [:])
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"b":true,"d":1795519490.204682,"empty":{},"f":false,"#))  // keys sorted, no spaces
        #expect(text.contains(#""s":"quote \" back \\ nl \n tab \t ctl \u0001 slash / é ✓""#))
    }
}

private func JSONObjectIsBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }
