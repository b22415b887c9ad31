import Foundation
@testable import RegistryLedger
import Testing

/// Lifecycle policies as AWS documents them ("Lifecycle policy properties in Amazon ECR"):
/// every grammar rule checked with the rule and the reason named, and a policy stored, read back,
/// replaced and deleted as events.
@Suite struct LifecyclePolicyTests {
    /// A policy text of the given rules (each a JSON object's body), long enough for the model's
    /// 100-character minimum.
    static func policy(_ rules: String...) -> String { padded(#"{"rules":[\#(rules.joined(separator: ","))]}"#) }

    /// `text` with spaces after it up to 100 characters (JSON allows them).
    static func padded(_ text: String) -> String { text + String(repeating: " ", count: max(0, 100 - text.count)) }

    static let keepTen = #"{"rulePriority":1,"description":"keep ten","selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}"#
    static let oldUntagged = #"{"rulePriority":2,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}"#
    static let archiveAny = #"{"rulePriority":9,"selection":{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":90},"action":{"type":"transition","targetStorageClass":"archive"}}"#

    @Test func documentedPoliciesParseWithRulesInPriorityOrder() throws {
        let p = try LifecyclePolicy(text: Self.policy(Self.archiveAny, Self.oldUntagged, Self.keepTen))
        #expect(p.rules.map(\.rulePriority) == [1, 2, 9])
        #expect(p.rules[0].tagPrefixList == ["v"] && p.rules[0].count == .imageCountMoreThan(10) && p.rules[0].action == .expire)
        #expect(p.rules[1].tagStatus == .untagged && p.rules[1].count == .sinceImagePushed(days: 14))
        #expect(p.rules[2].action == .transitionToArchive)
        let patterns = try LifecyclePolicy(text: Self.policy(#"{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPatternList":["*test*1*2*3","prod*"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}"#))
        #expect(patterns.rules[0].tagPatternList.map(\.filter) == ["*test*1*2*3", "prod*"])
    }

    @Test(arguments: [
        ("{}", "length between 100 and 30720"),
        (String(repeating: "x", count: 120), "not a JSON object"),
        (policy(), "non-empty list"),
        (padded(#"{"rules":[],"extra":1}"#), "non-empty list"),
        (policy(keepTen, keepTen), "same rulePriority"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}"#, oldUntagged),
         "must have the highest rulePriority"),
        (policy(oldUntagged, oldUntagged.replacingOccurrences(of: #""rulePriority":2"#, with: #""rulePriority":3"#)), "at most one rule may have tagStatus 'untagged'"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}"#),
         "needs either tagPrefixList or tagPatternList"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["a"],"tagPatternList":["b*"],"countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}"#),
         "needs either tagPrefixList or tagPatternList"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"untagged","tagPrefixList":["a"],"countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}"#),
         "only for tagStatus 'tagged'"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPatternList":["test*1*2*3*4*5*6"],"countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}"#),
         "more than four wildcards"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPatternList":["bad pattern"],"countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}"#),
         "not a valid pattern"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":[],"countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}"#),
         "non-empty list of strings"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":0},"action":{"type":"expire"}}"#), "at least 1"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countUnit":"days","countNumber":3},"action":{"type":"expire"}}"#),
         "countUnit is only for countType 'sinceImagePushed'"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"any","countType":"sinceImagePushed","countNumber":3},"action":{"type":"expire"}}"#), "needs countUnit 'days'"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"hours","countNumber":3},"action":{"type":"expire"}}"#),
         "needs countUnit 'days'"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":3},"action":{"type":"expire"}}"#),
         "countType must be"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"some","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}"#), "tagStatus must be"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"delete"}}"#), "action.type must be"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"transition"}}"#), "targetStorageClass 'archive'"),
        (policy(#"{"rulePriority":0,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}"#), "positive integer"),
        (policy(#"{"rulePriority":"1","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}"#), "positive integer"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"},"colour":"red"}"#), "unknown property"),
        (policy(#"{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3}}"#), "action is required"),
    ])
    func everyGrammarRuleIsCheckedAndNamed(text: String, reason: String) {
        #expect {
            _ = try LifecyclePolicy(text: text)
        } throws: { error in
            (error as? LedgerError)?.code == .invalidParameter && (error as? LedgerError)?.message.contains(reason) == true
        }
    }

    @Test func aPolicyIsPutReadReplacedAndDeletedAsEventsAndBadOnesChangeNothing() async throws {
        let (ledger, _) = try makeLedger()
        let ref = repo("acme/web")
        _ = try await ledger.createRepository(ref, context: alice)
        let created = try ledger.headSeq()
        let text = Self.policy(Self.keepTen)
        try await ledger.putLifecyclePolicy(ref, text: text, context: alice)
        #expect(try ledger.describeRepositories(names: [ref.name]).items[0].lifecyclePolicy == text)
        try await ledger.putLifecyclePolicy(ref, text: text, context: alice)  // the same text: no event
        #expect(try ledger.headSeq() == created + 1)
        await expectError(.invalidParameter) { try await ledger.putLifecyclePolicy(ref, text: Self.policy(Self.keepTen, Self.keepTen), context: alice) }
        #expect(try ledger.headSeq() == created + 1)
        #expect(try await ledger.deleteLifecyclePolicy(ref, context: alice) == text)
        await expectError(.lifecyclePolicyNotFound) { try await ledger.deleteLifecyclePolicy(ref, context: alice) }
        await expectError(.repositoryNotFound) { try await ledger.putLifecyclePolicy(repo("acme/none"), text: text, context: alice) }
        #expect(try ledger.events().suffix(2).map(\.event.typeName) == ["lifecycle.changed", "lifecycle.changed"])
        #expect(try ledger.state(at: .seq(created + 1), repository: ref).repositories[0].lifecyclePolicy == text)
        #expect(try ledger.state(at: .seq(try ledger.headSeq()), repository: ref).repositories[0].lifecyclePolicy == nil)
        #expect(try ledger.diff(from: .seq(created), to: .seq(created + 1)).map(\.kind) == ["lifecycle.changed"])
        let digest = try ledger.stateDigest()
        #expect(try await ledger.rebuild() == digest)
        let record = try ledger.events()[Int(created)]
        #expect(try EventJSON.parse(EventJSON.line(record)).0 == record)
    }
}
