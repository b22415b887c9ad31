import Crypto
@testable import RegistryLedger
import Testing

@Suite struct DigestTests {
    /// The reference: each byte as two lowercase hex digits, one at a time.
    func referenceDescription(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return "sha256:" + String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
    }

    @Test func descriptionAndAppendedDescriptionWriteEveryNibbleAsLowercaseHex() throws {
        var generator = SystemRandomNumberGenerator()
        let patterns: [[UInt8]] = [[UInt8](repeating: 0, count: 32), [UInt8](repeating: 0xFF, count: 32),
                                   (0..<32).map { UInt8($0 * 8) }, (0..<32).map { UInt8(0x9A ^ $0) }]
            + (0..<200).map { _ in (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        for bytes in patterns {
            let digest = bytes.withUnsafeBytes { Digest(rawPointer: $0) }
            let expected = referenceDescription(bytes)
            #expect(digest.description == expected)
            var appended: [UInt8] = [0x2A]
            digest.appendDescription(to: &appended)
            #expect(appended == [0x2A] + Array(expected.utf8))
            #expect(try Digest(expected) == digest)
        }
    }

    @Test func aDigestOfBytesIsTheirSHA256HoweverTheBytesOrTheHashArrive() throws {
        for count in [0, 1, 55, 64, 1000] {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let hex = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
            let expected = try Digest("sha256:" + hex)
            #expect(Digest(of: bytes) == expected)
            #expect(bytes.withUnsafeBytes { Digest(of: $0) } == expected)
            #expect(Digest(sha256: SHA256.hash(data: bytes)) == expected)
            #expect(Digest(rawBytes: Array(SHA256.hash(data: bytes))) == expected)
            #expect(Digest(rawBytes: Array(SHA256.hash(data: bytes))[...]) == expected)
        }
    }
}
