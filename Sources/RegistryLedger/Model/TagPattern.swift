import CPCRE2

/// A Quay immutability-policy pattern: PCRE2, full-string, case-sensitive, evaluated under
/// match and depth limits so a hostile pattern returns quickly.
///
/// Compiled once; matching is safe from any thread.
public final class TagPattern: @unchecked Sendable {
    public static let maxLength = 256
    /// PCRE2 match limit (backtracking steps) and depth limit (nested backtracking frames).
    static let matchLimit: UInt32 = 100_000
    static let depthLimit: UInt32 = 1_000

    /// The trimmed pattern text.
    public let source: String
    private let code: OpaquePointer
    private let matchContext: OpaquePointer

    /// The result of evaluating a pattern against a tag.
    public enum Match: Sendable, Equatable {
        case matched, notMatched
        /// Evaluation hit the match or depth bound; counts as no match.
        case boundHit

        public var isMatch: Bool { self == .matched }
    }

    /// Trims and compiles `pattern`.
    /// - Throws: `InvalidParameterException` saying which rule failed: empty after trimming,
    ///   longer than 256 characters, or not a valid PCRE2 pattern (with PCRE2's message and offset).
    public init(_ pattern: String) throws(LedgerError) {
        let trimmed = pattern.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw .invalid("tagPattern must not be empty") }
        guard trimmed.count <= Self.maxLength else {
            throw .invalid("tagPattern must be at most \(Self.maxLength) characters")
        }
        var errorCode: Int32 = 0
        var errorOffset = 0
        let options = UInt32(PCRE2_UTF) | UInt32(PCRE2_ANCHORED) | UInt32(PCRE2_ENDANCHORED) | UInt32(PCRE2_NO_UTF_CHECK)
        let compiled = trimmed.withCString { cs in
            pcre2_compile_8(UnsafeRawPointer(cs).assumingMemoryBound(to: UInt8.self), trimmed.utf8.count,
                            options, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            var buffer = [UInt8](repeating: 0, count: 256)
            let n = pcre2_get_error_message_8(errorCode, &buffer, buffer.count)
            let message = n > 0 ? String(decoding: buffer[0..<Int(n)], as: UTF8.self) : "error \(errorCode)"
            throw .invalid("tagPattern is not a valid regular expression: \(message) at offset \(errorOffset)")
        }
        guard let context = pcre2_match_context_create_8(nil) else {
            pcre2_code_free_8(compiled)
            throw LedgerError(.storage, "out of memory compiling tagPattern")
        }
        pcre2_set_match_limit_8(context, Self.matchLimit)
        pcre2_set_depth_limit_8(context, Self.depthLimit)
        self.source = trimmed
        self.code = compiled
        self.matchContext = context
    }

    deinit {
        pcre2_code_free_8(code)
        pcre2_match_context_free_8(matchContext)
    }

    /// Evaluates the pattern against the whole of `text`.
    public func evaluate(_ text: String) -> Match {
        guard let data = pcre2_match_data_create_from_pattern_8(code, nil) else { return .boundHit }
        defer { pcre2_match_data_free_8(data) }
        var text = text
        let rc = text.withUTF8 { buf in
            pcre2_match_8(code, buf.baseAddress ?? UnsafePointer(bitPattern: 1), buf.count, 0, 0, data, matchContext)
        }
        if rc >= 0 { return .matched }
        if rc == PCRE2_ERROR_NOMATCH || rc == PCRE2_ERROR_PARTIAL { return .notMatched }
        return .boundHit  // PCRE2_ERROR_MATCHLIMIT, DEPTHLIMIT, HEAPLIMIT or any other failure
    }
}

extension String {
    /// The string without leading and trailing white space (spaces, tabs, newlines).
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
