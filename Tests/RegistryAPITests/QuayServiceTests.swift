import Foundation
import RegistryLedger
import RegistryAPI
import Testing

struct QuayHarness {
    let ledger: Ledger
    let quay: QuayService

    init() async throws {
        var options = Ledger.Options()
        options.durable = false
        ledger = try Ledger(path: NSTemporaryDirectory() + "quay-\(UUID().uuidString)", options: options)
        quay = QuayService(ledger: ledger, tokens: [
            QuayToken(token: "admin-token", user: "root", scopes: ["org:admin", "repo:admin"]),
            QuayToken(token: "writer-token", user: "ci", scopes: ["repo:write"]),
            QuayToken(token: "reader-token", user: "viewer", scopes: ["repo:read"]),
        ])
        let who = CommandContext(actor: "seed")
        let r = try RepositoryRef("acme/web")
        _ = try await ledger.createRepository(r, context: who)
        let m = try Manifest(bytes: Array(#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"size":5}}"#.utf8))
        _ = try await ledger.putImage(r, manifest: m, tag: try Tag("v1"), context: who)
        _ = try await ledger.putImage(r, manifest: m, tag: try Tag("dev"), context: who)
    }

    func call(_ method: String, _ path: String, _ body: String = "", token: String? = "admin-token",
              query: [String: String] = [:]) async throws -> (Int, [String: Any]) {
        let response = await quay.handle(QuayRequest(method: method, path: path, query: query, body: Array(body.utf8), token: token), requestId: "q")
        let object = response.body.isEmpty ? [:] : (try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:])
        return (response.status, object)
    }
}

@Suite struct QuayServiceTests {
    let org = "/api/v1/organization/acme/immutabilitypolicy/"
    let repoPolicies = "/api/v1/repository/acme/web/immutabilitypolicy/"

