import ArgumentParser
import Foundation
import RegistryLedger

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the log and the registry's history (read-only; safe while a server writes).",
        subcommands: [Log.self, State.self, History.self, Diff.self, Verify.self])

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List events, optionally of one repository and a time range.")
        @OptionGroup var store: StoreOptions
        @Option(help: "Only events of this repository.") var repository: String?
        @Option(help: "Only events at or after this time (ISO 8601).") var since: String?
        @Option(help: "Only events at or before this time (ISO 8601).") var until: String?
        @Flag(help: "JSON Lines output.") var json = false

        func run() async throws {
            let since = try self.since.map { try parseTime($0, "--since") }
            let until = try self.until.map { try parseTime($0, "--until") }
            let name = try self.repository.map { try RepositoryName($0) }
            let ledger = try store.openReadOnly()
            let repository = name.map { store.repository($0, in: ledger) }
            try ledger.forEachEvent(repository: repository, since: since, until: until) { record in
                print(json ? EventJSON.line(record) : Output.eventLine(record))
            }
        }
    }

    struct State: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the registry as it was at a time or seq.")
        @OptionGroup var store: StoreOptions
        @Option(help: "A time (ISO 8601): the state after the last event at or before it.") var at: String?
        @Option(help: "A seq: the state after that event.") var seq: UInt64?
        @Option(help: "Only this repository (and its organization).") var repository: String?
        @Flag(help: "JSON output.") var json = false

        func validate() throws {
            guard (at == nil) != (seq == nil) else { throw ValidationError("give exactly one of --at and --seq") }
        }

        func run() async throws {
            let point: LogPoint = try seq.map { .seq($0) } ?? .time(parseTime(at!, "--at"))
            let name = try self.repository.map { try RepositoryName($0) }
            let ledger = try store.openReadOnly()
            let repository = name.map { store.repository($0, in: ledger) }
            let state = try ledger.state(at: point, repository: repository)
            if let repository, state.repositories.isEmpty {
                throw LedgerError.invalid("repository \(repository.name) did not exist at seq \(state.seq)")
            }
            print(json ? Output.stateJSON(state) : Output.stateText(state))
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every change of one tag, and every refused attempt on it.")
        @OptionGroup var store: StoreOptions
        @Option(help: "The repository.") var repository: String
        @Option(help: "The tag.") var tag: String
        @Flag(help: "JSON Lines output.") var json = false

        func run() async throws {
            let name = try RepositoryName(repository)
            _ = try RegistryLedger.Tag(tag)
            let ledger = try store.openReadOnly()
            let ref = store.repository(name, in: ledger)
            let entries = try ledger.tagHistory(ref, tag: tag)
            if entries.isEmpty { throw LedgerError.invalid("tag \(tag) of \(repository) has no history") }
            for entry in entries { print(json ? Output.historyJSON(entry) : Output.historyLine(entry)) }
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What changed between two points (times or seqs).")
        @OptionGroup var store: StoreOptions
        @Option(help: "From: an ISO 8601 time or a seq.") var from: String
        @Option(help: "To: an ISO 8601 time or a seq.") var to: String
        @Flag(help: "JSON Lines output.") var json = false

        func run() async throws {
            let (a, b) = (try parsePoint(from, "--from"), try parsePoint(to, "--to"))
            let ledger = try store.openReadOnly()
            for change in try ledger.diff(from: a, to: b) {
                print(json ? Output.changeJSON(change) : Output.changeLine(change))
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prove the store untampered: hash chain, projections against a replay, manifests. Exit 1 on any mismatch.")
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let ledger = try store.openReadOnly()
            let report = try ledger.verify(progress: progressReporter("verified"))
            guard report.isValid else {
                for problem in report.problems { print("FAIL \(problem)") }
                throw VerificationFailed(message: "verification failed" + (report.firstBadSeq.map { " at seq \($0)" } ?? ""))
            }
            print("OK \(report.eventsVerified) events, \(report.manifestsVerified) manifests verified; head seq \(report.headSeq); state digest \(report.storedDigest)")
        }
    }
}
