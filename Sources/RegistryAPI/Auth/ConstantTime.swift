import Crypto

/// Compares two byte strings in time that depends only on their lengths.
func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in a.indices { difference |= a[i] ^ b[i] }
    return difference == 0
}

/// Values found by a secret (bearer tokens), in time that does not depend on the presented
/// string or on which secret, if any, it matches: every entry's SHA-256 is compared, with no
/// early exit and no hashing of the secret into a dictionary.
struct SecretTable<Value: Sendable>: Sendable {
    private let entries: [(digest: [UInt8], value: Value)]

    init(_ entries: [(secret: String, value: Value)]) {
        self.entries = entries.map { (digest: Self.digest($0.secret), value: $0.value) }
    }

    /// The value whose secret is `presented`, or nil.
    func value(for presented: String) -> Value? {
        let digest = Self.digest(presented)
        var found: Value?
        for entry in entries where constantTimeEquals(entry.digest, digest) && found == nil { found = entry.value }
        return found
    }

    private static func digest(_ secret: String) -> [UInt8] { Array(SHA256.hash(data: Array(secret.utf8))) }
}