    @Test func policyLifecycleWithQuayStatusCodes() async throws {
        let h = try await QuayHarness()
        let (created, body) = try await h.call("POST", org, #"{"tagPattern":" v[0-9]+ "}"#)
        #expect(created == 201)
        let uuid = try #require(body["uuid"] as? String)
        let (got, policy) = try await h.call("GET", org + uuid)
        #expect(got == 200 && policy["tagPattern"] as? String == "v[0-9]+" && policy["tagPatternMatches"] as? Bool == true)
        #expect(try await h.call("PUT", org + uuid, #"{"tagPattern":"release-.*","tagPatternMatches":false}"#).0 == 204)
        let (_, list) = try await h.call("GET", org)
        #expect((list["policies"] as? [[String: Any]])?.first?["tagPatternMatches"] as? Bool == false)
        // The retroactive flag from the first version of the policy stays (sticky).
        let (_, tags) = try await h.call("GET", "/api/v1/repository/acme/web/tag/", query: ["specificTag": "v1"])
        #expect((tags["tags"] as? [[String: Any]])?.first?["immutable"] as? Bool == true)
        let (deleted, echo) = try await h.call("DELETE", org + uuid)
        #expect(deleted == 200 && echo["uuid"] as? String == uuid)
        #expect(try await h.call("GET", org + uuid).0 == 404)
    }

    @Test func badBodiesAndUnknownThingsGetQuayErrors() async throws {
        let h = try await QuayHarness()
        let digest = try h.ledger.stateDigest()
        for body in ["", "{}", #"{"tagPattern":""}"#, #"{"tagPattern":"(x"}"#, #"{"tagPattern":"v.*","tagPatternMatches":"yes"}"#, #"{"tagPattern":7}"#] {
            let (status, error) = try await h.call("POST", org, body)
            #expect(status == 400, "\(body)")
            #expect(error["error_type"] as? String == "invalid_request" && error["detail"] as? String != nil)
        }
        _ = try await h.call("POST", org, #"{"tagPattern":"v.*"}"#)
        let afterFirst = try h.ledger.stateDigest()
        #expect(try await h.call("POST", org, #"{"tagPattern":"v.*","tagPatternMatches":false}"#).0 == 400)
        #expect(try h.ledger.stateDigest() == afterFirst)
        #expect(afterFirst != digest)
        #expect(try await h.call("GET", "/api/v1/organization/ghost/immutabilitypolicy/").0 == 404)
        #expect(try await h.call("GET", "/api/v1/repository/acme/none/immutabilitypolicy/").0 == 404)
        #expect(try await h.call("GET", org + "no-such-uuid").0 == 404)
        #expect(try await h.call("GET", "/api/v1/elsewhere").0 == 404)
        #expect(try await h.call("PATCH", org).0 == 405)
    }

    @Test func tokensAndScopesAreEnforced() async throws {
        let h = try await QuayHarness()
        #expect(try await h.call("GET", org, token: nil).0 == 401)
        #expect(try await h.call("GET", org, token: "forged").0 == 401)
        #expect(try await h.call("GET", org, token: "writer-token").0 == 403)
        #expect(try await h.call("POST", repoPolicies, #"{"tagPattern":"x"}"#, token: "writer-token").0 == 403)
        #expect(try await h.call("GET", "/api/v1/repository/acme/web/tag/", token: "reader-token").0 == 200)
        #expect(try await h.call("DELETE", "/api/v1/repository/acme/web/tag/dev", token: "reader-token").0 == 403)
        // Any writer may set a flag; only an admin may clear it.
        #expect(try await h.call("PUT", "/api/v1/repository/acme/web/tag/v1", #"{"immutable":true}"#, token: "writer-token").0 == 200)
        #expect(try await h.call("PUT", "/api/v1/repository/acme/web/tag/v1", #"{"immutable":false}"#, token: "writer-token").0 == 403)
        #expect(try await h.call("PUT", "/api/v1/repository/acme/web/tag/v1", #"{"immutable":false}"#, token: "admin-token").0 == 200)
    }

    @Test func tagRoutesRetargetDeleteAndRefuseImmutableTags() async throws {
        let h = try await QuayHarness()
        let (_, list) = try await h.call("GET", "/api/v1/repository/acme/web/tag/", query: ["limit": "1"])
        let first = try #require((list["tags"] as? [[String: Any]])?.first)
        #expect(first["name"] as? String == "dev" && list["has_additional"] as? Bool == true && list["page"] as? Int == 1)
        #expect((first["last_modified"] as? String)?.hasSuffix("-0000") == true)
        let digest = try #require(first["manifest_digest"] as? String)
        #expect(try await h.call("PUT", "/api/v1/repository/acme/web/tag/new", #"{"manifest_digest":"\#(digest)"}"#, token: "writer-token").0 == 201)
        #expect(try await h.call("PUT", "/api/v1/repository/acme/web/tag/x", #"{"manifest_digest":"sha256:\#(String(repeating: "0", count: 64))"}"#).0 == 404)
        #expect(try await h.call("PUT", "/api/v1/repository/acme/web/tag/x", #"{"manifest_digest":"nope"}"#).0 == 400)
        #expect(try await h.call("DELETE", "/api/v1/repository/acme/web/tag/new", token: "writer-token").0 == 204)
        #expect(try await h.call("DELETE", "/api/v1/repository/acme/web/tag/new").0 == 404)
        // A flagged tag: retarget and delete are 409 tag_immutable; so is an ECR-immutable one.
        _ = try await h.call("PUT", "/api/v1/repository/acme/web/tag/v1", #"{"immutable":true}"#)
        let (conflict, error) = try await h.call("DELETE", "/api/v1/repository/acme/web/tag/v1")
        #expect(conflict == 409 && error["error_type"] as? String == "tag_immutable")
        #expect(try await h.call("PUT", "/api/v1/repository/acme/web/tag/v1", #"{"manifest_digest":"\#(digest)"}"#).0 == 409)
        _ = try await h.ledger.putImageTagMutability(try RepositoryRef("acme/web"), try TagMutability(mode: .immutable), context: CommandContext(actor: "x"))
        #expect(try await h.call("PUT", "/api/v1/repository/acme/web/tag/dev", #"{"manifest_digest":"\#(digest)"}"#).0 == 409)
        #expect(try await h.call("GET", "/api/v1/repository/acme/web/tag/", query: ["page": "0"]).0 == 400)
        #expect(try await h.call("GET", "/api/v1/repository/acme/web/tag/", query: ["limit": "x"]).0 == 400)
    }
}

@Suite struct QuayOversizedInputTests {
    @Test func oversizedPathPartsAndQueriesAreClientErrorsNotStorageFaults() async throws {
        let h = try await QuayHarness()
        let long = String(repeating: "a", count: 600)
        #expect(try await h.call("GET", "/api/v1/organization/\(long)/immutabilitypolicy/").0 == 404)
        #expect(try await h.call("POST", "/api/v1/organization/\(long)/immutabilitypolicy/", #"{"tagPattern":"x"}"#).0 == 404)
        #expect(try await h.call("GET", "/api/v1/organization/acme/immutabilitypolicy/\(long)").0 == 404)
        #expect(try await h.call("DELETE", "/api/v1/organization/acme/immutabilitypolicy/\(long)").0 == 404)
        #expect(try await h.call("GET", "/api/v1/repository/acme/web/tag/", query: ["specificTag": long]).0 == 400)
        #expect(try await h.call("PUT", "/api/v1/repository/acme/web/tag/\(long)", #"{"immutable":true}"#).0 == 400)
    }
}
