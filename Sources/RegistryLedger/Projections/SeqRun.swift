/// A `repoEvents` row: up to ``capacity`` ascending seqs of one repository's events, the first
/// in the key (history id(16), first seq(8)), the others in the value as varint deltas. A
/// repository's seqs fill its rows in order, ``capacity`` a row, so the rows follow from the
/// seqs alone: ``LMDBProjections`` extends the last row event by event and
/// ``MemoryProjections`` cuts the whole list into rows, and the two agree byte for byte.
enum SeqRun {
    static let capacity = 128

    /// The value of a row holding `seqs` (ascending, at most ``capacity``).
    static func encode(_ seqs: ArraySlice<UInt64>, into w: inout BinaryWriter) {
        var previous = seqs.first!
        for seq in seqs.dropFirst() {
            w.varint(seq - previous)
            previous = seq
        }
    }

    /// The value of a row `value` with `seq` added after its last seq, `last`.
    static func appending(_ seq: UInt64, after last: UInt64, to value: UnsafeRawBufferPointer) -> [UInt8] {
        var w = BinaryWriter(capacity: value.count + 3)
        w.raw(value)
        w.varint(seq - last)
        return w.bytes
    }

    /// The seqs of a row whose key names `first`.
    static func decode(first: UInt64, _ value: UnsafeRawBufferPointer) throws(DecodingError) -> [UInt64] {
        var seqs = [first]
        var r = BinaryReader(value)
        while !r.isAtEnd {
            let delta = try r.varint()
            guard delta > 0, seqs.count < capacity else { throw DecodingError(reason: "malformed repository event index row") }
            let (next, overflow) = seqs.last!.addingReportingOverflow(delta)
            guard !overflow else { throw DecodingError(reason: "malformed repository event index row") }
            seqs.append(next)
        }
        return seqs
    }
}
