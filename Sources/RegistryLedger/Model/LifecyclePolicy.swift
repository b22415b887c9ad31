import Foundation

/// An ECR lifecycle policy (SPEC §2.8), parsed and checked: the rules AWS documents in
/// "Lifecycle policy properties", sorted by priority. The store keeps the text as given;
/// this is what the text means.
public struct LifecyclePolicy: Sendable, Hashable {
    public let rules: [LifecycleRule]

    /// The length of a policy text botocore's model allows.
    public static let textLength = 100...30_720

    /// Parses and checks `text`.
    /// - Throws: `InvalidParameterException` naming the rule (by its priority or place) and the
    ///   reason, for anything AWS's grammar does not allow.
    public init(text: String) throws(LedgerError) {
        guard Self.textLength.contains(text.count) else {
            throw .invalid("Invalid parameter at 'lifecyclePolicyText' failed to satisfy constraint: 'Member must have length between 100 and 30720'")
        }
        guard let data = text.data(using: .utf8), let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .invalid("Invalid parameter at 'lifecyclePolicyText': the policy is not a JSON object")
        }
        guard Set(root.keys) == ["rules"], let items = root["rules"] as? [Any], !items.isEmpty else {
            throw .invalid("Invalid parameter at 'lifecyclePolicyText': the policy needs 'rules', a non-empty list, and nothing else")
        }
        var rules: [LifecycleRule] = []
        for (index, item) in items.enumerated() {
            guard let fields = item as? [String: Any] else { throw .invalid("Lifecycle policy rule \(index + 1) is not a JSON object") }
            rules.append(try LifecycleRule(JSONObject(fields), place: index + 1))
        }
        var priorities = Set<Int>()
        for rule in rules where !priorities.insert(rule.rulePriority).inserted {
            throw .invalid("Lifecycle policy rule with priority \(rule.rulePriority): another rule has the same rulePriority; each must be unique")
        }
        rules.sort { $0.rulePriority < $1.rulePriority }
        if let any = rules.first(where: { $0.tagStatus == .any }), any.rulePriority != rules.last!.rulePriority {
            throw .invalid("Lifecycle policy rule with priority \(any.rulePriority): a rule with tagStatus 'any' must have the highest rulePriority")
        }
        if rules.filter({ $0.tagStatus == .untagged }).count > 1 {
            throw .invalid("Lifecycle policy: at most one rule may have tagStatus 'untagged'")
        }
        self.rules = rules
    }
}

/// One rule of a ``LifecyclePolicy``.
public struct LifecycleRule: Sendable, Hashable {
    public enum TagStatus: String, Sendable { case tagged, untagged, any }

    /// What a rule counts: keep the newest `count` images of its selection, or mark those pushed
    /// more than `days` days ago.
    public enum Count: Sendable, Hashable {
        case imageCountMoreThan(Int)
        case sinceImagePushed(days: Int)
    }

    public enum Action: String, Sendable {
        case expire
        /// Moves the image to the archive storage class (SPEC §2.5).
        case transitionToArchive = "transition"
    }

    public let rulePriority: Int
    public let description: String?
    public let tagStatus: TagStatus
    /// `tagged` rules: the image must have a tag starting with each prefix…
    public let tagPrefixList: [String]
    /// …or a tag matching each pattern (wildcards as ECR's exclusion filters).
    public let tagPatternList: [WildcardFilter]
    public let count: Count
    public let action: Action

