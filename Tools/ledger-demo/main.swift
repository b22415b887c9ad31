// An example program embedding RegistryLedger: it opens (or creates) a store in the directory
// given as its argument and runs a realistic registry session against it, printing what happened.
// Run it twice on the same directory: the second run continues the same hash-chained log.
import Foundation
import RegistryLedger

guard CommandLine.arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: ledger-demo DATA_DIR\n".utf8))
    exit(2)
}
let path = CommandLine.arguments[1]

func say(_ line: String) { print(line) }

func manifest(layers: [Int], note: String) throws -> Manifest {
    let layerJSON = layers.enumerated().map { i, size in
        #"{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":\#(size),"digest":"sha256:\#(String(repeating: String(i % 10), count: 64))"}"#
    }.joined(separator: ",")
    let json = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":512,"digest":"sha256:\#(String(repeating: "c", count: 64))"},"layers":[\#(layerJSON)],"annotations":{"note":"\#(note)"}}"#
    return try Manifest(bytes: Array(json.utf8))
}

func attempt(_ what: String, _ body: () async throws -> Void) async {
    do {
        try await body()
        say("  ✔ \(what)")
    } catch let error as LedgerError {
        say("  ✘ \(what): refused — \(error.code.rawValue): \(error.message)")
    } catch {
        say("  ✘ \(what): \(error)")
    }
}

