extension String {
    /// In lower case; an ASCII text (every HTTP field name, a scheme) without Unicode's case
    /// tables, which cost a measurable share of a request when run on each header.
    var lowercasedHeaderName: String {
        let utf8 = self.utf8
        guard utf8.allSatisfy({ $0 < 0x80 }) else { return lowercased() }
        guard utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else { return self }
        return String(decoding: utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}

extension ArraySlice<UInt8> {
    /// Without leading and trailing spaces and tabs.
    var trimmingBlanks: ArraySlice<UInt8> {
        var s = self
        while let c = s.first, c == UInt8(ascii: " ") || c == 9 { s.removeFirst() }
        while let c = s.last, c == UInt8(ascii: " ") || c == 9 { s.removeLast() }
        return s
    }
}
