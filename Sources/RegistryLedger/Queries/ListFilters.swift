/// ECR `filter.tagStatus`.
public enum TagStatusFilter: String, CaseIterable, Sendable {
    case tagged = "TAGGED", untagged = "UNTAGGED", any = "ANY"

    /// - Throws: `InvalidParameterException` for an unknown value.
    public init(parsing s: String) throws(LedgerError) {
        guard let v = Self(rawValue: s) else {
            throw .invalid("Invalid parameter at 'tagStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]'")
        }
        self = v
    }

    func admits(tagged: Bool) -> Bool {
        switch self {
        case .tagged: tagged
        case .untagged: !tagged
        case .any: true
        }
    }
}

/// ECR `filter.imageStatus`; the default admits ACTIVE images only.
public enum ImageStatusFilter: String, CaseIterable, Sendable {
    case active = "ACTIVE", archived = "ARCHIVED", activating = "ACTIVATING", any = "ANY"

    /// - Throws: `InvalidParameterException` for an unknown value.
    public init(parsing s: String) throws(LedgerError) {
        guard let v = Self(rawValue: s) else {
            throw .invalid("Invalid parameter at 'imageStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [ACTIVE, ARCHIVED, ACTIVATING, ANY]'")
        }
        self = v
    }

    /// The one status this filter admits; nil for ANY. Compute it once per page, not per entry.
    var status: ImageStatus? { ImageStatus(rawValue: rawValue) }
}

/// The filter of ListImages and DescribeImages.
public struct ImageFilter: Sendable, Hashable {
    public var tagStatus: TagStatusFilter
    public var imageStatus: ImageStatusFilter

    public init(tagStatus: TagStatusFilter = .any, imageStatus: ImageStatusFilter = .active) {
        self.tagStatus = tagStatus
        self.imageStatus = imageStatus
    }

    var bindingBytes: [UInt8] {
        [UInt8(TagStatusFilter.allCases.firstIndex(of: tagStatus)!), UInt8(ImageStatusFilter.allCases.firstIndex(of: imageStatus)!)]
    }
}

/// Checks ECR's `maxResults` range (1–1000) and applies the default (100).
func pageSize(_ maxResults: Int?) throws(LedgerError) -> Int {
    guard let maxResults else { return 100 }
    guard (1...1000).contains(maxResults) else {
        throw .invalid("Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value between 1 and 1000'")
    }
    return maxResults
}
