import Foundation
@testable import RegistryLedger
import Testing

@Suite struct PagingTests {
    /// A repository with `tagged` tagged images (one tag each) and `untagged` untagged ones.
    func seeded(tagged: Int, untagged: Int) async throws -> (Ledger, RepositoryRef) {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<(tagged + untagged) {
                group.addTask {
                    _ = try await ledger.putImage(r, manifest: manifest(i), tag: i < tagged ? tag("t\(i)") : nil, context: alice)
                }
            }
            try await group.waitForAll()
        }
        return (ledger, r)
    }

    @Test func pagesCoverEveryEntryOnceWithTokenAbsentOnLastPage() async throws {
        let (ledger, r) = try await seeded(tagged: 250, untagged: 30)
        var seen: [ImageEntry] = []
        var token: String?
        var pages = 0
        repeat {
            let page = try ledger.listImages(r, maxResults: 100, nextToken: token)
            seen += page.items
            token = page.nextToken
            pages += 1
        } while token != nil
        #expect(pages == 3)
        #expect(seen.count == 280 && Set(seen).count == 280)
        #expect(seen.filter { $0.tag == nil }.count == 30)
        // Exactly one full page: no token, no empty trailing page.
        let (small, sr) = try await seeded(tagged: 5, untagged: 0)
        #expect(try small.listImages(sr, maxResults: 5).nextToken == nil)
    }

    @Test func packedPagesHoldEachEntryExactlyAsListedWhateverItsTagLength() async throws {
        let (ledger, _) = try makeLedger()
        let r = repo("acme/web")
        _ = try await ledger.createRepository(r, context: alice)
        let longest = String(repeating: "x", count: 300)
        let tags: [String?] = ["a", "v1.0", String(repeating: "b", count: 128), longest, nil, "z", nil]
        var expected: [ImageEntry] = []
        for (i, name) in tags.enumerated() {
            _ = try await ledger.putImage(r, manifest: manifest(i), tag: try name.map { try Tag($0) }, context: alice)
            expected.append(ImageEntry(digest: manifest(i).digest, tag: name))
        }
        // The store's order: tagged entries first, each kind by digest, then tag.
        expected.sort { ($0.tag == nil ? 1 : 0, $0.digest, $0.tag ?? "") < ($1.tag == nil ? 1 : 0, $1.digest, $1.tag ?? "") }
        for size in 1...4 {  // every page boundary, so each page ends after a tag of another length
            var seen: [ImageEntry] = []
            var token: String?
            repeat {
                let page = try ledger.listImages(r, maxResults: size, nextToken: token)
                #expect(page.items.count == size || page.nextToken == nil)
                for i in page.items.indices {
                    // What answer writers borrow is what the collection hands out.
                    page.items.withEntry(at: i) { digest, tag in
                        #expect(ImageEntry(digest: digest, tag: tag.isEmpty ? nil : String(decoding: tag, as: UTF8.self)) == page.items[i])
                    }
                }
                seen += page.items
                token = page.nextToken
            } while token != nil
            #expect(seen == expected, "pages of \(size)")
        }
    }

    @Test func defaultPageSizeIsOneHundredAndBoundsAreEnforced() async throws {
        let (ledger, r) = try await seeded(tagged: 120, untagged: 0)
        #expect(try ledger.listImages(r).items.count == 100)
        await expectError(.invalidParameter) { try ledger.listImages(r, maxResults: 0) }
        await expectError(.invalidParameter) { try ledger.listImages(r, maxResults: 1001) }
        #expect(try ledger.listImages(r, maxResults: 1000).items.count == 120)
    }

    @Test func tagStatusFilterSelectsTaggedOrUntagged() async throws {
        let (ledger, r) = try await seeded(tagged: 10, untagged: 4)
        #expect(try ledger.allEntries(r, filter: ImageFilter(tagStatus: .tagged), pageSize: 3).count == 10)
        let untagged = try ledger.allEntries(r, filter: ImageFilter(tagStatus: .untagged), pageSize: 3)
        #expect(untagged.count == 4 && untagged.allSatisfy { $0.tag == nil })
        #expect(try ledger.allEntries(r, filter: ImageFilter(tagStatus: .any), pageSize: 3).count == 14)
        #expect(throws: LedgerError.self) { try TagStatusFilter(parsing: "SOME") }
        #expect(throws: LedgerError.self) { try ImageStatusFilter(parsing: "DELETED") }
    }

    @Test func describeImagesPagesAndFilters() async throws {
        let (ledger, r) = try await seeded(tagged: 30, untagged: 5)
        var all: [ImageDetail] = []
        var token: String?
        repeat {
            let page = try ledger.describeImages(r, maxResults: 7, nextToken: token)
            all += page.items
            token = page.nextToken
        } while token != nil
        #expect(all.count == 35 && Set(all.map(\.digest)).count == 35)
        #expect(try ledger.describeImages(r, filter: ImageFilter(tagStatus: .untagged)).items.count == 5)
        await expectError(.imageNotFound) { try ledger.describeImages(r, imageIds: [ImageIdentifier(tag: "missing")]) }
        #expect(try ledger.describeImages(r, imageIds: [ImageIdentifier(tag: "t1")]).items.first?.tags == ["t1"])
    }

    @Test func forgedTruncatedForeignAndStaleTokensAreRejected() async throws {
        let (ledger, r) = try await seeded(tagged: 20, untagged: 0)
        let other = repo("acme/other")
        _ = try await ledger.createRepository(other, context: alice)
        let token = try #require(try ledger.listImages(r, maxResults: 5).nextToken)
        var flipped = Array(token.utf8)
        flipped[flipped.count / 2] = flipped[flipped.count / 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let bad = [String(decoding: flipped, as: UTF8.self), String(token.dropLast(3)), "", "!!!", "AAAA", token + "A",
                   String(repeating: "A", count: 5000)]
        for t in bad {
            await expectError(.invalidParameter) { try ledger.listImages(r, maxResults: 5, nextToken: t) }
        }
        // Bound to repository, filter and operation.
        await expectError(.invalidParameter) { try ledger.listImages(other, maxResults: 5, nextToken: token) }
        await expectError(.invalidParameter) { try ledger.listImages(r, filter: ImageFilter(tagStatus: .tagged), maxResults: 5, nextToken: token) }
        await expectError(.invalidParameter) { try ledger.describeImages(r, maxResults: 5, nextToken: token) }
        // A token of another store (another secret) is foreign too.
        let (second, _) = try makeLedger()
        _ = try await second.createRepository(r, context: alice)
        await expectError(.invalidParameter) { try second.listImages(r, maxResults: 5, nextToken: token) }
        // A token outlives a deleted-and-recreated repository only as an error.
        _ = try await ledger.deleteRepository(r, force: true, context: alice)
        _ = try await ledger.createRepository(r, context: alice)
        await expectError(.invalidParameter) { try ledger.listImages(r, maxResults: 5, nextToken: token) }
    }

    @Test func tokenTextIsUnpaddedBase64URLAndAnythingElseIsRefused() throws {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ length) }
            let standard = Data(bytes).base64EncodedString()
            let expected = String(standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .prefix { $0 != "=" })
            let text = PageToken.base64url(bytes)
            #expect(text == expected)
            #expect(PageToken.fromBase64url(text) == bytes)
        }
        // Padding, the standard alphabet, a length no encoding has, stray bits in the last character.
        for bad in ["AA==", "ab+/", "A", "AAAAA", "AB", "AAB", " AAA"] {
            #expect(PageToken.fromBase64url(bad) == nil, "\(bad)")
        }
        #expect(PageToken.fromBase64url("AQ") == [1])
        #expect(PageToken.fromBase64url("AQI") == [1, 2])
    }

    /// The paging guarantee: while a writer adds, moves and deletes tags, a walk sees every entry
    /// that existed for the whole walk exactly once and never sees any entry twice.
    @Test func pagingWhileWritersRunSeesStableEntriesExactlyOnce() async throws {
        let (ledger, r) = try await seeded(tagged: 600, untagged: 0)
        let stable = Set(try ledger.allEntries(r).filter { $0.tag.map { Int($0.dropFirst())! % 3 == 0 } ?? false })
        let writer = Task {
            var i = 0
            while !Task.isCancelled {
                i += 1
                // Add a new tag, move a non-stable tag, delete a non-stable tag.
                _ = try? await ledger.putImage(r, manifest: manifest(10_000 + i), tag: tag("n\(i)"), context: alice)
                _ = try? await ledger.putImage(r, manifest: manifest(20_000 + i), tag: tag("t\(3 * (i % 200) + 1)"), context: alice)
                _ = try? await ledger.batchDeleteImage(r, imageIds: [ImageIdentifier(tag: "t\(3 * (i % 200) + 2)")], context: alice)
            }
        }
        defer { writer.cancel() }
        var round = 100_000
        for _ in 0..<3 {
            var seen: [ImageEntry] = []
            var token: String?
            repeat {
                let page = try ledger.listImages(r, maxResults: 37, nextToken: token)
                seen += page.items
                token = page.nextToken
                // And between every two pages, a move and a new tag for certain.
                round += 1
                _ = try await ledger.putImage(r, manifest: manifest(round), tag: tag("t\(3 * (round % 200) + 1)"), context: alice)
                _ = try await ledger.putImage(r, manifest: manifest(round + 50_000), tag: tag("m\(round)"), context: alice)
            } while token != nil
            #expect(Set(seen).count == seen.count, "an entry was seen twice")
            #expect(stable.isSubset(of: Set(seen)), "a stable entry was missed")
        }
        writer.cancel()
        _ = await writer.result
    }
}
