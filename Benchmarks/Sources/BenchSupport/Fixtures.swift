import Foundation
import RegistryLedger

/// Stores the benchmarks read, built through the library (non-durable group commits) and cached
/// on disk under ``root`` between runs. A fixture is built in a `.partial` directory and renamed
/// when complete, so a half-built one is never reused. Delete the folder after changing the
/// storage format (``version`` is part of every name).
public enum Fixtures {
    /// Bump when the store's format or a fixture's recipe changes.
    public static let version = "v13"

    /// `$REGLEDGER_BENCH_FIXTURES`, or `.fixtures` beside the benchmark package.
    public static var root: String {
        if let dir = ProcessInfo.processInfo.environment["REGLEDGER_BENCH_FIXTURES"] { return dir }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".fixtures").path
    }

    /// `REGLEDGER_BENCH_QUICK=1`: small sizes only (CI, smoke runs).
    public static var quick: Bool { ProcessInfo.processInfo.environment["REGLEDGER_BENCH_QUICK"] != nil }

    public static let context = CommandContext(actor: "bench", origin: .library, requestId: "seed")

    /// A distinct OCI image manifest for each `n` (config 100 bytes, one 1000-byte layer).
    public static func manifest(_ n: Int) -> Manifest {
        let hex = String(n, radix: 16)
        let digest = "sha256:" + String(repeating: "0", count: 64 - hex.count) + hex
        let json = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(digest)","size":100},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\#(digest)","size":1000}]}"#
        return try! Manifest(bytes: Array(json.utf8))
    }

    /// The cached store `name`, built by `build` into a fresh directory when missing.
    public static func store(_ name: String, build: (Ledger) async throws -> Void) async throws -> String {
        let path = root + "/\(name)-\(version)"
        if FileManager.default.fileExists(atPath: path + "/data.mdb") { return path }
        let partial = path + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)
        let started = Date()
        FileHandle.standardError.write(Data("building fixture \(name) in \(partial)…\n".utf8))
        var options = Ledger.Options()
        options.durable = false
        options.mapSize = 1 << 30
        let ledger = try Ledger(path: partial, options: options)
        try await build(ledger)
        ledger.close()
        try FileManager.default.moveItem(atPath: partial, toPath: path)
        FileHandle.standardError.write(Data("built fixture \(name) in \(Int(Date().timeIntervalSince(started))) s\n".utf8))
        return path
    }

    /// Runs `count` commands, at most `parallel` in flight, so the writer groups them.
    public static func concurrently(_ count: Int, parallel: Int = 512, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            while next < min(parallel, count) {
                let i = next
                group.addTask { try await body(i) }
                next += 1
            }
            while try await group.next() != nil {
                if next < count {
                    let i = next
                    group.addTask { try await body(i) }
                    next += 1
                }
            }
        }
    }

    // MARK: the fixtures

    /// The repository of the paging fixtures.
    public static let pagingRepository = try! RepositoryRef("bench/paging")

    /// Image `i` of a paging fixture is untagged when `i % 10 == 9`, else tagged `t<i>`.
    public static func pagingTag(_ i: Int) -> String? { i % 10 == 9 ? nil : "t\(i)" }

    /// One repository with `entries` ListImages entries: 90% tagged images (one tag each), 10%
    /// untagged; 1% of the images (`i % 100 == 50`) archived.
    public static func pagingStore(entries: Int) async throws -> String {
        try await store("paging-\(entries)") { ledger in
            let ref = pagingRepository
            _ = try await ledger.createRepository(ref, context: context)
            try await concurrently(entries) { i in
                _ = try await ledger.putImage(ref, manifest: manifest(i), tag: try pagingTag(i).map { try Tag($0) }, context: context)
            }
            try await concurrently(entries / 100) { k in
                let i = k * 100 + 50
                _ = try await ledger.updateImageStorageClass(ref, imageId: ImageIdentifier(digest: manifest(i).digest.description, tag: nil),
                                                             targetStorageClass: "ARCHIVE", context: context)
            }
        }
    }

    /// A log of about `events` events over repositories of `tagsPerRepository` pushes each (two
    /// events a push; every tenth push moves an earlier tag), pushes to the repositories
    /// interleaved: the time-travel and replay fixture. Repository size stays the same whatever
    /// the log length, so a longer log means more repositories.
    public static func historyStore(events: Int, tagsPerRepository: Int = 2_500) async throws -> String {
        try await store("history-\(events)-\(tagsPerRepository)") { ledger in
            let repositories = historyRepositories(events: events, tagsPerRepository: tagsPerRepository)
            for r in 0..<repositories { _ = try await ledger.createRepository(try historyRepository(r), context: context) }
            try await concurrently(repositories * tagsPerRepository) { k in
                let (r, i) = (k % repositories, k / repositories)
                let tag = i % 10 == 9 ? "t\(i / 2)" : "t\(i)"
                _ = try await ledger.putImage(try historyRepository(r), manifest: manifest(k), tag: try Tag(tag), context: context)
            }
        }
    }

    public static func historyRepositories(events: Int, tagsPerRepository: Int = 2_500) -> Int {
        max(1, events / (2 * tagsPerRepository))
    }

    public static func historyRepository(_ r: Int) throws -> RepositoryRef { try RepositoryRef("bench/history-\(r)") }
}

/// Hands what a benchmark's setup made to its teardown (ordo-one's teardown takes no argument).
public final class Slot<Value>: @unchecked Sendable {
    public var value: Value?
    public init() {}

    /// Stores and returns `value`.
    public func keep(_ value: Value) -> Value {
        self.value = value
        return value
    }
}
