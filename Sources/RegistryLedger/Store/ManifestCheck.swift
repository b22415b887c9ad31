import LMDB

/// The manifests the log keeps at its tail (``LogTables/manifestLog``), checked while the log
/// is read: the manifest stored at a seq must hash to the digest the `image.pushed` event at that
/// seq names. Reading both in seq order costs a cursor walk and a hash per manifest, no lookups.
///
/// Only the thread that reads the log uses it until the walk returns.
final class ManifestCheck: @unchecked Sendable {
    let table: Table<BigEndianU64, RawBytes>
    /// How many manifests were checked.
    private(set) var checked = 0
    /// The seqs whose manifest does not hash to the digest their event names (or whose event
    /// names none), in order.
    private(set) var badSeqs: [UInt64] = []

    init(_ table: Table<BigEndianU64, RawBytes>) { self.table = table }

    /// Checks the manifests stored at the seqs of `records`, which are consecutive.
    func check(_ txn: ReadTransaction, _ records: [EventRecord]) throws {
        guard let first = records.first?.seq, let last = records.last?.seq else { return }
        try txn.withCursor(table) { c in
            var entry = try c.seek(atOrAfter: first)
            while let e = entry {
                let seq = try e.key()
                if seq > last { break }
                let named: Digest? = switch records[Int(seq - first)].event {
                case .imagePushed(_, let digest, _, _, _): digest
                default: nil
                }
                if Digest(of: e.rawValue) != named { badSeqs.append(seq) }
                checked += 1
                entry = try c.next()
            }
        }
    }
}
