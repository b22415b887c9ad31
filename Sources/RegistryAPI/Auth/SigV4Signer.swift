import Foundation

/// Signs requests with AWS Signature V4 the way botocore does (all given headers signed, the
/// body hashed), for clients of the server: load generators, tests.
public struct SigV4Signer: Sendable {
    public let credential: AccessCredential
    public let region: String
    public let service: String

    public init(credential: AccessCredential, region: String, service: String = "ecr") {
        self.credential = credential
        self.region = region
        self.service = service
    }

    /// The `X-Amz-Date` and `Authorization` headers for a request to `host` (as in the Host header)
    /// with `headers` (all signed) and `body`, at `now`.
    public func sign(method: String, path: String, query: String = "", host: String, headers: [(name: String, value: String)],
                     body: [UInt8], now: Date = Date()) -> [(name: String, value: String)] {
        let amzDate = Self.amzDate(now)
        let date = String(amzDate.prefix(8))
        var signed = headers.map { (name: $0.name.lowercased(), value: SigV4Verifier.trimmed($0.value)) }
        signed.append((name: "host", value: host))
        signed.append((name: "x-amz-date", value: amzDate))
        signed.sort { $0.name < $1.name }
        let names = signed.map(\.name).joined(separator: ";")
        let canonicalRequest = SigV4Verifier.canonicalRequest(method: method, path: path, query: query, signedHeaders: signed, body: body)
        let signature = SigV4Verifier.signature(secret: credential.secretAccessKey, date: date, region: region, service: service,
                                                amzDate: amzDate, canonicalRequest: canonicalRequest)
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credential.accessKeyId)/\(date)/\(region)/\(service)/aws4_request, "
            + "SignedHeaders=\(names), Signature=\(signature)"
        return [(name: "X-Amz-Date", value: amzDate), (name: "Authorization", value: authorization)]
    }

    static func amzDate(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }
}
