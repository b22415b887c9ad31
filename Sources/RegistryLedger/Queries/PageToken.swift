import Crypto
import Foundation

/// Opaque, authenticated tokens: `base64url(version, kind, position, MAC)` where the MAC
/// (HMAC-SHA256 with the store's secret, truncated to 16 bytes) covers the version, the kind, the
/// binding (repository incarnation and filter) and the position. A paging token only opens for
/// the same request it was issued for; a registry login token (`authorization`) carries its
/// expiry and principal as its position.
enum PageToken {
    static let version: UInt8 = 1
    static let macLength = 16

    enum Kind: UInt8 { case listImages = 1, describeImages = 2, describeRepositories = 3, authorization = 4 }

    static func make(_ kind: Kind, binding: [UInt8], position: [UInt8], secret: [UInt8]) -> String {
        var body: [UInt8] = [version, kind.rawValue]
        body += position
        let mac = authenticate(body, binding: binding, secret: secret)
        return base64url(body + mac)
    }

    /// The position a token resumes after.
    /// - Throws: `InvalidParameterException` for anything not issued by this store for this request.
    static func open(_ token: String, _ kind: Kind, binding: [UInt8], secret: [UInt8]) throws(LedgerError) -> [UInt8] {
        guard token.utf8.count <= 4096, let raw = fromBase64url(token), raw.count >= 2 + macLength,
              raw[0] == version, raw[1] == kind.rawValue else { throw invalid }
        let body = Array(raw.dropLast(macLength))
        let expected = authenticate(body, binding: binding, secret: secret)
        var difference: UInt8 = 0
        for (a, b) in zip(expected, raw.suffix(macLength)) { difference |= a ^ b }
        guard difference == 0 else { throw invalid }
        return Array(body.dropFirst(2))
    }

    static let invalid = LedgerError.invalid("Invalid parameter at 'nextToken': the token is malformed, expired, or was issued for another request")

    private static func authenticate(_ body: [UInt8], binding: [UInt8], secret: [UInt8]) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: secret))
        hmac.update(data: body)
        hmac.update(data: [0xFF])
        hmac.update(data: binding)
        return Array(Array(hmac.finalize()).prefix(macLength))
    }

    private static func base64url(_ bytes: [UInt8]) -> String {
        let standard = Data(bytes).base64EncodedString().utf8
        return String(decoding: standard.compactMap { c in c == UInt8(ascii: "+") ? UInt8(ascii: "-") : c == UInt8(ascii: "/") ? UInt8(ascii: "_") : c == UInt8(ascii: "=") ? nil : c },
                      as: UTF8.self)
    }

    private static func fromBase64url(_ s: String) -> [UInt8]? {
        var standard: [UInt8] = []
        standard.reserveCapacity(s.utf8.count + 3)
        for c in s.utf8 {
            switch c {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39: standard.append(c)
            case UInt8(ascii: "-"): standard.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): standard.append(UInt8(ascii: "/"))
            default: return nil
            }
        }
        standard += Array(repeating: UInt8(ascii: "="), count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: Data(standard)).map { Array($0) }
    }
}
