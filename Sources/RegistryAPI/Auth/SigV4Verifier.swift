import Crypto
import Foundation
import RegistryLedger
import Synchronization

/// A configured AWS credential and the principal it acts as (the events' actor).
public struct AccessCredential: Sendable, Hashable {
    public let accessKeyId: String
    public let secretAccessKey: String
    public let principal: String

    public init(accessKeyId: String, secretAccessKey: String, principal: String) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.principal = principal
    }
}

/// An HTTP request as SigV4 sees it. Header names are matched case-insensitively.
public struct SignedRequest: Sendable {
    public var method: String
    /// The path without the query, e.g. `/`.
    public var path: String
    /// The raw query string without `?` (empty when none).
    public var query: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, path: String, query: String = "", headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

/// Why a request's signature was refused. `description` is safe to return to clients: it
/// never contains a secret or the expected signature.
public enum SigV4Failure: Error, Equatable, Sendable, CustomStringConvertible {
    case missingAuthorization
    case malformedAuthorization(String)
    case unknownAccessKey
    case wrongScope(String)
    case requestTimeTooSkewed
    case signatureMismatch

    /// The AWS error code to answer with (HTTP 403).
    public var code: String {
        switch self {
        case .missingAuthorization: "MissingAuthenticationTokenException"
        case .malformedAuthorization: "IncompleteSignatureException"
        case .unknownAccessKey: "UnrecognizedClientException"
        case .wrongScope, .signatureMismatch: "InvalidSignatureException"
        case .requestTimeTooSkewed: "InvalidSignatureException"
        }
    }

    public var description: String {
        switch self {
        case .missingAuthorization: "Missing Authentication Token"
        case .malformedAuthorization(let why): "Authorization header is malformed: \(why)"
        case .unknownAccessKey: "The security token included in the request is invalid."
        case .wrongScope(let why): "Credential should be scoped correctly: \(why)"
        case .requestTimeTooSkewed: "Signature expired: the request time is more than 15 minutes away from the server time."
        case .signatureMismatch: "The request signature we calculated does not match the signature you provided."
        }
    }
}

/// Verifies AWS Signature Version 4 (`AWS4-HMAC-SHA256` in the Authorization header) against
/// configured credentials, for one region and service.
public struct SigV4Verifier: Sendable {
    public let region: String
    public let service: String
    /// How far the request's `X-Amz-Date` may be from now.
    public let maxSkew: TimeInterval
    private let credentials: [String: AccessCredential]
    /// Derived signing keys by access key and credential date: four HMACs saved per request.
    private let signingKeys = SigningKeyCache()

    public init(credentials: [AccessCredential], region: String, service: String = "ecr", maxSkew: TimeInterval = 15 * 60) {
        self.credentials = Dictionary(credentials.map { ($0.accessKeyId, $0) }, uniquingKeysWith: { first, _ in first })
        self.region = region
        self.service = service
        self.maxSkew = maxSkew
    }

    /// The credential that signed `request`.
    /// - Throws: ``SigV4Failure`` saying why the signature is refused.
    public func verify(_ request: SignedRequest, now: Date = Date()) throws(SigV4Failure) -> AccessCredential {
        // Header names lowercased once; repeated fields joined with commas (SigV4's rule).
        var fields: [String: String] = [:]
        fields.reserveCapacity(request.headers.count)
        for (name, value) in request.headers {
            let lower = name.lowercasedHeaderName
            fields[lower] = fields[lower].map { $0 + "," + value } ?? value
        }
        guard let authorization = fields["authorization"] else { throw .missingAuthorization }
        let parsed = try Self.parse(authorization)
        guard let credential = credentials[parsed.accessKeyId] else { throw .unknownAccessKey }
        guard parsed.region == region else { throw .wrongScope("region '\(parsed.region)' is not '\(region)'") }
        guard parsed.service == service else { throw .wrongScope("service '\(parsed.service)' is not '\(service)'") }
        guard parsed.signedHeaders.contains("host") else { throw .malformedAuthorization("SignedHeaders must include host") }
        guard let amzDate = fields["x-amz-date"], parsed.signedHeaders.contains("x-amz-date"),
              let time = Self.parseAmzDate(amzDate) else {
            throw .malformedAuthorization("a signed X-Amz-Date header (YYYYMMDDTHHMMSSZ) is required")
        }
        guard amzDate.hasPrefix(parsed.date) else { throw .wrongScope("the credential date does not match X-Amz-Date") }
        if let unsigned = fields.keys.filter({ Self.mustBeSigned($0) && !parsed.signedHeaders.contains($0) }).min() {
            throw .malformedAuthorization("SignedHeaders must include '\(unsigned)'")
        }
        guard abs(time.timeIntervalSince(now)) <= maxSkew else { throw .requestTimeTooSkewed }
        var signed: [(name: String, value: String)] = []
        for name in parsed.signedHeaders {
            guard let value = fields[name] else { throw .malformedAuthorization("signed header '\(name)' is missing") }
            signed.append((name, Self.trimmed(value)))
        }
        let canonical = Self.canonicalRequest(method: request.method, path: request.path, query: request.query, signedHeaders: signed,
                                              body: request.body)
        let key = signingKeys.key(accessKeyId: credential.accessKeyId, date: parsed.date) {
            Self.signingKey(secret: credential.secretAccessKey, date: parsed.date, region: parsed.region, service: parsed.service)
        }
        let expected = Self.signature(key: key, date: parsed.date, region: parsed.region, service: parsed.service,
                                      amzDate: amzDate, canonicalRequestHash: SHA256.hash(data: canonical))
        guard constantTimeEquals(Array(expected.utf8), Array(parsed.signature.utf8)) else { throw .signatureMismatch }
        return credential
    }

