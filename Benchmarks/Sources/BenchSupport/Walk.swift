import RegistryLedger

/// Walks every page of the paging fixture's repository through ListImages, `pageSize` a page.
/// With `readingEach`, every entry is also read as an `ImageEntry` (its tag made a `String`), as
/// a caller that keeps them would: a page holds its entries packed and makes one only when read.
public func walkListImages(_ ledger: Ledger, pageSize: Int, filter: ImageFilter, readingEach: Bool = false) throws -> (entries: Int, pages: Int) {
    var token: String?
    var entries = 0
    var pages = 0
    var tagBytes = 0
    repeat {
        let page = try ledger.listImages(Fixtures.pagingRepository, filter: filter, maxResults: pageSize, nextToken: token)
        if readingEach {
            for entry in page.items { tagBytes &+= entry.tag?.utf8.count ?? 0 }
        }
        entries += page.items.count
        pages += 1
        token = page.nextToken
    } while token != nil
    precondition(tagBytes >= 0)  // keeps the strings made
    return (entries, pages)
}
