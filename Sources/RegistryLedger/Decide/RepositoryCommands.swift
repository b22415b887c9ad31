/// ECR `CreateRepository`.
struct CreateRepository: LedgerCommand {
    static let operation = "CreateRepository"
    let ref: RepositoryRef
    let mutability: TagMutability

    func run(_ changes: inout Changes) throws -> Repository {
        guard try changes.view.repository(ref) == nil else {
            throw LedgerError(.repositoryAlreadyExists,
                              "The repository with name '\(ref.name)' already exists in the registry with id '\(ref.registryId)'")
        }
        try changes.emit(.repositoryCreated(ref, mutability))
        return Repository(ref: ref, record: try changes.repository(ref))
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
