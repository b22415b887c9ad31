/// One repository's images and tags as a checkpoint holds them, borrowed from the map and
/// searched in place: time travel decodes only the rows its events touch, and reads
/// the others once, in order, for the answer. Valid only inside the read transaction that lent
/// the checkpoint.
struct CheckpointContents {
    let repoId: UInt64
    /// Sorted by digest.
    private(set) var images: [(digest: Digest, value: UnsafeRawBufferPointer)] = []
    /// Sorted by name (bytes).
    private(set) var tags: [(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)] = []

    init(repoId: UInt64) { self.repoId = repoId }

    /// Adds a row of `table` (key and value as stored); rows may come in any order until
    /// ``sort()``. A checkpoint holds no listing rows: they follow from the images.
    mutating func add(_ table: ProjectionDatabases.Table, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(DecodingError) {
        guard key.count >= 8, KeyLayout.readU64(key) == repoId else { throw DecodingError(reason: "checkpoint row of another repository") }
        let rest = UnsafeRawBufferPointer(rebasing: key[8...])
        switch table {
        case .images:
            guard rest.count == 32 else { throw DecodingError(reason: "checkpoint image key of \(key.count) bytes") }
            images.append((Digest(rawPointer: rest), value))
        case .tags:
            guard !rest.isEmpty else { throw DecodingError(reason: "checkpoint tag key without a tag") }
            tags.append((rest, value))
        default:
            throw DecodingError(reason: "checkpoint row of \(table) among a repository's contents")
        }
    }

    /// Puts every table in key order (a checkpoint captured in key order is left as it is).
    mutating func sort() {
        func precedes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool { KeyLayout.sortsBefore(a, b) }
        if !images.isSorted(by: { $0.digest < $1.digest }) { images.sort { $0.digest < $1.digest } }
        if !tags.isSorted(by: { precedes($0.name, $1.name) }) { tags.sort { precedes($0.name, $1.name) } }
    }

    func image(_ digest: Digest) throws(DecodingError) -> ImageRecord? {
        let i = images.lowerBound { $0.digest < digest }
        guard i < images.count, images[i].digest == digest else { return nil }
        return try ImageRecord(images[i].value)
    }

    func tag(_ name: String) throws(DecodingError) -> TagRecord? {
        var name = name
        let value = name.withUTF8 { utf8 -> UnsafeRawBufferPointer? in
            let wanted = UnsafeRawBufferPointer(utf8)
            let i = tags.lowerBound { KeyLayout.sortsBefore($0.name, wanted) }
            guard i < tags.count, !KeyLayout.sortsBefore(wanted, tags[i].name) else { return nil }
            return tags[i].value
        }
        return try value.map { v throws(DecodingError) in try TagRecord(v) }
    }
}

extension RandomAccessCollection {
    /// The first index whose element is not `isBelow` (the collection partitioned by it).
    func lowerBound(_ isBelow: (Element) -> Bool) -> Index {
        var (low, count) = (startIndex, self.count)
        while count > 0 {
            let half = count / 2
            let mid = index(low, offsetBy: half)
            if isBelow(self[mid]) { low = index(after: mid); count -= half + 1 } else { count = half }
        }
        return low
    }

    /// Whether the elements are in order.
    func isSorted(by areInIncreasingOrder: (Element, Element) -> Bool) -> Bool {
        zip(self, dropFirst()).allSatisfy { !areInIncreasingOrder($1, $0) }
    }
}
