@testable import RegistryLedger
import Testing

@Suite struct ModelValidationTests {
    @Test(arguments: ["ab", "acme/web", "a1.b2", "a_b", "a__b", "a-b", "a---b", "x/y/z", "team.one/app_1--x",
                      String(repeating: "a", count: 256)])
    func validRepositoryNamesAreAccepted(_ name: String) throws {
        #expect(try RepositoryName(name).value == name)
    }

    @Test(arguments: ["a", "", "Acme", "acme/", "/acme", "acme//web", "a.-b", "a___b", "a..b", "-ab", "ab-", "a b",
                      "a/../b", "ab\u{0}", String(repeating: "a", count: 257), "é1"])
    func invalidRepositoryNamesGiveInvalidParameter(_ name: String) {
        #expect(throws: LedgerError.self) { try RepositoryName(name) }
        #expect((try? RepositoryName(name)) == nil)
    }

    @Test func namespaceIsTheFirstPathSegment() throws {
        #expect(try RepositoryName("acme/web").namespace == "acme")
        #expect(try RepositoryName("acme/team/web").namespace == "acme")
        #expect(try RepositoryName("web").namespace == nil)
    }

    @Test(arguments: ["v1", "latest", "_x", "1.0-rc.1", "A_b-C.d", String(repeating: "t", count: 300)])
    func validTagsAreAccepted(_ value: String) throws { #expect(try RegistryLedger.Tag(value).value == value) }

    @Test(arguments: ["", ".v1", "-v1", "v 1", "v/1", "v:1", "ü", String(repeating: "t", count: 301)])
    func invalidTagsGiveInvalidParameter(_ value: String) {
        #expect { try RegistryLedger.Tag(value) } throws: { ($0 as? LedgerError)?.code == .invalidParameter }
    }

    @Test func registryIdMustBeTwelveDigits() throws {
        #expect(try RegistryId("123456789012").value == "123456789012")
        for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
            #expect(throws: LedgerError.self) { try RegistryId(bad) }
        }
    }

    @Test func digestParsesOnlyLowercaseSha256Hex() throws {
        let good = "sha256:" + String(repeating: "0123456789abcdef", count: 4)
        #expect(try Digest(good).description == good)
        for bad in [good.uppercased(), "sha512:" + good.dropFirst(7), String(good.dropLast()), good + "0", "sha256:" + String(repeating: "g", count: 64)] {
            #expect(throws: LedgerError.self) { try Digest(String(bad)) }
        }
    }

    @Test func digestIsTheSha256OfTheBytes() {
        // sha256("abc")
        #expect(Digest(of: Array("abc".utf8)).description == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func manifestSizeIsConfigPlusLayers() {
        let m = manifest(1)
        #expect(m.imageSize == 3100)
        #expect(m.mediaType == "application/vnd.oci.image.manifest.v1+json")
        #expect(m.digest == Digest(of: m.bytes))
    }

    @Test func indexManifestHasNoSize() throws {
        let json = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#
        #expect(try Manifest(bytes: Array(json.utf8)).imageSize == nil)
    }

