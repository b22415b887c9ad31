import Foundation
import RegistryAPI
import RegistryLedger
import RegistryServer
import Testing

struct ServerConfigTests {
    static let valid = #"""
        {"registryId": "123456789012", "region": "eu-west-1",
         "credentials": [{"accessKeyId": "AKIA1", "secretAccessKey": "s3cret", "principal": "alice"}],
         "tokens": [{"token": "t0k", "user": "bob", "scopes": ["repo:read"]}],
         "activationDelaySeconds": 2.5}
        """#

    @Test func aValidConfigIsReadAndWrittenBackUnchanged() throws {
        let config = try ServerConfig(json: Array(Self.valid.utf8))
        #expect(config.registryId.value == "123456789012")
        #expect(config.region == "eu-west-1")
        #expect(config.credentials == [AccessCredential(accessKeyId: "AKIA1", secretAccessKey: "s3cret", principal: "alice")])
        #expect(config.tokens == [QuayToken(token: "t0k", user: "bob", scopes: ["repo:read"])])
        #expect(config.activationDelaySeconds == 2.5)
        #expect(try ServerConfig(json: config.json()) == config)
    }

    @Test(arguments: [
        ("not json", "not a JSON object"),
        (#"{"registryId": "12", "credentials": [{"accessKeyId": "a", "secretAccessKey": "s", "principal": "p"}]}"#, "registry"),
        (#"{"region": "Not A Region", "credentials": [{"accessKeyId": "a", "secretAccessKey": "s", "principal": "p"}]}"#, "region"),
        (#"{"credentials": [{"accessKeyId": "a", "principal": "p"}]}"#, "secretAccessKey"),
        (#"{"credentials": [{"accessKeyId": "", "secretAccessKey": "s", "principal": "p"}]}"#, "non-empty"),
        (#"{"tokens": [{"token": "t", "user": "u", "scopes": ["root"]}]}"#, "unknown token scope"),
        (#"{"tokens": [{"token": "t", "user": "u", "scopes": "repo:read"}]}"#, "scopes"),
        (#"{"tokens": [{"token": "t", "user": "u", "scopes": []}, {"token": "t", "user": "v", "scopes": []}]}"#, "same"),
        (#"{"tokens": [{"token": "t", "user": "u", "scopes": []}], "activationDelaySeconds": -1}"#, "activationDelaySeconds"),
        (#"{"tokens": [{"token": "t", "user": "u", "scopes": []}], "activationDelaySeconds": true}"#, "activationDelaySeconds"),
        ("{}", "no credentials and no tokens"),
    ])
    func badConfigsNameTheProblem(_ json: String, _ expected: String) {
        do {
            _ = try ServerConfig(json: Array(json.utf8))
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func generatedConfigIsCreatedPrivateOnceAndThenReused() throws {
        let dir = NSTemporaryDirectory() + "config-\(UUID().uuidString)"
        let (first, created) = try ServerConfig.loadOrCreate(inDirectory: dir)
        #expect(created)
        #expect(first.credentials.count == 1 && first.tokens.count == 1)
        #expect(first.credentials[0].accessKeyId.hasPrefix("AKIA") && first.credentials[0].secretAccessKey.count == 40)
        #expect(first.tokens[0].scopes == ServerConfig.knownScopes)
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/config.json")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let (second, createdAgain) = try ServerConfig.loadOrCreate(inDirectory: dir)
        #expect(!createdAgain)
        #expect(second == first)
        #expect(ServerConfig.generated().credentials[0].secretAccessKey != first.credentials[0].secretAccessKey)
    }
}
