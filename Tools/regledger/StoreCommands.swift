import ArgumentParser
import Foundation
import RegistryLedger

struct Rebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay the log into fresh projections and switch to them (stop the server first).")
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let (ledger, rebuiltAtOpen) = try store.openForRebuild()
        defer { ledger.close() }
        // An open that found the derived state stale has just rebuilt it: not twice.
        let digest = rebuiltAtOpen ? try ledger.stateDigest()
            : try await ledger.rebuild { RecoveryNotice.toStandardError(.progress(done: $0, total: $1)) }
        print("rebuilt \(try ledger.headSeq()) events; state digest \(digest)")
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write the log as JSON Lines, one event per line, manifests included.")
    @OptionGroup var store: StoreOptions
    @Option(help: "Write to this file instead of standard output.") var output: String?

    func run() async throws {
        let ledger = try store.openReadOnly()
        let sink: FileHandle
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: nil) else { throw LedgerError.invalid("cannot create \(output)") }
            sink = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        } else {
            sink = FileHandle.standardOutput
        }
        defer { if output != nil { try? sink.close() } }
        var buffer = Data()
        let head = try ledger.headSeq()
        let progress = progressReporter("exported")
        try ledger.forEachEvent { record in
            if record.seq % 10_000 == 0 || record.seq == head { progress?(record.seq, head) }
            var manifest: [UInt8]?
            if case .imagePushed(_, let digest, _, _, _) = record.event { manifest = try ledger.manifest(digest) }
            buffer.append(Data((EventJSON.line(record, manifest: manifest) + "\n").utf8))
            if buffer.count > 1 << 20 { sink.write(buffer); buffer.removeAll(keepingCapacity: true) }
        }
        sink.write(buffer)
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load a JSON Lines export into an empty directory; every hash is recomputed.",
        discussion: """
            All or nothing: bad input or a storage fault leaves the directory as it was, and an import \
            that is killed leaves a directory every command refuses until `import` is run again, \
            which starts over.
            """)
    @OptionGroup var store: StoreOptions
    @Option(help: "The export file.") var input: String

    func run() async throws {
        let (head, digest) = try await Ledger.importing(into: store.data) { ledger in
            guard let text = FileManager.default.contents(atPath: input) else { throw LedgerError.invalid("cannot read \(input)") }
            let lines = String(decoding: text, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
            var records: [EventRecord] = []
            var manifests: [[UInt8]] = []
            var lineNumber = 0
            let (lineCount, progress) = (lines.count, progressReporter("imported"))
            for line in lines {
                lineNumber += 1
                do {
                    let (record, manifest) = try EventJSON.parse(String(line))
                    records.append(record)
                    if let manifest { manifests.append(manifest) }
                } catch let error as LedgerError {
                    throw LedgerError.invalid("\(input) line \(lineNumber): \(error.message)")
                }
                if records.count == 10_000 {
                    try await ledger.append(imported: records, manifests: manifests)
                    (records, manifests) = ([], [])
                    progress?(UInt64(lineNumber), UInt64(lineCount))
                }
            }
            try await ledger.append(imported: records, manifests: manifests)
            return (try ledger.headSeq(), try ledger.stateDigest())
        }
        print("imported \(head) events; state digest \(digest)")
    }
}
