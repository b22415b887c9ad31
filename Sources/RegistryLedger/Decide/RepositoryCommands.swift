/// ECR `CreateRepository`: settings other than the defaults and resource tags are events of
/// their own after the creation.
struct CreateRepository: LedgerCommand {
    static let operation = "CreateRepository"
    let ref: RepositoryRef
    let mutability: TagMutability
    let settings: RepositorySettings
    let resourceTags: [ResourceTag]

    func run(_ changes: inout Changes) throws -> Repository {
        guard try changes.view.repository(ref) == nil else {
            throw LedgerError(.repositoryAlreadyExists,
                              "The repository with name '\(ref.name)' already exists in the registry with id '\(ref.registryId)'")
        }
        let tags = try ResourceTag.merging(resourceTags, into: [])
        try changes.emit(.repositoryCreated(ref, mutability))
        if settings != .default { try changes.emit(.settingsChanged(ref, settings)) }
        if !tags.isEmpty { try changes.emit(.resourceTagsChanged(ref, tags)) }
        return Repository(ref: ref, record: try changes.repository(ref))
    }
}

/// ECR `PutImageScanningConfiguration`: an event only when the setting changes.
struct PutImageScanningConfiguration: LedgerCommand {
    static let operation = "PutImageScanningConfiguration"
    let ref: RepositoryRef
    let scanOnPush: Bool

    func run(_ changes: inout Changes) throws -> RepositorySettings {
        var settings = try changes.repository(ref).settings
        guard settings.scanOnPush != scanOnPush else { return settings }
        settings.scanOnPush = scanOnPush
        try changes.emit(.settingsChanged(ref, settings))
        return settings
    }
}

/// ECR `PutLifecyclePolicy` (a text) and `DeleteLifecyclePolicy` (nil): an event only when the
/// text changes. A policy is checked before anything is decided.
struct ChangeLifecyclePolicy: LedgerCommand {
    static let operation = "PutLifecyclePolicy"
    let ref: RepositoryRef
    let text: String?

    /// The text the repository had before.
    func run(_ changes: inout Changes) throws -> String? {
        if let text { _ = try LifecyclePolicy(text: text) }
        let existing = try changes.repository(ref).lifecyclePolicy
        if text == nil, existing == nil {
            throw LedgerError.lifecyclePolicyNotFound(ref)
        }
        if text != existing { try changes.emit(.lifecyclePolicyChanged(ref, text: text)) }
        return existing
    }
}

/// ECR `TagResource` (`add`) and `UntagResource` (`remove`) on a repository: an event with the
/// resulting tags, only when they change.
struct ChangeResourceTags: LedgerCommand {
    static let operation = "TagResource"
    let ref: RepositoryRef
    let add: [ResourceTag]
    let remove: [String]

    func run(_ changes: inout Changes) throws -> [ResourceTag] {
        let existing = try changes.repository(ref).resourceTags
        let removing = Set(remove)
        let tags = try ResourceTag.merging(add, into: existing.filter { !removing.contains($0.key) })
        guard tags != existing else { return existing }
        try changes.emit(.resourceTagsChanged(ref, tags))
        return tags
    }
}

/// ECR `DeleteRepository`: a repository with images needs `force`. Immutability never blocks it.
struct DeleteRepository: LedgerCommand {
    static let operation = "DeleteRepository"
    let ref: RepositoryRef
    let force: Bool

    func run(_ changes: inout Changes) throws -> Repository {
        let repo = try changes.repository(ref)
        if !force, try changes.view.hasImages(repo.repoId) {
            throw LedgerError(.repositoryNotEmpty,
                              "The repository with name '\(ref.name)' in registry with id '\(ref.registryId)' cannot be deleted because it still contains images")
        }
        try changes.emit(.repositoryDeleted(ref))
        return Repository(ref: ref, record: repo)
    }
}

/// ECR `PutImageTagMutability`: applies to every later push at once.
struct PutImageTagMutability: LedgerCommand {
    static let operation = "PutImageTagMutability"
    let ref: RepositoryRef
    let mutability: TagMutability

    func run(_ changes: inout Changes) throws -> TagMutability {
        _ = try changes.repository(ref)
        try changes.emit(.tagMutabilityChanged(ref, mutability))
        return mutability
    }
}
