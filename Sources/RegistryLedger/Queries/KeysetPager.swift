import Foundation
import LMDB

/// Keyset paging over one key range, shared by every paged query: the one place that holds the
/// paging guarantee.
///
/// A page resumes strictly after the key its token names, so an entry whose key is fixed for a
/// whole walk is returned exactly once and no entry twice, whatever writers do between pages.
/// A token is issued only when a further admitted entry exists, so the last page has none.
struct KeysetPager {
    let kind: PageToken.Kind
    /// What tokens are bound to: repository incarnation, filter.
    let binding: [UInt8]
    /// Keys are `base + position`; tokens carry the position only.
    let base: [UInt8]
    /// The range scanned: keys starting with it (equal to or longer than `base`).
    let prefix: [UInt8]
    let key: HMACKey

    /// One page of at most `limit` items and the token for the next: `admit` appends the item an
    /// entry maps to, or nothing to skip it. It appends in place, so an item is never copied (a
    /// copy of one that holds a string costs a retain and a release). Inlined into each query so
    /// that `admit` is too: it runs once per entry walked.
    @inline(__always)
    func page<Items: PageItems, K, V>(_ reader: ProjectionReader, _ table: Table<K, V>, limit: Int, nextToken: String?,
                                      admit: (Table<K, V>.Entry, inout Items) throws -> Void) throws -> (items: Items, nextToken: String?) {
        let resume = try nextToken.map { token throws(LedgerError) in
            base + (try PageToken.open(token, kind, binding: binding, key: key))
        }
        // One loop over the cursor (`admit` is inlined with the pager): the ListImages hot path.
        let (items, lastPosition, more) = try reader.txn.withCursor(table) { c -> (Items, [UInt8], Bool) in
            var items = Items(reservingCapacity: min(limit + 1, 1025))
            var lastPosition: [UInt8] = []
            let from = resume ?? prefix
            var entry = from.isEmpty ? try c.first() : try c.seek(atOrAfterBytes: from)
            // The walk starts at the resume key itself when it still exists: skip it.
            if let resume, let e = entry, e.rawKey.count == resume.count, e.keyHasPrefix(resume) {
                entry = try c.next()
            }
            return try prefix.withUnsafeBytes { prefix in
                while let e = entry, e.keyHasPrefix(prefix) {
                    let before = items.count
                    try admit(e, &items)
                    if items.count > before, items.count >= limit {
                        // One admitted beyond the page: the token's proof that more remain.
                        if items.count > limit { items.removeLastItem(); return (items, lastPosition, true) }
                        lastPosition = Array(e.rawKey[base.count...])
                    }
                    entry = try c.next()
                }
                return (items, lastPosition, false)
            }
        }
        let token = more ? PageToken.make(kind, binding: binding, position: lastPosition, key: key) : nil
        return (items, token)
    }
}

/// What a page collects its items in: an array, or the packed ``ImageEntries``.
protocol PageItems {
    init(reservingCapacity count: Int)
    var count: Int { get }
    mutating func removeLastItem()
}

extension Array: PageItems {
    init(reservingCapacity count: Int) {
        self.init()
        reserveCapacity(count)
    }

    mutating func removeLastItem() { removeLast() }
}
