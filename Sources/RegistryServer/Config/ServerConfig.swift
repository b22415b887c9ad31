import Foundation
import RegistryAPI
import RegistryLedger

/// The server's configuration file (SPEC §4.2): registry id, SigV4 region, ECR/OCI credentials,
/// Quay tokens, the activation delay of restored images and the connection timeouts.
///
/// Parsing is strict: unknown or repeated keys, empty scope lists and duplicate access key ids
/// or tokens are refused, so that a misspelled key cannot start a server without credentials.
public struct ServerConfig: Sendable, Equatable {
    public var registryId: RegistryId
    public var region: String
    public var credentials: [AccessCredential]
    public var tokens: [QuayToken]
    /// Seconds between `UpdateImageStorageClass` to STANDARD and the image becoming ACTIVE.
    public var activationDelaySeconds: Double
    /// Seconds between scheduled lifecycle-policy runs (0: off; SPEC §2.8).
    public var lifecycleIntervalSeconds: Double
    /// Seconds between scheduled blob garbage collections (0: off). Read and checked here; the
    /// collector that uses it comes with the blob store (SPEC §8).
    public var gcIntervalSeconds: Double
    /// A keep-alive connection idle this long is closed.
    public var idleTimeoutSeconds: Double
    /// A connection whose request head has not fully arrived this long after its first byte is closed.
    public var headerTimeoutSeconds: Double

    public init(registryId: RegistryId, region: String, credentials: [AccessCredential], tokens: [QuayToken],
                activationDelaySeconds: Double = 0, lifecycleIntervalSeconds: Double = 3600, gcIntervalSeconds: Double = 86_400,
                idleTimeoutSeconds: Double = 60, headerTimeoutSeconds: Double = 10) {
        self.registryId = registryId
        self.region = region
        self.credentials = credentials
        self.tokens = tokens
        self.activationDelaySeconds = activationDelaySeconds
        self.lifecycleIntervalSeconds = lifecycleIntervalSeconds
        self.gcIntervalSeconds = gcIntervalSeconds
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.headerTimeoutSeconds = headerTimeoutSeconds
    }

    /// The scopes a Quay token may carry.
    public static let knownScopes: Set<String> = ["org:admin", "repo:admin", "repo:write", "repo:read"]
    static let topLevelKeys: Set<String> = [
        "registryId", "region", "credentials", "tokens", "activationDelaySeconds", "lifecycleIntervalSeconds",
        "gcIntervalSeconds", "idleTimeoutSeconds", "headerTimeoutSeconds",
    ]
    static let credentialKeys: Set<String> = ["accessKeyId", "secretAccessKey", "principal"]
    static let tokenKeys: Set<String> = ["token", "user", "scopes"]

