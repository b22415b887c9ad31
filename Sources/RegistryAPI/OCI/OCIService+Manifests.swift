import BlobStore
import RegistryLedger

/// Manifests by tag and by digest, and the referrers API.
extension OCIService {
    /// A reference as an image id: a digest when it has the form of one, else a tag.
    private func imageId(_ reference: String) throws -> ImageIdentifier {
        if reference.contains(":") { return ImageIdentifier(digest: try Self.digest(reference).description) }
        do { _ = try Tag(reference) } catch { throw OCIError(400, "TAG_INVALID", error.message) }
        return ImageIdentifier(tag: reference)
    }

    func getManifest(_ name: String, _ reference: String, _ request: OCIRequest) throws -> OCIResponse {
        let ref = try repository(name)
        guard let found = try ledger.manifest(ref, reference: try imageId(reference)) else {
            throw OCIError(404, "MANIFEST_UNKNOWN", "manifest unknown to registry")
        }
        if let accept = request.headers["accept"], !Self.accepts(accept, found.mediaType) {
            throw OCIError(404, "MANIFEST_UNKNOWN", "the manifest is \(found.mediaType), which the request's Accept header does not list")
        }
        return OCIResponse(status: 200, headers: [
            (name: "Content-Type", value: found.mediaType), (name: "Docker-Content-Digest", value: found.digest.description),
            (name: "Content-Length", value: "\(found.bytes.count)"),
        ], content: .bytes(found.bytes))
    }

    /// Whether an `Accept` header admits `mediaType` (an empty one, or `*/*`, admits everything).
    static func accepts(_ accept: String, _ mediaType: String) -> Bool {
        let types = accept.split(separator: ",").map { $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" }
        return types.allSatisfy(\.isEmpty) || types.contains { $0 == "*/*" || $0 == "application/*" || $0 == mediaType }
    }

    /// `PUT`: the `PutImage` command through the registry door (SPEC §8).
    func putManifest(_ name: String, _ reference: String, _ request: OCIRequest, _ context: CommandContext) async throws -> OCIResponse {
        let ref = try repository(name)
        let id = try imageId(reference)
        guard let bytes = try await request.body.collect(upTo: Manifest.maxBytes) else {
            throw OCIError(413, "SIZE_INVALID", "a manifest may hold at most \(Manifest.maxBytes) bytes")
        }
        let contentType = request.headers["content-type"].flatMap { $0.split(separator: ";").first }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        let manifest: Manifest
        do {
            manifest = try Manifest(bytes: bytes, mediaType: contentType?.isEmpty == false ? contentType : nil)
        } catch {
            throw OCIError(400, "MANIFEST_INVALID", error.message)
        }
        if let digest = id.digest, digest != manifest.digest.description {
            throw OCIError(400, "DIGEST_INVALID", "the manifest's digest is \(manifest.digest), not \(digest)")
        }
        let pushed: PushedImage
        do {
            pushed = try await ledger.pushManifest(ref, manifest: manifest, tag: try id.tag.map { tag throws(LedgerError) in try Tag(tag) }, context: context)
        } catch let error as LedgerError where error.code == .layersNotFound {
            throw OCIError(400, "MANIFEST_BLOB_UNKNOWN", error.message)
        }
        var headers: [(name: String, value: String)] = [
            (name: "Location", value: "/v2/\(name)/manifests/\(pushed.digest)"), (name: "Docker-Content-Digest", value: pushed.digest.description),
        ]
        if let subject = pushed.subject { headers.append((name: "OCI-Subject", value: subject.description)) }
        return .empty(201, headers: headers)
    }

    /// `DELETE`: by tag removes the tag (the image goes with its last tag, as in ECR); by digest
    /// removes the image, its tags and its referrers. Deletion-protected tags refuse it.
    func deleteManifest(_ name: String, _ reference: String, _ context: CommandContext) async throws -> OCIResponse {
        let ref = try repository(name)
        let result = try await ledger.batchDeleteImage(ref, imageIds: [try imageId(reference)], context: context)
        if let failure = result.failures.first {
            throw failure.code == "InvalidImageTag" ? OCIError(400, "UNSUPPORTED", failure.reason)
                : OCIError(404, "MANIFEST_UNKNOWN", failure.reason)
        }
        return .empty(202)
    }

    /// `GET …/referrers/<digest>[?artifactType=]`: an image index of the manifests whose
    /// `subject` is the digest (empty for an unknown one).
    func referrers(_ name: String, _ digestText: String, _ request: OCIRequest) throws -> OCIResponse {
        let ref = try repository(name)
        let subject = try Self.digest(digestText)
        let artifactType = request.query["artifactType"]
        let found = try ledger.referrers(ref, subject: subject, artifactType: artifactType)
        let manifests: [[String: Any]] = found.map { r in
            var descriptor: [String: Any] = ["mediaType": r.mediaType, "digest": r.digest.description, "size": r.size]
            if let type = r.artifactType { descriptor["artifactType"] = type }
            if let annotations = r.annotations { descriptor["annotations"] = annotations }
            return descriptor
        }
        var headers: [(name: String, value: String)] = []
        if artifactType != nil { headers.append((name: "OCI-Filters-Applied", value: "artifactType")) }
        let index: [String: Any] = ["schemaVersion": 2, "mediaType": Self.indexMediaType, "manifests": manifests]
        return OCIResponse(status: 200, headers: [(name: "Content-Type", value: Self.indexMediaType)] + headers,
                           content: .bytes(JSONBody.encode(index)))
    }

    static let indexMediaType = "application/vnd.oci.image.index.v1+json"
}
