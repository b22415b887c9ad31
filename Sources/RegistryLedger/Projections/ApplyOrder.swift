/// Where and in what order ``LogFold`` applies a chunk of the log's records.
///
/// Each record applies to one half (two threads): its repository's, else its organization's.
/// Within a half, a chunk's records apply grouped by that name, each group in log order: a busy
/// log interleaves pushes to many repositories, and applying one repository's records one after
/// the other works on its state while it is in the cache. Records of different names touch
/// different state, so the order between groups changes nothing — except for records that touch
/// what names share: repository creations and deletions (ids are given out in log order) and
/// policy changes (uuids are indexed across scopes). Those apply where they stand; groups form
/// only between them.
enum ApplyOrder {
    /// A record of a chunk: the group it applies with, and its position in the chunk.
    struct Entry {
        let group: UInt64
        let position: Int32
    }

    /// The group of records that apply where they stand.
    static let inPlace = UInt64.max

    /// The half a record applies to, and its group within the half.
    static func place(_ event: Event) -> (half: Int, group: UInt64) {
        let name: String
        if let ref = event.repository { name = ref.name.value } else if let (_, org) = event.organization { name = org } else { return (0, inPlace) }
        let hash = hash(ofName: name)
        switch event {
        case .repositoryCreated, .repositoryDeleted, .policyCreated, .policyUpdated, .policyDeleted: return (Int(hash & 1), inPlace)
        default: return (Int(hash & 1), hash)
        }
    }

    /// The half a name belongs to.
    static func half(ofName name: String) -> Int { Int(hash(ofName: name) & 1) }

    /// A name's FNV-1a hash, mixed (MurmurHash3's finalizer step), the same in every process.
    private static func hash(ofName name: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        return hash
    }

    /// The positions of `entries` (in log order) in the order they apply: between records that
    /// apply in place, sorted by group and, within one, by position. Leaves `entries` sorted so.
    static func grouped(_ entries: inout [Entry]) -> [Int32] {
        var start = 0
        for i in entries.indices where entries[i].group == inPlace {
            entries[start..<i].sort { ($0.group, $0.position) < ($1.group, $1.position) }
            start = i + 1
        }
        entries[start...].sort { ($0.group, $0.position) < ($1.group, $1.position) }
        return entries.map(\.position)
    }
}
