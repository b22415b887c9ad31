@testable import RegistryServer
import Testing

struct QueryParametersTests {
    @Test func firstOfRepeatedNamesWinsAndValuesArePercentDecoded() {
        #expect(RegistryHTTPServer.queryParameters(nil) == [:])
        #expect(RegistryHTTPServer.queryParameters("") == [:])
        #expect(RegistryHTTPServer.queryParameters("n=100&last=t9") == ["n": "100", "last": "t9"])
        #expect(RegistryHTTPServer.queryParameters("n=1&n=2") == ["n": "1"])
        #expect(RegistryHTTPServer.queryParameters("flag&&x=") == ["flag": "", "x": ""])
        #expect(RegistryHTTPServer.queryParameters("from=acme%2Fweb&d=sha256%3Aab") == ["from": "acme/web", "d": "sha256:ab"])
        // A value that does not decode is kept as sent; `+` is not a space; `=` after the first belongs to the value.
        #expect(RegistryHTTPServer.queryParameters("a=%zz&b=x+y&c=k=v") == ["a": "%zz", "b": "x+y", "c": "k=v"])
    }
}
