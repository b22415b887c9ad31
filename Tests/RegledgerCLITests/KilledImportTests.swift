import Foundation
import RegistryLedger
import Testing

/// Starts the built `regledger` binary and returns the running process (stdout and stderr discarded).
func startRegledger(_ arguments: [String]) throws -> Process {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("regledger")
    let process = Process()
    process.executableURL = FileManager.default.isExecutableFile(atPath: binary.path)
        ? binary : Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("regledger")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}

/// A closed store of `images` pushes (two events each) in one repository, written fast (not fsynced).
func largeStore(images: Int) async throws -> String {
    let path = NSTemporaryDirectory() + "cli-large-\(UUID().uuidString)"
    var options = Ledger.Options()
    options.durable = false
    let ledger = try Ledger(path: path, options: options)
    defer { ledger.close() }
    let r = try RepositoryRef("bulk/app")
    let who = CommandContext(actor: "seeder", origin: .cli, requestId: "seed")
    _ = try await ledger.createRepository(r, context: who)
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<32 {
            group.addTask {
                for i in stride(from: worker, to: images, by: 32) {
                    let m = try Manifest(bytes: Array(#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"size":\#(i)},"layers":[]}"#.utf8))
                    _ = try await ledger.putImage(r, manifest: m, tag: try Tag("t\(i)"), context: who)
                }
            }
        }
        try await group.waitForAll()
    }
    return path
}

@Suite struct KilledImportTests {
    @Test func anImportKilledAtAnyMomentIsRefusedByEveryCommandUntilImportRunsAgainAndStartsOver() async throws {
        let original = try await largeStore(images: 5_000)
        let export = NSTemporaryDirectory() + "export-\(UUID().uuidString).jsonl"
        #expect(try regledger("export", "--data", original, "--output", export).status == 0)
        let expected = try regledger("audit", "verify", "--data", original)
        #expect(expected.status == 0)
        var refusedSeen = 0
        for delay in [0.0, 0.3, 0.8, 1.5] {
            let target = NSTemporaryDirectory() + "import-killed-\(UUID().uuidString)"
            let importer = try startRegledger(["import", "--data", target, "--input", export])
            try await Task.sleep(for: .seconds(delay))
            kill(importer.processIdentifier, SIGKILL)
            importer.waitUntilExit()
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []
            if importer.terminationReason == Process.TerminationReason.uncaughtSignal && !entries.isEmpty {
                // Something was imported: every command refuses the directory as incomplete.
                #expect(entries.contains(Ledger.importMarkerName), "\(entries)")
                for arguments in [["audit", "verify"], ["audit", "log", "--json"], ["audit", "state", "--seq", "1"], ["rebuild"],
                                  ["export"], ["serve", "--port", "0"]] {
                    let run = try regledger([arguments[0]] + Array(arguments.dropFirst()) + ["--data", target])
                    #expect(run.status == 2, "\(arguments) after \(delay) s: \(run.err)")
                    #expect(run.err.contains("incomplete import") && run.err.contains("run `regledger import"), "\(arguments): \(run.err)")
                }
                #expect(try regledger("import", "--data", target + "-other", "--input", export + "-missing").status == 2)
                refusedSeen += 1
            }
            // Run again: it starts over and completes with the same log.
            let again = try regledger("import", "--data", target, "--input", export)
            #expect(again.status == 0, "after \(delay) s: \(again.err)")
            let verified = try regledger("audit", "verify", "--data", target)
            #expect(verified.status == 0 && verified.out == expected.out, "\(verified.out) vs \(expected.out)")
            #expect(!FileManager.default.fileExists(atPath: target + "/" + Ledger.importMarkerName))
        }
        #expect(refusedSeen >= 2, "the kills should land while the import runs")
    }

    @Test func anImportThatFailsOnBadInputLeavesTheDirectoryAsItWas() async throws {
        let original = try await seededStore()
        let export = NSTemporaryDirectory() + "export-\(UUID().uuidString).jsonl"
        #expect(try regledger("export", "--data", original, "--output", export).status == 0)
        var lines = try String(contentsOfFile: export, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[4] = "{not json"
        try lines.joined(separator: "\n").write(toFile: export, atomically: true, encoding: .utf8)
        let missing = NSTemporaryDirectory() + "import-bad-\(UUID().uuidString)"
        let refused = try regledger("import", "--data", missing, "--input", export)
        #expect(refused.status == 2 && refused.err.contains("line 5"), "\(refused.err)")
        #expect(!FileManager.default.fileExists(atPath: missing))
        let empty = NSTemporaryDirectory() + "import-bad-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        #expect(try regledger("import", "--data", empty, "--input", export).status == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: empty).isEmpty)
        // A directory holding a store is never overwritten.
        #expect(try regledger("import", "--data", original, "--input", export).err.contains("not empty"))
    }
}
