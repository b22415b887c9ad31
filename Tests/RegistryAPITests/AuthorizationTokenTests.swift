import Foundation
import RegistryAPI
import RegistryLedger
import Testing

/// `GetAuthorizationToken` and the registry API's Basic login with user `AWS`.
@Suite struct AuthorizationTokenTests {
    static let alice = AccessCredential(accessKeyId: "AKIAALICE00000000000", secretAccessKey: "alice-secret", principal: "alice")

    func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// The token inside an answer's `authorizationToken` (base64 of `AWS:<token>`).
    func token(_ answer: [String: Any]) throws -> (token: String, entry: [String: Any]) {
        let entry = try #require((answer["authorizationData"] as? [[String: Any]])?.first)
        let encoded = try #require(entry["authorizationToken"] as? String)
        let data = try #require(Data(base64Encoded: encoded))
        let decoded = String(decoding: data, as: UTF8.self)
        #expect(decoded.hasPrefix("AWS:"))
        return (String(decoded.dropFirst(4)), entry)
    }

    @Test func aTokenLogsTheCallerIntoTheRegistryAPIForTwelveHours() async throws {
        let h = try ECRHarness()
        let response = await h.service.handle(target: ECRService.targetPrefix + "GetAuthorizationToken", body: Array("{}".utf8),
                                              principal: "alice", requestId: "req", endpoint: "http://127.0.0.1:5000")
        #expect(response.status == 200)
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        let (token, entry) = try token(answer)
        #expect(entry["proxyEndpoint"] as? String == "http://127.0.0.1:5000")
        let expiresAt = try #require(entry["expiresAt"] as? Double)
        #expect(abs(expiresAt - Date().timeIntervalSince1970 - 12 * 3600) < 5)
        let oci = OCIService(ledger: h.ledger, credentials: [Self.alice])
        #expect(oci.authenticates(basic("AWS", token)))
        #expect(await oci.handle(OCIRequest(method: "GET", path: "/v2/", headers: ["authorization": basic("AWS", token)])).status == 200)
        // The token is the store's, checked against its expiry and its principal.
        #expect(h.ledger.authorizationTokenPrincipal(token) == "alice")
        #expect(h.ledger.authorizationTokenPrincipal(token, now: Date(timeIntervalSince1970: expiresAt + 1)) == nil)
        // A principal no longer configured cannot use its token; the token is no password for a key.
        #expect(!OCIService(ledger: h.ledger, credentials: [AccessCredential(accessKeyId: "AKIABOB", secretAccessKey: "s", principal: "bob")])
            .authenticates(basic("AWS", token)))
        #expect(!oci.authenticates(basic(Self.alice.accessKeyId, token)))
    }

    @Test func forgedAlteredExpiredAndForeignTokensAreRefused() async throws {
        let h = try ECRHarness(), other = try ECRHarness()
        let oci = OCIService(ledger: h.ledger, credentials: [Self.alice])
        let good = h.ledger.issueAuthorizationToken(for: "alice", expiresAt: Date().addingTimeInterval(3600))
        #expect(oci.authenticates(basic("AWS", good)))
        var altered = Array(good.utf8)
        altered[altered.count / 2] = altered[altered.count / 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let expired = h.ledger.issueAuthorizationToken(for: "alice", expiresAt: Date().addingTimeInterval(-1))
        let foreign = other.ledger.issueAuthorizationToken(for: "alice", expiresAt: Date().addingTimeInterval(3600))
        for refused in [String(decoding: altered, as: UTF8.self), expired, foreign, "", "not-a-token", String(repeating: "A", count: 5000)] {
            #expect(!oci.authenticates(basic("AWS", refused)), "\(refused.prefix(40))")
            #expect(await oci.handle(OCIRequest(method: "GET", path: "/v2/", headers: ["authorization": basic("AWS", refused)])).status == 401)
        }
        // A page token of the same store is not a login token.
        for name in ["acme/a", "acme/b"] { _ = try await h.call("CreateRepository", #"{"repositoryName":"\#(name)"}"#) }
        let page = try h.ledger.describeRepositories(maxResults: 1)
        #expect(!oci.authenticates(basic("AWS", try #require(page.nextToken))))
    }

    @Test func badRegistryIdsAreRefused() async throws {
        let h = try ECRHarness()
        try await h.expectError("GetAuthorizationToken", #"{"registryIds":[]}"#, "InvalidParameterException")
        try await h.expectError("GetAuthorizationToken", #"{"registryIds":["12"]}"#, "InvalidParameterException")
        try await h.expectError("GetAuthorizationToken", #"{"registryIds":"123456789012"}"#, "InvalidParameterException")
        try await h.expectError("GetAuthorizationToken", #"{"registryIds":[1]}"#, "InvalidParameterException")
        let (status, answer) = try await h.call("GetAuthorizationToken", #"{"registryIds":["123456789012","210987654321"]}"#)
        #expect(status == 200 && (answer["authorizationData"] as? [Any])?.count == 2)
    }
}
