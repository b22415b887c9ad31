import Crypto
import RegistryLedger
import Testing

@Suite struct HMACKeyTests {
    @Test func codesEqualSwiftCryptosHMACForShortBlockSizedAndLongKeys() {
        for keyLength in [0, 1, 32, 63, 64, 65, 200] {
            let key = (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
            let prepared = HMACKey(key)
            for messageLength in [0, 1, 55, 64, 1000] {
                let message = (0..<messageLength).map { UInt8(truncatingIfNeeded: $0 &* 13) }
                let expected = Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
                #expect(Array(prepared.code(message)) == expected, "key \(keyLength), message \(messageLength)")
                // The prepared key is never changed by a code: the same message gives the same code again.
                #expect(Array(prepared.code(message)) == expected)
            }
        }
    }

    @Test func codesMatchRFC4231TestVectors() {
        func hex(_ digest: some Sequence<UInt8>) -> String { digest.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }
        #expect(hex(HMACKey([UInt8](repeating: 0x0b, count: 20)).code(Array("Hi There".utf8)))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(hex(HMACKey(Array("Jefe".utf8)).code(Array("what do ya want for nothing?".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(hex(HMACKey([UInt8](repeating: 0xaa, count: 131)).code(Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test func aKeyOfOtherBytesGivesAnotherCode() {
        let message = Array("a page position".utf8)
        #expect(Array(HMACKey([1, 2, 3]).code(message)) != Array(HMACKey([1, 2, 4]).code(message)))
    }
}