    /// Whether a signature must cover a header of this lowercased name besides `host` and
    /// `x-amz-date`: every `x-amz-*` header (`x-amz-target` names the operation) and
    /// `content-type`, so that a captured signature cannot be replayed as another operation or
    /// with another body type.
    static func mustBeSigned(_ lowercasedName: String) -> Bool {
        lowercasedName.hasPrefix("x-amz-") || lowercasedName == "content-type"
    }

    /// The canonical request of SigV4 step 1, as the bytes that are hashed; `signedHeaders` are
    /// lowercased, sorted by name and their values trimmed. Shared by ``SigV4Signer``.
    static func canonicalRequest(method: String, path: String, query: String, signedHeaders: [(name: String, value: String)],
                                 body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        for line in [method.uppercased(), canonicalPath(path), canonicalQuery(query)] {
            out += line.utf8
            out.append(0x0a)
        }
        for (name, value) in signedHeaders {
            out += name.utf8
            out.append(UInt8(ascii: ":"))
            out += value.utf8
            out.append(0x0a)
        }
        out.append(0x0a)
        for (i, header) in signedHeaders.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ";")) }
            out += header.name.utf8
        }
        out.append(0x0a)
        out += hex(SHA256.hash(data: body)).utf8
        return out
    }

    /// The hex signature of a canonical request (SigV4 steps 2–4), shared by ``SigV4Signer``.
    static func signature(secret: String, date: String, region: String, service: String, amzDate: String,
                          canonicalRequest: [UInt8]) -> String {
        signature(key: signingKey(secret: secret, date: date, region: region, service: service), date: date, region: region,
                  service: service, amzDate: amzDate, canonicalRequestHash: SHA256.hash(data: canonicalRequest))
    }

    /// The signing key of SigV4 step 3, derived from the secret for one day, region and service.
    static func signingKey(secret: String, date: String, region: String, service: String) -> HMACKey {
        var key = HMACKey(Array("AWS4\(secret)".utf8))
        for part in [date, region, service, "aws4_request"] {
            key = HMACKey(key.code(Array(part.utf8)))
        }
        return key
    }

    static func signature(key: HMACKey, date: String, region: String, service: String, amzDate: String,
                          canonicalRequestHash: SHA256.Digest) -> String {
        let stringToSign = "AWS4-HMAC-SHA256\n\(amzDate)\n\(date)/\(region)/\(service)/aws4_request\n\(hex(canonicalRequestHash))"
        return hex(key.code(Array(stringToSign.utf8)))
    }

    struct ParsedAuthorization {
        let accessKeyId, date, region, service: String
        let signedHeaders: [String]
        let signature: String
    }

    /// Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` as bytes: it runs on
    /// every request, and Character-wise splitting cost a tenth of a ListImages page.
    static func parse(_ header: String) throws(SigV4Failure) -> ParsedAuthorization {
        let bytes = Array(header.utf8)
        let prefix = Array("AWS4-HMAC-SHA256 ".utf8)
        guard bytes.starts(with: prefix) else { throw .malformedAuthorization("only AWS4-HMAC-SHA256 is supported") }
        func string(_ slice: ArraySlice<UInt8>) -> String { String(decoding: slice, as: UTF8.self) }
        var credential: ArraySlice<UInt8>?, signed: ArraySlice<UInt8>?, signature: ArraySlice<UInt8>?
        for part in bytes[prefix.count...].split(separator: UInt8(ascii: ",")) {
            let trimmed = part.trimmingBlanks
            guard let eq = trimmed.firstIndex(of: UInt8(ascii: "=")) else {
                throw .malformedAuthorization("'\(string(trimmed.prefix(40)))' is not key=value")
            }
            let value = trimmed[(eq + 1)...]
            switch string(trimmed[..<eq]) {
            case "Credential": credential = value
            case "SignedHeaders": signed = value
            case "Signature": signature = value
            default: break
            }
        }
        guard let credential, let signed, let signature else {
            throw .malformedAuthorization("Credential, SignedHeaders and Signature are required")
        }
        let scope = credential.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard scope.count == 5, string(scope[4]) == "aws4_request", scope[1].count == 8, !scope[0].isEmpty else {
            throw .malformedAuthorization("Credential must be KEY/YYYYMMDD/region/service/aws4_request")
        }
        guard signature.count == 64, signature.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw .malformedAuthorization("Signature must be 64 lowercase hex digits")
        }
        let headers = signed.split(separator: UInt8(ascii: ";")).map { string($0).lowercasedHeaderName }
        guard !headers.isEmpty, headers == headers.sorted() else { throw .malformedAuthorization("SignedHeaders must be sorted and non-empty") }
        return ParsedAuthorization(accessKeyId: string(scope[0]), date: string(scope[1]), region: string(scope[2]),
                                   service: string(scope[3]), signedHeaders: headers, signature: string(signature))
    }

    /// `YYYYMMDDTHHMMSSZ` (X-Amz-Date) as a time, or nil for any other form.
    static func parseAmzDate(_ s: String) -> Date? {
        let u = Array(s.utf8)
        guard u.count == 16, u[8] == UInt8(ascii: "T"), u[15] == UInt8(ascii: "Z") else { return nil }
        func part(_ range: Range<Int>) -> String { String(decoding: u[range], as: UTF8.self) }
        let iso = "\(part(0..<4))-\(part(4..<6))-\(part(6..<8))T\(part(9..<11)):\(part(11..<13)):\(part(13..<15))Z"
        return ISO8601.parse(iso).map { Date(timeIntervalSince1970: Double($0) / 1e6) }
    }

    /// Header values trimmed, with runs of spaces collapsed.
    static func trimmed(_ value: String) -> String {
        var blanks = false
        var previous: UInt8 = UInt8(ascii: " ")
        for byte in value.utf8 {
            if byte == 9 || (byte == UInt8(ascii: " ") && previous == UInt8(ascii: " ")) { blanks = true; break }
            previous = byte
        }
        if !blanks, previous != UInt8(ascii: " ") { return value }
        return value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }

    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)

    static func encode(_ s: String, keepSlash: Bool) -> String {
        var out = ""
        for byte in s.utf8 {
            if unreserved.contains(byte) || (keepSlash && byte == UInt8(ascii: "/")) {
                out.append(Character(Unicode.Scalar(byte)))
            } else {
                out += "%" + hex([byte]).uppercased()
            }
        }
        return out
    }

    static func canonicalPath(_ path: String) -> String {
        if path == "/" { return path }
        let decoded = path.removingPercentEncoding ?? path
        return decoded.isEmpty ? "/" : encode(decoded, keepSlash: true)
    }

    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&").map { item -> (String, String) in
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            return (encode(kv[0], keepSlash: false), encode(kv.count > 1 ? kv[1] : "", keepSlash: false))
        }
        return pairs.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}


/// Signing keys derived for (access key, credential date): a day's requests by one credential
/// share one. The secret is part of the derivation, so a cached key is only ever found by a
/// request that names the same access key; the cache is cleared when it grows past 256 keys.
final class SigningKeyCache: Sendable {
    private let keys = Mutex<[String: HMACKey]>([:])

    func key(accessKeyId: String, date: String, derive: () -> HMACKey) -> HMACKey {
        let name = accessKeyId + "/" + date
        if let known = keys.withLock({ $0[name] }) { return known }
        let key = derive()
        keys.withLock { all in
            if all.count >= 256 { all.removeAll() }
            all[name] = key
        }
        return key
    }
}