    @Test func requestMediaTypeWinsAndOneIsRequired() throws {
        let json = #"{"schemaVersion":2,"config":{"size":1},"layers":[]}"#
        #expect(throws: LedgerError.self) { try Manifest(bytes: Array(json.utf8)) }
        #expect(try Manifest(bytes: Array(json.utf8), mediaType: "application/vnd.docker.distribution.manifest.v2+json").mediaType
                == "application/vnd.docker.distribution.manifest.v2+json")
    }

    @Test func requestMediaTypeMustBeAManifestTypeAndAgreeWithTheManifest() throws {
        let oci = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"size":1},"layers":[]}"#
        #expect(try Manifest(bytes: Array(oci.utf8), mediaType: "application/vnd.oci.image.manifest.v1+json").imageSize == 1)
        #expect(throws: LedgerError.self) { try Manifest(bytes: Array(oci.utf8), mediaType: "application/vnd.docker.distribution.manifest.v2+json") }
        #expect(throws: LedgerError.self) { try Manifest(bytes: Array(oci.utf8), mediaType: "text/plain") }
        let plain = #"{"schemaVersion":2,"config":{"size":1},"layers":[]}"#
        #expect(throws: LedgerError.self) { try Manifest(bytes: Array(plain.utf8), mediaType: "application/json") }
    }

    @Test(arguments: ["", "not json", "[1,2]", "\"str\"", #"{"mediaType":"x"}"#, #"{"mediaType":"a/b","layers":[]}"#,
                      #"{"mediaType":"M","layers":[{"size":-1}]}"#, #"{"mediaType":"M","layers":{"size":1}}"#,
                      #"{"mediaType":"M","config":{"size":"12"}}"#, #"{"mediaType":"M","config":{"size":true}}"#,
                      #"{"mediaType":"M","config":{"size":1.5}}"#].map { $0.replacingOccurrences(of: "\"M\"", with: "\"application/vnd.oci.image.manifest.v1+json\"") })
    func malformedManifestsGiveInvalidParameter(_ body: String) {
        #expect(throws: LedgerError.self) { try Manifest(bytes: Array(body.utf8)) }
    }

    @Test func manifestOverFourMebibytesIsRejected() {
        var bytes = Array(#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","pad":""#.utf8)
        bytes += [UInt8](repeating: UInt8(ascii: "x"), count: 4 << 20)
        bytes += Array(#""}"#.utf8)
        #expect(throws: LedgerError.self) { try Manifest(bytes: bytes) }
    }

    @Test func exclusionModesNeedOneToFiveFiltersAndPlainModesNone() throws {
        let f = try WildcardFilter("dev-*")
        #expect(throws: LedgerError.self) { try TagMutability(mode: .immutableWithExclusion, filters: []) }
        #expect(throws: LedgerError.self) { try TagMutability(mode: .mutableWithExclusion, filters: Array(repeating: f, count: 6)) }
        #expect(throws: LedgerError.self) { try TagMutability(mode: .immutable, filters: [f]) }
        #expect(throws: LedgerError.self) { try TagMutability(mode: .mutable, filters: [f]) }
        #expect(throws: LedgerError.self) { try TagMutability(modeName: "SOMETIMES") }
        #expect(try TagMutability(mode: .immutableWithExclusion, filters: Array(repeating: f, count: 5)).filters.count == 5)
    }

    @Test func filterMustMatchItsPatternAndType() {
        for bad in ["", "a b", "dev/*", "tag?", String(repeating: "a", count: 129)] {
            #expect(throws: LedgerError.self) { try WildcardFilter(bad) }
        }
        #expect(throws: LedgerError.self) { try WildcardFilter("dev-*", filterType: "REGEX") }
    }

    @Test(arguments: [
        ("dev-*", "dev-", true), ("dev-*", "dev-1", true), ("dev-*", "xdev-1", false), ("latest", "latest", true),
        ("latest", "latest2", false), ("*-rc", "1.0-rc", true), ("*-rc", "1.0-rc1", false), ("Dev-*", "dev-1", false),
        ("*", "", true), ("a*b*c", "aXXbYYc", true), ("a*b*c", "aXXbYY", false), ("v1.*", "v1x2", false),
        ("*a*a*a*a*b", String(repeating: "a", count: 200), false), ("**", "x", true), ("a.b", "aXb", false),
    ])
    func wildcardMatchesWholeTagCaseSensitively(_ filter: String, _ text: String, _ expected: Bool) throws {
        #expect(try WildcardFilter(filter).matches(text) == expected)
    }

    @Test func ecrImmutabilityFollowsModeAndFilters() throws {
        let filters = [try WildcardFilter("dev-*"), try WildcardFilter("*-rc")]
        let ie = try TagMutability(mode: .immutableWithExclusion, filters: filters)
        let me = try TagMutability(mode: .mutableWithExclusion, filters: filters)
        #expect(ie.isImmutable(tag("v1")) && !ie.isImmutable(tag("dev-1")) && !ie.isImmutable(tag("1.0-rc")))
        #expect(!me.isImmutable(tag("v1")) && me.isImmutable(tag("dev-1")) && me.isImmutable(tag("1.0-rc")))
        #expect(try TagMutability(mode: .immutable).isImmutable(tag("anything")))
        #expect(!TagMutability.default.isImmutable(tag("anything")))
    }
}

@Suite struct TagPatternTests {
    @Test(arguments: [("[0-9]*", "123", true), ("[0-9]*", "redis", false), ("v1", "v1.0", false),
                      ("v.*", "v1.0", true), ("V.*", "v1", false), ("release|stable", "stable", true),
                      ("release|stable", "stable-2", false), ("(?i)v.*", "V1", true)])
    func matchingIsFullStringAndCaseSensitive(_ pattern: String, _ text: String, _ expected: Bool) throws {
        #expect(try TagPattern(pattern).evaluate(text).isMatch == expected)
    }

    @Test func patternIsTrimmed() throws {
        #expect(try TagPattern("  v.*\n").source == "v.*")
    }

    @Test func emptyLongAndUncompilablePatternsSayWhichRuleFailed() {
        #expect((try? TagPattern("   ")) == nil)
        let messages = ["   ", String(repeating: "a", count: 257), "(unclosed", "[z-a]"].map { pattern -> String in
            do { _ = try TagPattern(pattern); return "" } catch { return (error as? LedgerError)?.message ?? "" }
        }
        #expect(messages[0].contains("empty"))
        #expect(messages[1].contains("256"))
        #expect(messages[2].contains("not a valid regular expression"))
        #expect(messages[3].contains("not a valid regular expression"))
    }

    @Test func hostilePatternHitsItsBoundInsteadOfRunningAway() throws {
        let pattern = try TagPattern("(a+)+b")
        #expect(pattern.evaluate(String(repeating: "a", count: 40)) != .matched)
        // No required literal, so only the match limit stops the exponential backtracking.
        let catastrophic = try TagPattern("(a+)+(b|-)")
        #expect(catastrophic.evaluate(String(repeating: "a", count: 40)) == .boundHit)
    }
}
