import ArgumentParser
import Foundation
import RegistryAPI
import RegistryLedger

struct Lifecycle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "ECR lifecycle policies (SPEC §2.8).", subcommands: [LifecycleRun.self])
}

struct LifecycleRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Evaluate the lifecycle policies now and carry them out (stop the server first; it runs them on its own schedule).",
        discussion: """
            Every repository with a policy, or only --repository. Each expiry or transition is an event \
            with actor `lifecycle` and the rule's priority; an image with a deletion-protected tag is kept \
            and the refusal recorded as a denial. --dry-run changes nothing and prints what a run would do.
            """)
    @OptionGroup var store: StoreOptions
    @Option(help: "Only this repository (in the store's default registry).") var repository: String?
    @Flag(help: "Change nothing; print what a run would do.") var dryRun = false
    @Flag(help: "One JSON object per image acted on or kept.") var json = false

    func run() async throws {
        let ledger = try store.openWritable()
        defer { ledger.close() }
        let ref = try repository.map { store.repository(try RepositoryName($0), in: ledger) }
        var context = Ledger.lifecycleActor
        context.origin = .cli
        for result in try await ledger.runLifecycle(ref, dryRun: dryRun, context: context) {
            for outcome in result.outcomes {
                if json {
                    var line = ECRService.previewResult(outcome)
                    line["registryId"] = result.repository.registryId.value
                    line["repositoryName"] = result.repository.name.value
                    line["dryRun"] = dryRun
                    print(Output.json(line))
                } else {
                    let image = "\(result.repository.name) \(outcome.image.digest) [\(outcome.image.tags.joined(separator: ", "))]"
                    switch outcome.action {
                    case .expire?: print("\(dryRun ? "would expire" : "expired") \(image) (rule \(outcome.rulePriority))")
                    case .transitionToArchive?: print("\(dryRun ? "would archive" : "archived") \(image) (rule \(outcome.rulePriority))")
                    case nil:
                        let by = outcome.image.protectedBy.map { "tag \($0.tag), \($0.cause)" } ?? "a protected tag"
                        print("kept \(image): rule \(outcome.rulePriority) would have acted on it, but it is protected (\(by))")
                    }
                }
            }
        }
    }
}