    /// Parses and checks a config file's JSON.
    /// - Throws: `ConfigError` naming the first field that is unknown, missing or invalid (never its secret value).
    public init(json: [UInt8]) throws(ConfigError) {
        let root: JSONObject
        do { root = try JSONObject(parsing: json) } catch { throw ConfigError("the config is not a JSON object") }
        if let repeated = JSONDuplicateKeys.first(in: json) { throw ConfigError("the key '\(Self.shown(repeated))' appears twice in one object") }
        try Self.refuseUnknownKeys(root, Self.topLevelKeys, at: "")
        do {
            registryId = try RegistryId(try root.optionalString("registryId") ?? RegistryId.defaultId.value)
            region = try root.optionalString("region") ?? "us-east-1"
            guard !region.isEmpty, region.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7a) }) else {
                throw ConfigError("region must be an AWS region name such as us-east-1")
            }
            credentials = try (root.optionalObjects("credentials") ?? []).enumerated().map { index, c in
                let field = "credentials[\(index)]"
                try Self.refuseUnknownKeys(c, Self.credentialKeys, at: field)
                let credential = AccessCredential(accessKeyId: try Self.required(c, "accessKeyId", field), secretAccessKey: try Self.required(c, "secretAccessKey", field),
                                                  principal: try Self.required(c, "principal", field))
                return credential
            }
            tokens = try (root.optionalObjects("tokens") ?? []).enumerated().map { index, t in
                let field = "tokens[\(index)]"
                try Self.refuseUnknownKeys(t, Self.tokenKeys, at: field)
                let token = try Self.required(t, "token", field), user = try Self.required(t, "user", field)
                let scopes: [String]
                do { scopes = try t.strings("scopes") } catch { throw ConfigError("\(field).scopes must be a list of scope names") }
                guard !scopes.isEmpty else { throw ConfigError("\(field).scopes is empty: a token needs at least one scope") }
                if let unknown = scopes.first(where: { !Self.knownScopes.contains($0) }) {
                    throw ConfigError("\(field).scopes: unknown token scope '\(Self.shown(unknown))'; scopes are \(Self.knownScopes.sorted().joined(separator: ", "))")
                }
                return QuayToken(token: token, user: user, scopes: Set(scopes))
            }
            activationDelaySeconds = try Self.seconds(root, "activationDelaySeconds", default: 0, in: 0...86_400)
            lifecycleIntervalSeconds = try Self.seconds(root, "lifecycleIntervalSeconds", default: 3600, in: 0...31_536_000)
            gcIntervalSeconds = try Self.seconds(root, "gcIntervalSeconds", default: 86_400, in: 0...31_536_000)
            idleTimeoutSeconds = try Self.seconds(root, "idleTimeoutSeconds", default: 60, in: 1...86_400)
            headerTimeoutSeconds = try Self.seconds(root, "headerTimeoutSeconds", default: 10, in: 1...3600)
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
        for (index, credential) in credentials.enumerated() {
            if let first = credentials[..<index].firstIndex(where: { $0.accessKeyId == credential.accessKeyId }) {
                throw ConfigError("credentials[\(index)].accessKeyId is the same as credentials[\(first)]'s")
            }
        }
        for (index, token) in tokens.enumerated() {
            if let first = tokens[..<index].firstIndex(where: { $0.token == token.token }) {
                throw ConfigError("tokens[\(index)].token is the same as tokens[\(first)]'s")
            }
        }
    }

    private static func refuseUnknownKeys(_ object: JSONObject, _ known: Set<String>, at field: String) throws(ConfigError) {
        if let unknown = object.fields.keys.sorted().first(where: { !known.contains($0) }) {
            let place = field.isEmpty ? "" : "\(field): "
            throw ConfigError("\(place)unknown key '\(shown(unknown))'; known keys are \(known.sorted().joined(separator: ", "))")
        }
    }

    /// A required non-empty string member of `object` (the item `field` of a list).
    private static func required(_ object: JSONObject, _ key: String, _ field: String) throws(ConfigError) -> String {
        guard let value = object.fields[key] else { throw ConfigError("\(field).\(key) is required") }
        guard let string = value as? String, !string.isEmpty else { throw ConfigError("\(field).\(key) must be a non-empty string") }
        return string
    }

    private static func seconds(_ root: JSONObject, _ key: String, default value: Double, in range: ClosedRange<Double>) throws(ConfigError) -> Double {
        guard let given = root.fields[key] else { return value }
        guard let n = given as? NSNumber, !JSONObject.isBoolean(given), range.contains(n.doubleValue) else {
            throw ConfigError("\(key) must be a number of seconds between \(Int(range.lowerBound)) and \(Int(range.upperBound))")
        }
        return n.doubleValue
    }

    /// A name from the file as it may appear in a message: at most 64 characters.
    private static func shown(_ name: String) -> String { name.count > 64 ? String(name.prefix(64)) + "…" : name }

    /// The file's JSON, as `init(json:)` reads it.
    public func json() -> [UInt8] {
        let object: [String: Any] = [
            "registryId": registryId.value,
            "region": region,
            "credentials": credentials.map { ["accessKeyId": $0.accessKeyId, "secretAccessKey": $0.secretAccessKey, "principal": $0.principal] },
            "tokens": tokens.map { ["token": $0.token, "user": $0.user, "scopes": $0.scopes.sorted()] },
            "activationDelaySeconds": activationDelaySeconds,
            "lifecycleIntervalSeconds": lifecycleIntervalSeconds,
            "gcIntervalSeconds": gcIntervalSeconds,
            "idleTimeoutSeconds": idleTimeoutSeconds,
            "headerTimeoutSeconds": headerTimeoutSeconds,
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
