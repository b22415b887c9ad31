import Foundation
@testable import RegistryLedger
import Testing

@Suite struct ExportImportTests {
    @Test func exportThenImportReproducesEveryHashAndTheStateDigest() async throws {
        let (source, _) = try makeLedger()
        try await runRandomCommands(source, count: 2000, seed: 31)
        let records = try source.events()
        let lines = try records.map { record -> String in
            var manifest: [UInt8]?
            if case .imagePushed(_, let d, _, _, _) = record.event { manifest = try source.manifest(d) }
            return EventJSON.line(record, manifest: manifest)
        }
        let parsed = try lines.map(EventJSON.parse)
        #expect(parsed.map(\.0) == records)
        let (target, _) = try makeLedger()
        try await target.append(imported: parsed.map(\.0), manifests: parsed.compactMap(\.1))
        #expect(try target.events().map(\.hash) == records.map(\.hash))
        #expect(try target.stateDigest() == source.stateDigest())
        #expect(try target.verify().isValid)
    }

    @Test func anImportPlacesEachManifestAtItsFirstPushAndRefusesOneItDoesNotCarry() async throws {
        let (source, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await source.createRepository(r, context: alice)
        for i in 0..<3 { _ = try await source.putImage(r, manifest: manifest(i), tag: tag("v\(i)"), context: alice) }
        _ = try await source.putImage(repo("acme/web"), manifest: manifest(0), tag: tag("again"), context: alice)  // a tag move: no push
        let records = try source.events()
        // Without the second manifest: refused naming its push, and nothing imported.
        let (target, _) = try makeLedger()
        let missing = manifest(1).digest
        let error = await expectError(.invalidParameter) {
            try await target.append(imported: records, manifests: [manifest(0).bytes, manifest(2).bytes])
        }
        #expect(error?.message.contains("names manifest \(missing), which the import does not carry") == true)
        #expect(try target.headSeq() == 0 && target.manifest(manifest(0).digest) == nil)
        // Whole: each manifest in the log's tail under the seq of its push, as in the source.
        try await target.append(imported: records, manifests: (0..<3).map { manifest($0).bytes })
        let placed = { (ledger: Ledger) in
            try ledger.logEnv.read { txn in
                var out: [UInt64] = []
                try txn.forEach(ledger.logTables.manifestLog!) { e in out.append(try e.key()); return true }
                return out
            }
        }
        #expect(try placed(target) == placed(source) && placed(target).count == 3)
        for i in 0..<3 { #expect(try target.manifest(manifest(i).digest) == manifest(i).bytes) }
    }

    @Test func lineCarriesTheContractFields() async throws {
        let (ledger, _) = try makeLedger()
        _ = try await ledger.createRepository(repo("acme/web"), context: alice)
        let line = EventJSON.line(try ledger.events()[0])
        for field in [#""seq":1"#, #""actor":"alice""#, #""origin":"ecr""#, #""requestId":"req-1""#, #""type":"repository.created""#,
                      #""registryId":"000000000000""#, #""repositoryName":"acme/web""#, #""prevHash":"0000"#, #""imageTagMutability":"MUTABLE""#] {
            #expect(line.contains(field), "missing \(field) in \(line)")
        }
        #expect(line.range(of: #""timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z""#, options: .regularExpression) != nil)
    }

    @Test func editedLinesAreRejectedWithTheReason() async throws {
        let (ledger, _) = try makeLedger()
        _ = try await ledger.createRepository(repo("acme/web"), context: alice)
        let line = EventJSON.line(try ledger.events()[0])
        for (bad, reason) in [(line.replacingOccurrences(of: "alice", with: "mallory"), "hash"), ("{", "JSON"), ("[]", "JSON"),
                              (line.replacingOccurrences(of: #""seq":1"#, with: #""seq":"1""#), "seq"),
                              (line.replacingOccurrences(of: #""seq":1"#, with: #""seq":true"#), "seq")] {
            let error = await expectError(.invalidParameter) { try EventJSON.parse(bad) }
            #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
        }
    }

    @Test func isoTimesRoundTripAtMicrosecondsAndBadOnesAreRefused() {
        for micros: UInt64 in [0, 1, 1_700_000_000_123_456, 4_102_444_800_000_000] {
            #expect(ISO8601.parse(ISO8601.format(micros)) == micros)
        }
        #expect(ISO8601.parse("2026-11-22T10:00:00Z") == 1_795_341_600_000_000)
        #expect(ISO8601.parse("2026-11-22T12:00:00+02:00") == 1_795_341_600_000_000)
        #expect(ISO8601.parse("2026-11-22T10:00:00.5Z") == 1_795_341_600_500_000)
        for bad in ["", "2026-11-22", "2026-13-01T00:00:00Z", "2026-11-22T10:00:00", "2026-11-22T10:00:00.Z", "x2026-11-22T10:00:00Z"] {
            #expect(ISO8601.parse(bad) == nil, "\(bad)")
        }
    }
}
