import Crypto

/// Opaque, authenticated tokens: `base64url(version, kind, position, MAC)` where the MAC
/// (HMAC-SHA256 with the store's secret, truncated to 16 bytes) covers the version, the kind, the
/// binding (repository incarnation and filter) and the position. A paging token only opens for
/// the same request it was issued for; a registry login token (`authorization`) carries its
/// expiry and principal as its position.
enum PageToken {
    static let version: UInt8 = 1
    static let macLength = 16

    enum Kind: UInt8 { case listImages = 1, describeImages = 2, describeRepositories = 3, authorization = 4 }

    static func make(_ kind: Kind, binding: [UInt8], position: [UInt8], key: HMACKey) -> String {
        var body: [UInt8] = [version, kind.rawValue]
        body += position
        let mac = authenticate(body, binding: binding, key: key)
        return base64url(body + mac)
    }

    /// The position a token resumes after.
    /// - Throws: `InvalidParameterException` for anything not issued by this store for this request.
    static func open(_ token: String, _ kind: Kind, binding: [UInt8], key: HMACKey) throws(LedgerError) -> [UInt8] {
        guard token.utf8.count <= 4096, let raw = fromBase64url(token), raw.count >= 2 + macLength,
              raw[0] == version, raw[1] == kind.rawValue else { throw invalid }
        let body = Array(raw.dropLast(macLength))
        let expected = authenticate(body, binding: binding, key: key)
        var difference: UInt8 = 0
        for (a, b) in zip(expected, raw.suffix(macLength)) { difference |= a ^ b }
        guard difference == 0 else { throw invalid }
        return Array(body.dropFirst(2))
    }

    static let invalid = LedgerError.invalid("Invalid parameter at 'nextToken': the token is malformed, expired, or was issued for another request")

    private static func authenticate(_ body: [UInt8], binding: [UInt8], key: HMACKey) -> [UInt8] {
        let code = key.code { hash in
            body.withUnsafeBytes { hash.update(bufferPointer: $0) }
            withUnsafeBytes(of: UInt8(0xFF)) { hash.update(bufferPointer: $0) }
            binding.withUnsafeBytes { hash.update(bufferPointer: $0) }
        }
        return code.withUnsafeBytes { Array($0.prefix(macLength)) }
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// base64url without padding (RFC 4648 §5), written by hand: tokens are opened and made on
    /// every page, and Foundation's codec with its character mapping cost more than the MAC.
    static func base64url(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            let word = UInt32(bytes[i]) << 16 | (n > 1 ? UInt32(bytes[i + 1]) << 8 : 0) | (n > 2 ? UInt32(bytes[i + 2]) : 0)
            for k in 0...n { out.append(alphabet[Int(word >> (18 - 6 * k) & 0x3F)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of unpadded base64url text, or nil for any other text (a padding sign, another
    /// alphabet, a length no encoding has, or a last character carrying bits beyond the bytes).
    static func fromBase64url(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count * 3 / 4)
        var word: UInt32 = 0
        var count = 0
        for c in s.utf8 {
            let v: UInt8
            switch c {
            case 0x41...0x5A: v = c - 0x41
            case 0x61...0x7A: v = c - 0x61 + 26
            case 0x30...0x39: v = c - 0x30 + 52
            case UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "_"): v = 63
            default: return nil
            }
            word = word << 6 | UInt32(v)
            count += 1
            if count == 4 {
                out += [UInt8(word >> 16 & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word & 0xFF)]
                word = 0
                count = 0
            }
        }
        switch count {
        case 0: break
        case 2:
            guard word & 0xF == 0 else { return nil }
            out.append(UInt8(word >> 4))
        case 3:
            guard word & 0x3 == 0 else { return nil }
            out += [UInt8(word >> 10 & 0xFF), UInt8(word >> 2 & 0xFF)]
        default: return nil
        }
        return out
    }
}
