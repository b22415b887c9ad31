import Foundation
@testable import RegistryLedger
import Testing

/// A fresh store in a temporary directory (not fsynced: these tests are about semantics).
func makeLedger(durable: Bool = false) throws -> (Ledger, String) {
    let path = NSTemporaryDirectory() + "ledger-\(UUID().uuidString)"
    var options = Ledger.Options()
    options.durable = durable
    options.mapSize = 8 << 20
    return (try Ledger(path: path, options: options), path)
}

let alice = CommandContext(actor: "alice", origin: .ecr, requestId: "req-1")
let admin = CommandContext(actor: "root", origin: .quay, requestId: "req-admin", isAdmin: true)

func repo(_ name: String) -> RepositoryRef { try! RepositoryRef(name) }
func tag(_ t: String) -> RegistryLedger.Tag { try! Tag(t) }

/// A distinct OCI image manifest for each seed, with config 100 + layers 1000 and 2000 bytes.
func manifest(_ seed: Int) -> Manifest {
    let json = """
    {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":100,"digest":"sha256:\(String(repeating: "a", count: 63))\(seed % 10)"},\
    "layers":[{"size":1000,"digest":"sha256:\(String(repeating: "b", count: 64))","seed":\(seed)},{"size":2000,"digest":"sha256:\(String(repeating: "c", count: 64))"}]}
    """
    return try! Manifest(bytes: Array(json.utf8))
}

/// Pushes `manifest(i)` tagged `<tagPrefix><i>` for every `i` of `images` into `ref`.
func push(_ ledger: Ledger, _ ref: RepositoryRef, _ images: Range<Int>, tagPrefix: String = "t") async throws {
    for i in images { _ = try await ledger.putImage(ref, manifest: manifest(i), tag: tag("\(tagPrefix)\(i)"), context: alice) }
}

/// Expects `body` to throw a `LedgerError` with `code`; returns it.
@discardableResult
func expectError<T>(_ code: LedgerError.Code, sourceLocation: SourceLocation = #_sourceLocation,
                    _ body: () async throws -> T) async -> LedgerError? {
    do {
        _ = try await body()
        Issue.record("expected \(code.rawValue), got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as LedgerError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

extension Ledger {
    /// Every (digest, tag) listing entry of a repository, all statuses, walking every page.
    func allEntries(_ ref: RepositoryRef, filter: ImageFilter = ImageFilter(imageStatus: .any), pageSize: Int = 1000) throws -> [ImageEntry] {
        var out: [ImageEntry] = []
        var token: String?
        repeat {
            let page = try listImages(ref, filter: filter, maxResults: pageSize, nextToken: token)
            out += page.items
            token = page.nextToken
        } while token != nil
        return out
    }

    func tagRecord(_ ref: RepositoryRef, _ name: String) throws -> TagInfo? {
        try listTags(ref, limit: 1, specificTag: name).tags.first
    }
}

/// Collects what opening a store said about its derived state (``Ledger/Options/onRecovery``).
final class Notices: @unchecked Sendable {
    private let lock = NSLock()
    private var notices: [RecoveryNotice] = []

    func record(_ notice: RecoveryNotice) { lock.withLock { notices.append(notice) } }
    var all: [RecoveryNotice] { lock.withLock { notices } }
    /// The reason of the first rebuild, or nil.
    var rebuildReason: String? {
        all.lazy.compactMap { if case .rebuilding(let reason, _) = $0 { reason } else { nil } }.first
    }
}
