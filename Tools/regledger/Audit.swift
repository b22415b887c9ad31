import ArgumentParser
import Foundation
@_spi(Cluster) import RegistryLedger
@_spi(Cluster) import RegistryLedgerPostgres

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
            abstract: "Prove the store untampered: hash chain, projections against a replay, manifests. Exit 1 on any mismatch.",
            discussion: """
                --cluster URL walks the cluster's log in PostgreSQL (dense seqs, chain, manifests). --data DIR on a \
                cluster node (its DIR records the URL) also checks that the node's copy equals the cluster's log up to its head.
                """)
        @Option(name: .long, help: "The store's data directory.") var data: String?
        @Option(name: .long, help: "The cluster's PostgreSQL URL (postgres://USER:PASS@HOST:PORT/DB).") var cluster: String?

        func validate() throws {
            guard data != nil || cluster != nil else { throw ValidationError("give --data DIR, --cluster URL, or both") }
        }

        func run() async throws {
            var failures: [String] = []
            var ledger: Ledger?
            if let data {
                var store = StoreOptions()
                store.data = data
                let opened = try store.openReadOnly()
                ledger = opened
                let report = try opened.verify(progress: progressReporter("verified"))
                if report.isValid {
                    print("OK \(report.eventsVerified) events, \(report.manifestsVerified) manifests verified; head seq \(report.headSeq); state digest \(report.storedDigest)")
                } else {
                    for problem in report.problems { print("FAIL \(problem)") }
                    failures.append("verification failed" + (report.firstBadSeq.map { " at seq \($0)" } ?? ""))
                }
            }
            if let url = cluster ?? data.flatMap(Self.recordedClusterURL) {
                let shared: PostgresLog
                do { shared = try PostgresLog(url: url) } catch let error as ClusterError { throw LedgerError.invalid("cannot reach the cluster: \(error)") }
                defer { shared.shutdown() }
                let report = try Ledger.verifySharedLog(shared, progress: progressReporter("verified in the cluster's log"))
                if report.isValid {
                    print("OK the cluster's log at \(shared.location): \(report.eventsVerified) events, \(report.manifestsVerified) manifests verified; head seq \(report.headSeq)")
                } else {
                    for problem in report.problems { print("FAIL the cluster's log: \(problem)") }
                    failures.append("the cluster's log failed verification" + (report.firstBadSeq.map { " at seq \($0)" } ?? ""))
                }
                if let ledger {
                    if let seq = try ledger.firstDifference(from: shared) {
                        print("FAIL this node's copy of the log differs from the cluster's at seq \(seq)")
                        failures.append("this node's copy differs from the cluster's log at seq \(seq)")
                    } else {
                        print("OK this node's copy equals the cluster's log up to seq \(try ledger.headSeq())")
                    }
                }
            }
            if let failure = failures.first { throw VerificationFailed(message: failure) }
        }

        /// The cluster URL `regledger serve --cluster` recorded in a node's directory.
        static func recordedClusterURL(_ data: String) -> String? {
            (try? String(contentsOfFile: data + "/cluster-url", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}
