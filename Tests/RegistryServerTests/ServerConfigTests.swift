import Foundation
import RegistryAPI
import RegistryLedger
@testable import RegistryServer
import Testing

private let aToken = #"{"token": "t", "user": "u", "scopes": ["repo:read"]}"#
private let aCredential = #"{"accessKeyId": "AKIA1", "secretAccessKey": "s3cret-value", "principal": "p"}"#

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

    @Test func timeoutsAndIntervalsHaveTheirDefaultsAndAreRead() throws {
        let defaults = try ServerConfig(json: Array(#"{"tokens": [{"token": "t", "user": "u", "scopes": ["repo:read"]}]}"#.utf8))
        #expect(defaults.idleTimeoutSeconds == 60 && defaults.headerTimeoutSeconds == 10)
        #expect(defaults.lifecycleIntervalSeconds == 3600 && defaults.gcIntervalSeconds == 86_400)
        let given = try ServerConfig(json: Array(#"""
            {"tokens": [{"token": "t", "user": "u", "scopes": ["repo:read"]}], "idleTimeoutSeconds": 5, "headerTimeoutSeconds": 2,
             "lifecycleIntervalSeconds": 0, "gcIntervalSeconds": 600}
            """#.utf8))
        #expect(given.idleTimeoutSeconds == 5 && given.headerTimeoutSeconds == 2 && given.lifecycleIntervalSeconds == 0 && given.gcIntervalSeconds == 600)
        #expect(try ServerConfig(json: given.json()) == given)
    }

    @Test(arguments: [
        ("not json", "not a JSON object"),
        (#"{"registryId": "12", "credentials": [\#(aCredential)]}"#, "registry"),
        (#"{"region": "Not A Region", "credentials": [\#(aCredential)]}"#, "region"),
        (#"{"credentials": [{"accessKeyId": "a", "principal": "p"}]}"#, "credentials[0].secretAccessKey is required"),
        (#"{"credentials": [{"accessKeyId": "a", "secretAccessKey": "s3cret-value"}]}"#, "credentials[0].principal is required"),
        (#"{"credentials": [{"accessKeyId": "", "secretAccessKey": "s3cret-value", "principal": "p"}]}"#, "credentials[0].accessKeyId must be a non-empty string"),
        (#"{"tokens": [{"token": "t", "scopes": ["repo:read"]}]}"#, "tokens[0].user is required"),
        (#"{"tokens": [{"token": "t", "user": "u", "scopes": ["root"]}]}"#, "unknown token scope 'root'"),
        (#"{"tokens": [{"token": "t", "user": "u", "scopes": "repo:read"}]}"#, "tokens[0].scopes must be a list"),
        (#"{"tokens": [{"token": "t", "user": "u", "scopes": []}]}"#, "tokens[0].scopes is empty"),
        (#"{"tokens": [\#(aToken), {"token": "t", "user": "v", "scopes": ["repo:read"]}]}"#, "tokens[1].token is the same as tokens[0]'s"),
        (#"{"credentials": [\#(aCredential), {"accessKeyId": "AKIA1", "secretAccessKey": "other-secret", "principal": "q"}]}"#,
         "credentials[1].accessKeyId is the same as credentials[0]'s"),
        (#"{"tokens": [\#(aToken)], "activationDelaySeconds": -1}"#, "activationDelaySeconds"),
        (#"{"tokens": [\#(aToken)], "activationDelaySeconds": true}"#, "activationDelaySeconds"),
        (#"{"tokens": [\#(aToken)], "idleTimeoutSeconds": 0}"#, "idleTimeoutSeconds must be a number of seconds between 1 and 86400"),
        (#"{"tokens": [\#(aToken)], "headerTimeoutSeconds": "10"}"#, "headerTimeoutSeconds"),
        (#"{"tokens": [\#(aToken)], "gcIntervalSeconds": -5}"#, "gcIntervalSeconds"),
        (#"{"credentails": [\#(aCredential)], "tokens": [\#(aToken)]}"#, "unknown key 'credentails'"),
        (#"{"credentials": [{"accessKeyId": "a", "secretAccessKey": "s3cret-value", "principal": "p", "princpal": "q"}]}"#,
         "credentials[0]: unknown key 'princpal'"),
        (#"{"tokens": [{"token": "t", "user": "u", "scopes": ["repo:read"], "admin": true}]}"#, "tokens[0]: unknown key 'admin'"),
        (#"{"tokens": [\#(aToken)], "tokens": []}"#, "the key 'tokens' appears twice"),
        (#"{"credentials": [{"accessKeyId": "a", "secretAccessKey": "s3cret-value", "principal": "p", "principal": "root"}]}"#,
         "the key 'principal' appears twice"),
        ("{}", "no credentials and no tokens"),
    ])
    func badConfigsNameTheProblemAndNeverASecret(_ json: String, _ expected: String) {
        do {
            _ = try ServerConfig(json: Array(json.utf8))
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(!error.message.contains("s3cret-value") && !error.message.contains("other-secret"), "\(error.message)")
        }
    }

    @Test(arguments: [
        (#"{"a": 1, "b": {"a": 2}, "c": [{"a": 3}, {"a": 4}]}"#, nil),
        (#"{"a": 1, "b": 2, "a": 3}"#, "a"),
        (#"{"x": {"k": "a,b", "k": 1}}"#, "k"),
        (#"{"s": "\"quoted\" , \"s\": 1", "t": 2}"#, nil),
        (#"{"\u0061": 1, "a": 2}"#, "a"),
        (#"[{"a": 1}, {"a": 1}]"#, nil),
    ] as [(String, String?)])
    func repeatedKeysAreFoundOnlyWithinOneObject(_ json: String, _ repeated: String?) {
        #expect(JSONDuplicateKeys.first(in: Array(json.utf8)) == repeated)
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
