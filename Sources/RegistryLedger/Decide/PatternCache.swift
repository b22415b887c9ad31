/// Compiled patterns by source, owned by the writer thread (never shared).
final class PatternCache {
    private var compiled: [String: TagPattern] = [:]

    func pattern(_ source: String) throws(LedgerError) -> TagPattern {
        if let p = compiled[source] { return p }
        let p = try TagPattern(source)
        if compiled.count > 50_000 { compiled.removeAll(keepingCapacity: true) }
        compiled[source] = p
        return p
    }
}
