import Foundation
import RegistryAPI
import RegistryLedger

/// The server's configuration file (SPEC §4.2): registry id, SigV4 region, ECR/OCI credentials,
/// Quay tokens and the activation delay of restored images.
public struct ServerConfig: Sendable, Equatable {
    public var registryId: RegistryId
    public var region: String
    public var credentials: [AccessCredential]
    public var tokens: [QuayToken]
    /// Seconds between `UpdateImageStorageClass` to STANDARD and the image becoming ACTIVE.
    public var activationDelaySeconds: Double

    public init(registryId: RegistryId, region: String, credentials: [AccessCredential], tokens: [QuayToken],
                activationDelaySeconds: Double = 0) {
        self.registryId = registryId
        self.region = region
        self.credentials = credentials
        self.tokens = tokens
        self.activationDelaySeconds = activationDelaySeconds
    }

    /// The scopes a Quay token may carry.
    public static let knownScopes: Set<String> = ["org:admin", "repo:admin", "repo:write", "repo:read"]

    /// Parses and checks a config file's JSON.
    /// - Throws: `ConfigError` naming the first field that is missing or invalid.
    public init(json: [UInt8]) throws(ConfigError) {
        let root: JSONObject
        do { root = try JSONObject(parsing: json) } catch { throw ConfigError("the config is not a JSON object") }
        do {
            registryId = try RegistryId(try root.optionalString("registryId") ?? RegistryId.defaultId.value)
            region = try root.optionalString("region") ?? "us-east-1"
            guard !region.isEmpty, region.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7a) }) else {
                throw ConfigError("region must be an AWS region name such as us-east-1")
            }
            credentials = try (root.optionalObjects("credentials") ?? []).map { c in
                let credential = AccessCredential(accessKeyId: try c.string("accessKeyId"), secretAccessKey: try c.string("secretAccessKey"),
                                                  principal: try c.string("principal"))
                guard !credential.accessKeyId.isEmpty, !credential.secretAccessKey.isEmpty, !credential.principal.isEmpty else {
                    throw ConfigError("credentials need a non-empty accessKeyId, secretAccessKey and principal")
                }
                return credential
            }
            tokens = try (root.optionalObjects("tokens") ?? []).map { t in
                let scopes = try t.strings("scopes")
                if let unknown = scopes.first(where: { !Self.knownScopes.contains($0) }) {
                    throw ConfigError("unknown token scope '\(unknown)'; scopes are \(Self.knownScopes.sorted().joined(separator: ", "))")
                }
                let token = QuayToken(token: try t.string("token"), user: try t.string("user"), scopes: Set(scopes))
                guard !token.token.isEmpty, !token.user.isEmpty else { throw ConfigError("tokens need a non-empty token and user") }
                return token
            }
            activationDelaySeconds = try root.optionalDouble("activationDelaySeconds") ?? 0
            guard activationDelaySeconds >= 0, activationDelaySeconds <= 86_400 else {
                throw ConfigError("activationDelaySeconds must be between 0 and 86400")
            }
        } catch let error as ConfigError {
            throw error
        } catch let error as LedgerError {
            throw ConfigError(error.message)
        } catch {
            throw ConfigError("\(error)")
        }
        guard !credentials.isEmpty || !tokens.isEmpty else {
            throw ConfigError("the config names no credentials and no tokens: nobody could use the server")
        }
        if Set(credentials.map(\.accessKeyId)).count != credentials.count { throw ConfigError("two credentials share an accessKeyId") }
        if Set(tokens.map(\.token)).count != tokens.count { throw ConfigError("two tokens are the same") }
    }

    /// The file's JSON, as `init(json:)` reads it.
    public func json() -> [UInt8] {
        let object: [String: Any] = [
            "registryId": registryId.value,
            "region": region,
            "credentials": credentials.map { ["accessKeyId": $0.accessKeyId, "secretAccessKey": $0.secretAccessKey, "principal": $0.principal] },
            "tokens": tokens.map { ["token": $0.token, "user": $0.user, "scopes": $0.scopes.sorted()] },
            "activationDelaySeconds": activationDelaySeconds,
        ]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return Array(data) + [0x0a]
    }

    /// Reads the config file at `path`.
    public static func load(path: String) throws(ConfigError) -> ServerConfig {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError("cannot read the config file \(path)") }
        do { return try ServerConfig(json: Array(data)) } catch { throw ConfigError("\(path): \(error.message)") }
    }

    /// A config with one random credential and one all-scopes token for `user`.
    public static func generated(user: String = "admin") -> ServerConfig {
        let upper = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
        let secretAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        func random(_ count: Int, _ alphabet: [UInt8]) -> String {
            var rng = SystemRandomNumberGenerator()
            return String(decoding: (0..<count).map { _ in alphabet.randomElement(using: &rng)! }, as: UTF8.self)
        }
        return ServerConfig(
            registryId: .defaultId, region: "us-east-1",
            credentials: [AccessCredential(accessKeyId: "AKIA" + random(16, upper), secretAccessKey: random(40, secretAlphabet), principal: user)],
            tokens: [QuayToken(token: random(40, secretAlphabet), user: user, scopes: knownScopes)])
    }

    /// Loads `DIR/config.json`, or creates it (mode 0600) with ``generated(user:)`` when it does
    /// not exist. Returns the config and whether it was created now.
    public static func loadOrCreate(inDirectory directory: String) throws(ConfigError) -> (config: ServerConfig, created: Bool) {
        let path = directory + "/config.json"
        if FileManager.default.fileExists(atPath: path) { return (try load(path: path), false) }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ConfigError("cannot create the data directory \(directory): \(error.localizedDescription)")
        }
        let config = generated()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw ConfigError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = config.json()
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else { throw ConfigError("cannot write \(path): \(String(cString: strerror(errno)))") }
        return (config, true)
    }
}

/// A config file that cannot be used; the message says which field and why, never a secret.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
