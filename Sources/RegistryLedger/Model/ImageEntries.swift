/// The entries of one ListImages page, packed: each entry's bytes copied out of the listing
/// index in one buffer, an ``ImageEntry`` made only when one is read.
///
/// A page of a thousand entries is three allocations instead of an entry (and a tag string) each:
/// ListImages walks at a multiple of SQLite's rate mostly because of it (BENCHMARKS.md). Writers
/// of answers read ``withEntry(at:_:)`` and copy the tag's bytes without making a string.
public struct ImageEntries: RandomAccessCollection, Sendable {
    /// Each entry as the listing key's tail holds it (``ListingKey/tail(_:)``): the digest's 32
    /// raw bytes, then the tag's UTF-8, none for an untagged image.
    private let bytes: [UInt8]
    /// Where each entry ends in `bytes`.
    private let ends: [UInt32]

    public var startIndex: Int { 0 }
    public var endIndex: Int { ends.count }

    public subscript(position: Int) -> ImageEntry {
        withEntry(at: position) { digest, tag in
            // Copied into a new string (validated, repaired like `String(decoding:)`): a third of
            // the generic decoder's instructions (callgrind: 56 against 164 a tag).
            ImageEntry(digest: digest, tag: tag.isEmpty ? nil : String(unsafeUninitializedCapacity: tag.count) { $0.initialize(fromContentsOf: tag) })
        }
    }

    /// Lends entry `position`'s digest and its tag's UTF-8 (empty for an untagged image), valid
    /// only inside `body`.
    public func withEntry<R>(at position: Int, _ body: (Digest, UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let start = position == 0 ? 0 : Int(ends[position - 1])
        return try bytes.withUnsafeBytes { all in
            let (digest, tag) = ListingKey.entry(tail: UnsafeRawBufferPointer(rebasing: all[start..<Int(ends[position])]))
            return try body(digest, tag)
        }
    }

    /// Entries copied out of the listing keys' tails that `collector` lent.
    init(_ collector: Collector) {
        let tails = collector.tails
        let total = tails.reduce(0) { $0 + $1.count }
        var end = 0
        ends = Array(unsafeUninitializedCapacity: tails.count) { ends, initialized in
            for (i, tail) in tails.enumerated() {
                end += tail.count
                ends[i] = UInt32(end)
            }
            initialized = tails.count
        }
        bytes = Array(unsafeUninitializedCapacity: total) { bytes, initialized in
            var at = bytes.baseAddress!
            for tail in tails {
                UnsafeMutableRawPointer(at).copyMemory(from: tail.baseAddress!, byteCount: tail.count)
                at += tail.count
            }
            initialized = total
        }
    }

    /// A page's entries as the walk admits them: listing keys' tails lent from the map, valid
    /// only inside the read transaction. Copied out in one piece (``ImageEntries/init(_:)``),
    /// which costs half what appending each to an array does.
    struct Collector: PageItems {
        fileprivate var tails: [UnsafeRawBufferPointer] = []

        init(reservingCapacity count: Int) { tails.reserveCapacity(count) }

        var count: Int { tails.count }

        mutating func removeLastItem() { tails.removeLast() }

        @inline(__always)
        mutating func append(tail: UnsafeRawBufferPointer) { tails.append(tail) }
    }
}
