import RegistryAPI
import Testing

@Suite struct OCIRouteTests {
    @Test func pathsNameTheirEndpointAndRepositoryReadFromTheEnd() {
        let cases: [(String, OCIRoute?)] = [
            ("/v2", .base), ("/v2/", .base), ("/v2/_catalog", .catalog),
            ("/v2/acme/web/tags/list", .tags(name: "acme/web")),
            ("/v2/acme/web/blobs/uploads/", .uploads(name: "acme/web")),
            ("/v2/acme/web/blobs/uploads", .uploads(name: "acme/web")),
            ("/v2/acme/web/blobs/uploads/3f2a", .upload(name: "acme/web", id: "3f2a")),
            ("/v2/acme/web/manifests/v1", .manifest(name: "acme/web", reference: "v1")),
            ("/v2/acme/web/blobs/sha256:ab", .blob(name: "acme/web", digest: "sha256:ab")),
            ("/v2/acme/web/referrers/sha256:ab", .referrers(name: "acme/web", digest: "sha256:ab")),
            // A name may hold an endpoint's words: the last marker decides.
            ("/v2/manifests/blobs/manifests/latest", .manifest(name: "manifests/blobs", reference: "latest")),
            ("/v2/tags/list/tags/list", .tags(name: "tags/list")),
            ("/v2/a/manifests/b/c", nil), ("/v2/a/manifests/", nil), ("/v2/manifests/x", nil),
            ("/v2/tags/list", nil), ("/v3/a/tags/list", nil), ("/v2x", nil), ("/", nil), ("", nil),
            ("/v2/é/manifests/ü", .manifest(name: "é", reference: "ü")),
        ]
        for (path, expected) in cases {
            #expect(OCIRoute(path: path) == expected, "\(path)")
        }
    }
}
