@testable import RegistryLedger
import Testing

@Suite struct RepositoryTests {
    @Test func createdRepositoryIsDescribedWithItsSetting() async throws {
        let (ledger, _) = try makeLedger()
        let setting = try TagMutability(mode: .immutableWithExclusion, filters: [WildcardFilter("dev-*")])
        let created = try await ledger.createRepository(repo("acme/web"), mutability: setting, context: alice)
        #expect(created.mutability == setting)
        let described = try ledger.describeRepositories(names: [try RepositoryName("acme/web")]).items
        #expect(described.map(\.name.value) == ["acme/web"])
        #expect(described.first?.mutability == setting)
    }

    @Test func creatingAnExistingRepositoryFailsAndAppendsNothing() async throws {
        let (ledger, _) = try makeLedger()
        _ = try await ledger.createRepository(repo("web1"), context: alice)
        let head = try ledger.headSeq()
        await expectError(.repositoryAlreadyExists) { try await ledger.createRepository(repo("web1"), context: alice) }
        #expect(try ledger.headSeq() == head)
    }

    @Test func describeUnknownRepositoryGivesRepositoryNotFound() async throws {
        let (ledger, _) = try makeLedger()
        await expectError(.repositoryNotFound) { try ledger.describeRepositories(names: [try RepositoryName("nope")]) }
    }

    @Test func describeRepositoriesPagesInNameOrderWithinTheRegistry() async throws {
        let (ledger, _) = try makeLedger()
        let other = try RegistryId("123456789012")
        for i in 0..<25 { _ = try await ledger.createRepository(repo("r\(String(format: "%02d", i))"), context: alice) }
        _ = try await ledger.createRepository(RepositoryRef(registryId: other, name: try RepositoryName("elsewhere")), context: alice)
        var names: [String] = []
        var token: String?
        repeat {
            let page = try ledger.describeRepositories(maxResults: 10, nextToken: token)
            #expect(page.items.count <= 10)
            names += page.items.map(\.name.value)
            token = page.nextToken
        } while token != nil
        #expect(names == (0..<25).map { "r\(String(format: "%02d", $0))" })
        #expect(try ledger.describeRepositories(registryId: other).items.map(\.name.value) == ["elsewhere"])
        await expectError(.invalidParameter) { try ledger.describeRepositories(maxResults: 0) }
        await expectError(.invalidParameter) { try ledger.describeRepositories(maxResults: 1001) }
    }

    @Test func deletingANonEmptyRepositoryNeedsForce() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/app")
        _ = try await ledger.createRepository(r, context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice)
        await expectError(.repositoryNotEmpty) { try await ledger.deleteRepository(r, context: alice) }
        _ = try await ledger.deleteRepository(r, force: true, context: alice)
        await expectError(.repositoryNotFound) { try ledger.listImages(r) }
        // Recreated under the same name, it starts empty.
        _ = try await ledger.createRepository(r, context: alice)
        #expect(try ledger.allEntries(r).isEmpty)
    }

    @Test func deleteIsNotBlockedByImmutability() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/locked")
        _ = try await ledger.createRepository(r, mutability: try TagMutability(mode: .immutable), context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice)
        _ = try await ledger.setTagImmutable(r, tag: tag("v1"), immutable: true, context: alice)
        _ = try await ledger.deleteRepository(r, force: true, context: alice)
        await expectError(.repositoryNotFound) { try ledger.describeRepositories(names: [r.name]) }
    }

    @Test func mutabilityChangeEchoesModeAndFiltersAndAppliesToNextPush() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("svc")
        _ = try await ledger.createRepository(r, context: alice)
        _ = try await ledger.putImage(r, manifest: manifest(1), tag: tag("v1"), context: alice)
        let setting = try TagMutability(mode: .mutableWithExclusion, filters: [WildcardFilter("v*")])
        #expect(try await ledger.putImageTagMutability(r, setting, context: alice) == setting)
        await expectError(.imageTagAlreadyExists) { try await ledger.putImage(r, manifest: manifest(2), tag: tag("v1"), context: alice) }
        await expectError(.repositoryNotFound) { try await ledger.putImageTagMutability(repo("ghost"), setting, context: alice) }
    }
}
