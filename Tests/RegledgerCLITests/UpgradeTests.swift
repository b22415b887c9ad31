import Foundation
import Testing

/// A copy of the store that RegistryLedger wrote at projection format 5, when log and derived
/// state shared one LMDB environment (Tests/Fixtures/format5-store).
func formatFiveStore() throws -> (path: String, fixture: URL) {
    let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/format5-store")
    let path = NSTemporaryDirectory() + "format5-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    let gunzip = Process()
    gunzip.executableURL = URL(fileURLWithPath: "/bin/sh")
    gunzip.arguments = ["-c", "gunzip -c \"$0\" > \"$1\"", fixture.appendingPathComponent("data.mdb.gz").path, path + "/data.mdb"]
    try gunzip.run()
    gunzip.waitUntilExit()
    #expect(gunzip.terminationStatus == 0)
    return (path, fixture)
}

@Suite struct UpgradeTests {
    @Test func aStoreOfTheEarlierLayoutOpensWithTheSameLogHashesStateAndHistory() throws {
        let (path, fixture) = try formatFiveStore()
        func expected(_ name: String) throws -> String { try String(contentsOf: fixture.appendingPathComponent(name), encoding: .utf8) }
        // Read-only commands cannot upgrade it, and say what to run.
        let refused = try regledger("audit", "verify", "--data", path)
        #expect(refused.status == 2 && refused.err.contains("regledger rebuild"), "\(refused.err)")
        // A writable open upgrades it in place and says so.
        let rebuilt = try regledger("rebuild", "--data", path)
        #expect(rebuilt.status == 0, "\(rebuilt.err)")
        #expect(rebuilt.err.contains("upgraded a store written by an earlier version"), "\(rebuilt.err)")
        #expect(FileManager.default.fileExists(atPath: path + "/state/data.mdb"))
        let log = try regledger("audit", "log", "--data", path, "--json")
        let expectedLog = try expected("log.jsonl")
        #expect(log.status == 0 && log.out == expectedLog, "the log is carried over with the same seqs and hashes")
        let state = try regledger("audit", "state", "--data", path, "--seq", "44", "--json")
        let expectedState = try expected("state.json")
        #expect(state.out == expectedState)
        let history = try regledger("audit", "history", "--data", path, "--repository", "acme/web", "--tag", "v1", "--json")
        let expectedHistory = try expected("history-acme-web-v1.jsonl")
        #expect(history.out == expectedHistory, "denials carried over and indexed")
        let verify = try regledger("audit", "verify", "--data", path)
        #expect(verify.status == 0 && verify.out.hasPrefix("OK 44 events, 14 manifests verified"), "\(verify.out) \(verify.err)")
        // Its manifests, kept by digest as that version kept them, are read through the new state.
        let export = try regledger("export", "--data", path)
        let pushes = export.out.split(separator: "\n").filter { $0.contains(#""type":"image.pushed""#) }
        #expect(export.status == 0 && !pushes.isEmpty && pushes.allSatisfy { $0.contains(#""manifest":""#) }, "\(export.err)")
        // Opening it again is an ordinary open.
        let again = try regledger("rebuild", "--data", path)
        #expect(again.status == 0 && !again.err.contains("upgraded"))
    }
}