do {
    let ledger = try Ledger(path: path)
    let run = try ledger.headSeq()
    let org = "demo\(run)"
    let ci = CommandContext(actor: "ci-bot", origin: .library, requestId: "demo-\(run)")
    let admin = CommandContext(actor: "security-admin", origin: .library, requestId: "demo-\(run)-admin", isAdmin: true)
    say("RegistryLedger demo — store at \(path), log head seq \(run), organization \(org)\n")

    let web = try RepositoryRef("\(org)/web")
    let api = try RepositoryRef("\(org)/api")

    say("1. Repositories")
    let releases = try TagMutability(mode: .immutableWithExclusion, filters: [WildcardFilter("dev-*"), WildcardFilter("*-snapshot")])
    await attempt("create \(web.name) as IMMUTABLE_WITH_EXCLUSION [dev-*, *-snapshot]") {
        _ = try await ledger.createRepository(web, mutability: releases, context: ci)
    }
    await attempt("create \(api.name) as MUTABLE") { _ = try await ledger.createRepository(api, context: ci) }
    await attempt("create \(web.name) again") { _ = try await ledger.createRepository(web, context: ci) }

    say("\n2. Pushes and ECR tag mutability")
    let v1 = try manifest(layers: [1_000_000, 250_000], note: "v1")
    let v2 = try manifest(layers: [1_100_000, 250_000], note: "v2")
    await attempt("push v1.0.0 → \(v1.digest)") { _ = try await ledger.putImage(web, manifest: v1, tag: Tag("v1.0.0"), context: ci) }
    await attempt("push dev-main → v1") { _ = try await ledger.putImage(web, manifest: v1, tag: Tag("dev-main"), context: ci) }
    await attempt("overwrite v1.0.0 with v2 (immutable tag)") { _ = try await ledger.putImage(web, manifest: v2, tag: Tag("v1.0.0"), context: ci) }
    await attempt("move dev-main to v2 (excluded from immutability)") { _ = try await ledger.putImage(web, manifest: v2, tag: Tag("dev-main"), context: ci) }
    await attempt("push v1 again without a tag") { _ = try await ledger.putImage(web, manifest: v1, context: ci) }

    say("\n3. Quay immutability policies (sticky flags)")
    for (i, tag) in ["release-1.0", "release-1.1", "nightly"].enumerated() {
        let m = try manifest(layers: [900_000 + i], note: tag)
        await attempt("push \(api.name):\(tag)") { _ = try await ledger.putImage(api, manifest: m, tag: Tag(tag), context: ci) }
    }
    let scope = PolicyScope.organization(.defaultId, org)
    await attempt("create organization policy 'release-.*' (flags existing release tags at once)") {
        let policy = try await ledger.createPolicy(scope, tagPattern: "release-.*", context: admin)
        say("    policy \(policy.uuid)")
    }
    await attempt("create the same pattern again") { _ = try await ledger.createPolicy(scope, tagPattern: " release-.* ", context: admin) }
    await attempt("create a catastrophic pattern '(a+)+(b|-)' — bounded evaluation") {
        _ = try await ledger.createPolicy(scope, tagPattern: "(a+)+(b|-)", context: admin)
    }
    for tag in try ledger.listTags(api).tags {
        say("    \(api.name):\(tag.name) immutable=\(tag.immutable)")
    }
    await attempt("overwrite release-1.0 through ECR PutImage") {
        _ = try await ledger.putImage(api, manifest: try manifest(layers: [1], note: "x"), tag: Tag("release-1.0"), context: ci)
    }
    await attempt("delete release-1.1 through the Quay tag API") { try await ledger.deleteTag(api, tag: Tag("release-1.1"), context: ci) }
    await attempt("clear the flag of release-1.1 as a non-admin") { _ = try await ledger.setTagImmutable(api, tag: Tag("release-1.1"), immutable: false, context: ci) }
    await attempt("clear it as an admin, then delete it") {
        _ = try await ledger.setTagImmutable(api, tag: Tag("release-1.1"), immutable: false, context: admin)
        try await ledger.deleteTag(api, tag: Tag("release-1.1"), context: ci)
    }
    await attempt("BatchDeleteImage nightly and release-1.0") {
        let result = try await ledger.batchDeleteImage(api, imageIds: [ImageIdentifier(tag: "nightly"), ImageIdentifier(tag: "release-1.0")], context: ci)
        say("    deleted: \(result.deleted.compactMap(\.tag)), failures: \(result.failures.map { "\($0.imageId.tag ?? "?"): \($0.reason)" })")
    }

    say("\n4. Archive and restore")
    await attempt("archive v1 (by tag v1.0.0)") {
        _ = try await ledger.updateImageStorageClass(web, imageId: ImageIdentifier(tag: "v1.0.0"), targetStorageClass: "ARCHIVE", context: ci)
    }
    say("    ListImages (default ACTIVE): \(try ledger.listImages(web).items.count) entries; ARCHIVED: \(try ledger.listImages(web, filter: ImageFilter(imageStatus: .archived)).items.count)")
    await attempt("restore it (STANDARD → ACTIVATING → ACTIVE)") {
        let restored = try await ledger.updateImageStorageClass(web, imageId: ImageIdentifier(tag: "v1.0.0"), targetStorageClass: "STANDARD", context: ci)
        _ = try await ledger.completeActivation(web, digest: restored.digest, context: ci)
    }

    say("\n5. Paging: 1,000 concurrent pushes (group-committed), then ListImages with maxResults 100")
    let commitsBefore = ledger.stats.commits
    try await withThrowingTaskGroup(of: Void.self) { group in
        for i in 0..<1000 {
            group.addTask { _ = try await ledger.putImage(web, manifest: try manifest(layers: [i], note: "build-\(i)"), tag: Tag("build-\(i)"), context: ci) }
        }
        try await group.waitForAll()
    }
    say("    1,000 durable pushes took \(ledger.stats.commits - commitsBefore) commits (largest group: \(ledger.stats.largestBatch))")
    var pages = 0, entries = 0
    var token: String?
    repeat {
        let page = try ledger.listImages(web, maxResults: 100, nextToken: token)
        pages += 1
        entries += page.items.count
        token = page.nextToken
    } while token != nil
    say("    walked \(entries) entries in \(pages) pages")
    await attempt("page with a forged token") { _ = try ledger.listImages(web, nextToken: "Zm9yZ2Vk") }

    say("\n6. The log")
    let denials = try ledger.denials()
    say("    head seq \(try ledger.headSeq()), \(denials.count) refused attempts in the denial log; latest:")
    for d in denials.suffix(3) { say("      \(d.actor) \(d.operation) \(d.repository?.name.value ?? "")\(d.tag.map { ":" + $0 } ?? ""): \(d.reason)") }
    for record in try ledger.events(from: max(1, try ledger.headSeq() - 2)) {
        say("    #\(record.seq) \(record.event.typeName) by \(record.actor) hash \(record.hash.prefix(6).map { String(format: "%02x", $0) }.joined())…")
    }
    let digest = try ledger.stateDigest()
    let rebuilt = try await ledger.rebuild()
    say("    state digest \(digest.prefix(16))…; rebuilt from the log: \(rebuilt == digest ? "identical" : "DIFFERENT")")
    ledger.close()
} catch {
    FileHandle.standardError.write(Data("ledger-demo: \(error)\n".utf8))
    exit(1)
}
