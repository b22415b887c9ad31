import RegistryLedger

/// Walks every page of the paging fixture's repository through ListImages, `pageSize` a page.
public func walkListImages(_ ledger: Ledger, pageSize: Int, filter: ImageFilter) throws -> (entries: Int, pages: Int) {
    var token: String?
    var entries = 0
    var pages = 0
    repeat {
        let page = try ledger.listImages(Fixtures.pagingRepository, filter: filter, maxResults: pageSize, nextToken: token)
        entries += page.items.count
        pages += 1
        token = page.nextToken
    } while token != nil
    return (entries, pages)
}
