import Foundation

extension Ledger {
    /// A registry login token for `principal` (ECR `GetAuthorizationToken`), valid until
    /// `expiresAt` (whole seconds). Sealed with the store's key, so every node of a cluster
    /// accepts it; it holds no secret of the credential it was issued for.
    public func issueAuthorizationToken(for principal: String, expiresAt: Date) -> String {
        var position = BinaryWriter()
        position.u64(UInt64(max(0, expiresAt.timeIntervalSince1970.rounded(.down))))
        position.string(principal)
        return PageToken.make(.authorization, binding: Self.authorizationBinding, position: position.bytes, key: tokenKey)
    }

    /// The principal a login token was issued for, when this store (or a node of its cluster)
    /// issued it and it has not expired at `now`; nil for anything else (forged, altered,
    /// expired, another store's, malformed).
    public func authorizationTokenPrincipal(_ token: String, now: Date = Date()) -> String? {
        guard let position = try? PageToken.open(token, .authorization, binding: Self.authorizationBinding, key: tokenKey) else {
            return nil
        }
        return position.withUnsafeBytes { bytes -> String? in
            var reader = BinaryReader(bytes)
            guard let expiry = try? reader.u64(), let principal = try? reader.string(), reader.isAtEnd,
                  Double(expiry) > now.timeIntervalSince1970 else { return nil }
            return principal
        }
    }

    private static let authorizationBinding = Array("registry-login".utf8)
}