    init(_ rule: JSONObject, place: Int) throws(LedgerError) {
        func invalid(_ reason: String) -> LedgerError {
            let name = (rule.fields["rulePriority"] as? Int).map { "with priority \($0)" } ?? "\(place)"
            return .invalid("Lifecycle policy rule \(name): \(reason)")
        }
        let known: Set<String> = ["rulePriority", "description", "selection", "action"]
        if let unknown = rule.fields.keys.sorted().first(where: { !known.contains($0) }) { throw invalid("unknown property '\(unknown.prefix(64))'") }
        guard let priority = rule.fields["rulePriority"] as? NSNumber, !JSONObject.isBoolean(priority),
              priority.doubleValue == priority.doubleValue.rounded(), (1...1_000_000).contains(priority.doubleValue) else {
            throw invalid("rulePriority must be a positive integer")
        }
        rulePriority = priority.intValue
        if let text = rule.fields["description"], !(text is String) { throw invalid("description must be a string") }
        description = rule.fields["description"] as? String
        guard let selection = rule.fields["selection"] as? [String: Any] else { throw invalid("selection is required and must be an object") }
        let selectionKeys: Set<String> = ["tagStatus", "tagPrefixList", "tagPatternList", "countType", "countUnit", "countNumber"]
        if let unknown = selection.keys.sorted().first(where: { !selectionKeys.contains($0) }) {
            throw invalid("unknown selection property '\(unknown.prefix(64))'")
        }
        guard let status = (selection["tagStatus"] as? String).flatMap(TagStatus.init(rawValue:)) else {
            throw invalid("selection.tagStatus must be 'tagged', 'untagged' or 'any'")
        }
        tagStatus = status
        func strings(_ key: String) throws(LedgerError) -> [String]? {
            guard let value = selection[key] else { return nil }
            guard let list = value as? [Any], !list.isEmpty, list.allSatisfy({ $0 is String }) else {
                throw invalid("selection.\(key) must be a non-empty list of strings")
            }
            return list.map { $0 as! String }
        }
        let prefixes = try strings("tagPrefixList"), patterns = try strings("tagPatternList")
        switch status {
        case .tagged:
            guard (prefixes == nil) != (patterns == nil) else {
                throw invalid("a rule with tagStatus 'tagged' needs either tagPrefixList or tagPatternList (not both)")
            }
        case .untagged, .any:
            guard prefixes == nil, patterns == nil else {
                throw invalid("tagPrefixList and tagPatternList are only for tagStatus 'tagged'")
            }
        }
        if let prefixes, let bad = prefixes.first(where: { $0.isEmpty || $0.utf8.count > 128 }) {
            throw invalid("the tag prefix '\(bad.prefix(64))' must have 1 to 128 characters")
        }
        tagPrefixList = prefixes ?? []
        var filters: [WildcardFilter] = []
        for pattern in patterns ?? [] {
            guard pattern.utf8.filter({ $0 == UInt8(ascii: "*") }).count <= 4 else {
                throw invalid("the tag pattern '\(pattern.prefix(64))' has more than four wildcards (*)")
            }
            do { filters.append(try WildcardFilter(pattern)) } catch { throw invalid("the tag pattern '\(pattern.prefix(64))' is not a valid pattern: \(error.message)") }
        }
        tagPatternList = filters
        guard let number = selection["countNumber"] as? NSNumber, !JSONObject.isBoolean(number),
              number.doubleValue == number.doubleValue.rounded(), number.doubleValue >= 1, number.doubleValue <= 1_000_000 else {
            throw invalid("selection.countNumber must be an integer of at least 1")
        }
        switch selection["countType"] as? String {
        case "imageCountMoreThan":
            guard selection["countUnit"] == nil else { throw invalid("countUnit is only for countType 'sinceImagePushed'") }
            count = .imageCountMoreThan(number.intValue)
        case "sinceImagePushed":
            guard selection["countUnit"] as? String == "days" else { throw invalid("countType 'sinceImagePushed' needs countUnit 'days'") }
            count = .sinceImagePushed(days: number.intValue)
        default:
            throw invalid("selection.countType must be 'imageCountMoreThan' or 'sinceImagePushed'")
        }
        guard let actionFields = rule.fields["action"] as? [String: Any] else { throw invalid("action is required and must be an object") }
        switch (actionFields["type"] as? String, actionFields["targetStorageClass"] as? String, actionFields.count) {
        case ("expire", nil, 1): action = .expire
        case ("transition", "archive", 2): action = .transitionToArchive
        case ("transition", _, _): throw invalid("action 'transition' needs targetStorageClass 'archive'")
        default: throw invalid("action.type must be 'expire' or 'transition' (with targetStorageClass 'archive')")
        }
    }
}
