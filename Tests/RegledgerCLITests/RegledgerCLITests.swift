import Foundation
@testable import RegistryLedger
import LMDB
import Testing

/// Runs the built `regledger` binary as a user would and returns (exit status, stdout, stderr).
func regledger(_ arguments: String...) throws -> (status: Int32, out: String, err: String) { try regledger(arguments) }

func regledger(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("regledger")
    let bundleDir = Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("regledger")
    let path = FileManager.default.isExecutableFile(atPath: binary.path) ? binary : bundleDir
    let process = Process()
    process.executableURL = path
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// A closed store with a small, known history; returns its directory.
func seededStore() async throws -> String {
    let path = NSTemporaryDirectory() + "cli-\(UUID().uuidString)"
    let ledger = try Ledger(path: path)
    let who = CommandContext(actor: "alice", origin: .cli, requestId: "r1")
    let admin = CommandContext(actor: "root", origin: .quay, requestId: "r2", isAdmin: true)
    let r = try RepositoryRef("acme/web")
    func m(_ i: Int) throws -> Manifest {
        try Manifest(bytes: Array(#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"size":\#(i)},"layers":[]}"#.utf8))
    }
    _ = try await ledger.createRepository(r, context: who)                                   // 1
    _ = try await ledger.putImage(r, manifest: try m(1), tag: try Tag("v1"), context: who)  // 2, 3
    _ = try await ledger.createPolicy(.organization(.defaultId, "acme"), tagPattern: "v.*", context: admin)  // 4, 5
    _ = try? await ledger.putImage(r, manifest: try m(2), tag: try Tag("v1"), context: who)  // refused
    _ = try await ledger.putImage(r, manifest: try m(2), tag: try Tag("dev"), context: who)  // 6, 7
    ledger.close()
    return path
}

@Suite struct RegledgerCLITests {
    @Test func verifyPassesOnAnUntouchedStoreAndFailsWithTheSeqOnATamperedOne() async throws {
        let data = try await seededStore()
        let ok = try regledger("audit", "verify", "--data", data)
        #expect(ok.status == 0, "\(ok.err)")
        #expect(ok.out.hasPrefix("OK 7 events"))
        do {
            let ledger = try Ledger(path: data)
            try ledger.logEnv.write { txn in
                var bytes = try txn.get(ledger.logTables.log.raw, BigEndianU64.encode(4))!
                bytes[12] ^= 0x10
                try txn.put(ledger.logTables.log.raw, BigEndianU64.encode(4), bytes)
            }
            ledger.close()
        }
        let bad = try regledger("audit", "verify", "--data", data)
        #expect(bad.status == 1)
        #expect(bad.out.contains("seq 4"))
        #expect(bad.err.contains("at seq 4"))
    }

    @Test func stateAsJSONAtASeqAndAtATime() async throws {
        let data = try await seededStore()
        let result = try regledger("audit", "state", "--data", data, "--seq", "3", "--json")
        #expect(result.status == 0, "\(result.err)")
        let state = try #require(try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any])
        #expect(state["seq"] as? Int == 3)
        let repos = try #require(state["repositories"] as? [[String: Any]])
        #expect(repos.first?["repositoryName"] as? String == "acme/web")
        let tags = try #require(repos.first?["tags"] as? [[String: Any]])
        #expect(tags.map { $0["tag"] as? String } == ["v1"])
        #expect(tags.first?["immutable"] as? Bool == false)
        // At the head, v1 is flagged and dev exists.
        let now = try regledger("audit", "state", "--data", data, "--at", ISO8601.format(UInt64(Date().timeIntervalSince1970 * 1e6) + 1_000_000), "--json")
        #expect(now.status == 0)
        #expect(now.out.contains(#""tag":"dev""#) && now.out.contains(#""immutable":true"#))
        #expect(now.out.contains(#""organizations":[{"name":"acme""#))
    }

    @Test func badInputExitsTwoWithAMessage() async throws {
        let data = try await seededStore()
        let cases: [([String], String)] = [
            (["audit", "state", "--data", data], "exactly one"),
            (["audit", "state", "--data", data, "--at", "yesterday"], "ISO 8601"),
            (["audit", "state", "--data", data, "--at", "1999-01-01T00:00:00Z"], "before the first event"),
            (["audit", "state", "--data", data, "--seq", "3", "--repository", "acme/none"], "did not exist"),
            (["audit", "state", "--data", data + "-missing", "--seq", "1"], "not a RegistryLedger data directory"),
            (["audit", "history", "--data", data, "--repository", "Bad Name", "--tag", "v1"], "repositoryName"),
            (["audit", "frobnicate"], "Unexpected argument"),
            (["import", "--data", data, "--input", "/dev/null"], "not empty"),
        ]
        for (arguments, words) in cases {
            let run = try regledger(arguments)
            #expect(run.status == 2, "\(arguments): \(run.err)")
            #expect(run.err.contains(words), "\(arguments): \(run.err)")
        }
    }

    @Test func historyShowsEventsAndRefusalsAndDiffShowsChanges() async throws {
        let data = try await seededStore()
        let history = try regledger("audit", "history", "--data", data, "--repository", "acme/web", "--tag", "v1", "--json")
        #expect(history.status == 0, "\(history.err)")
        let types = history.out.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["type"] as? String
        }
        #expect(types == ["tag.set", "tag.flagged", "denied"])
        #expect(history.out.contains(#""reason":"#))
        let diff = try regledger("audit", "diff", "--data", data, "--from", "1", "--to", "7", "--json")
        #expect(diff.status == 0)
        for kind in ["tag.added", "tag.flagged", "policy.created"] { #expect(diff.out.contains(#""kind":"\#(kind)""#)) }
        let log = try regledger("audit", "log", "--data", data, "--repository", "acme/web", "--json")
        #expect(log.out.split(separator: "\n").count == 6)  // all but the organization policy
        #expect(log.out.contains(#""origin":"cli""#) && log.out.contains(#""actor":"alice""#))
    }

    @Test func exportThenImportIntoAnEmptyDirectoryGivesTheSameHashesAndDigest() async throws {
        let data = try await seededStore()
        let file = NSTemporaryDirectory() + "export-\(UUID().uuidString).jsonl"
        let export = try regledger("export", "--data", data, "--output", file)
        #expect(export.status == 0, "\(export.err)")
        let copy = NSTemporaryDirectory() + "import-\(UUID().uuidString)"
        let imported = try regledger("import", "--data", copy, "--input", file)
        #expect(imported.status == 0, "\(imported.err)")
        let original = try regledger("audit", "verify", "--data", data)
        let restored = try regledger("audit", "verify", "--data", copy)
        #expect(restored.status == 0)
        #expect(original.out == restored.out)  // same event count, head and state digest
        let a = try regledger("audit", "log", "--data", data, "--json"), b = try regledger("audit", "log", "--data", copy, "--json")
        #expect(a.out == b.out)
        // A tampered export is refused with the line.
        var lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[2] = lines[2].replacingOccurrences(of: "alice", with: "mallory")
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let refused = try regledger("import", "--data", copy + "-2", "--input", file)
        #expect(refused.status == 2)
        #expect(refused.err.contains("line 3"))
    }
}

@Suite struct RegledgerConcurrencyAndTamperTests {
    @Test func auditCommandsReadWhileAnotherProcessWrites() async throws {
        let data = try await seededStore()
        let ledger = try Ledger(path: data)
        defer { ledger.close() }
        let r = try RepositoryRef("acme/web")
        let writer = Task {
            var i = 0
            while !Task.isCancelled && i < 5_000 {
                i += 1
                let m = try Manifest(bytes: Array(#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"size":\#(1000 + i)}}"#.utf8))
                _ = try await ledger.putImage(r, manifest: m, tag: try Tag("w\(i)"), context: CommandContext(actor: "writer"))
            }
        }
        defer { writer.cancel() }
        // Audit only once the writer is demonstrably writing, so the two overlap.
        let deadline = Date().addingTimeInterval(30)
        while try ledger.headSeq() < 100, Date() < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(try ledger.headSeq() >= 100)
        for _ in 0..<3 {
            let verify = try regledger("audit", "verify", "--data", data)
            #expect(verify.status == 0, "\(verify.err)")
            let log = try regledger("audit", "log", "--data", data, "--json")
            #expect(log.status == 0, "\(log.err)")
            #expect(log.out.split(separator: "\n").count >= 7)
        }
        writer.cancel()
        if case .failure(let error) = await writer.result { Issue.record("writer failed: \(error)") }
        #expect(try ledger.headSeq() > 7)
    }

    @Test func aByteFlippedInTheDataFileIsCaughtNamingTheSeq() async throws {
        let data = try await seededStore()
        // Find record 5 (the flag event) in the raw file and flip one byte of its actor field.
        let record = try {
            let ledger = try Ledger(path: data)
            defer { ledger.close() }
            return try ledger.events(from: 5, limit: 1)[0]
        }()
        var file = try Data(contentsOf: URL(fileURLWithPath: data + "/data.mdb"))
        let needle = Data(record.encoded)
        // Old copies of the page may sit in free pages of the file: flip the byte in every copy.
        var searched = file.startIndex..<file.endIndex
        var flipped = 0
        while let range = file.range(of: needle, in: searched) {
            file[range.lowerBound + 30] ^= 0x01
            flipped += 1
            searched = range.upperBound..<file.endIndex
        }
        #expect(flipped > 0)
        try file.write(to: URL(fileURLWithPath: data + "/data.mdb"))
        let result = try regledger("audit", "verify", "--data", data)
        #expect(result.status == 1)
        #expect(result.err.contains("seq 5"), "\(result.err)")
    }
}

@Suite struct RegledgerLogRangeTests {
    @Test func logSinceAndUntilSelectEventsByTimeInclusively() async throws {
        let data = try await seededStore()
        let all = try regledger("audit", "log", "--data", data, "--json")
        let times = all.out.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["timestamp"] as? String
        }
        #expect(times.count == 7)
        let middle = times[3]
        let since = try regledger("audit", "log", "--data", data, "--since", middle, "--json")
        #expect(since.out.split(separator: "\n").count == times.filter { $0 >= middle }.count)
        let until = try regledger("audit", "log", "--data", data, "--until", middle, "--json")
        #expect(until.out.split(separator: "\n").count == times.filter { $0 <= middle }.count)
        let human = try regledger("audit", "log", "--data", data, "--until", middle)
        #expect(human.out.hasPrefix("#1 "))
        let bad = try regledger("audit", "log", "--data", data, "--since", "last tuesday")
        #expect(bad.status == 2 && bad.err.contains("ISO 8601"))
    }
}
