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
    let secret: [UInt8]

    /// One page of at most `limit` items: `admit` maps an entry to an item, or nil to skip it.
    func page<Item: Sendable>(_ reader: ProjectionReader, _ db: Database, limit: Int, nextToken: String?,
                              admit: (Cursor.Entry) throws -> Item?) throws -> Page<Item> {
        let resume = try nextToken.map { token throws(LedgerError) in
            base + (try PageToken.open(token, kind, binding: binding, secret: secret))
        }
        var items: [Item] = []
        items.reserveCapacity(min(limit, 1024))
        var lastPosition: [UInt8] = []
        var more = false
        var first = true
        try reader.scan(db, prefix: prefix, from: resume) { e in
            // The walk starts at the resume key itself when it still exists: skip it.
            if first {
                first = false
                if let resume, e.key.count == resume.count, memcmp(e.key.baseAddress!, resume, resume.count) == 0 { return true }
            }
            guard let item = try admit(e) else { return true }
            if items.count == limit { more = true; return false }
            items.append(item)
            if items.count == limit { lastPosition = Array(e.key[base.count...]) }
            return true
        }
        let token = more ? PageToken.make(kind, binding: binding, position: lastPosition, secret: secret) : nil
        return Page(items: items, nextToken: token)
    }
}
