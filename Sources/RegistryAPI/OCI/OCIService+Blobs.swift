import BlobStore
import RegistryLedger

/// Blobs and uploads: `HEAD`/`GET`/`DELETE /v2/<name>/blobs/<digest>` and the upload sessions
/// under `/v2/<name>/blobs/uploads/`.
extension OCIService {
    func requireBlobStore() throws -> BlobStore {
        guard let blobs else { throw OCIError(405, "UNSUPPORTED", "this server keeps no blobs") }
        return blobs
    }

    func getBlob(_ name: String, _ digestText: String, _ request: OCIRequest) throws -> OCIResponse {
        let ref = try repository(name)
        let digest = try Self.digest(digestText)
        let store = try requireBlobStore()
        guard (try? ledger.blobSize(ref, digest: digest)) ?? nil != nil, let size = store.size(of: digest) else {
            throw OCIError(404, "BLOB_UNKNOWN", "blob unknown to registry")
        }
        var headers: [(name: String, value: String)] = [
            (name: "Content-Type", value: "application/octet-stream"), (name: "Docker-Content-Digest", value: digest.description),
            (name: "Accept-Ranges", value: "bytes"),
        ]
        var (status, offset, length) = (200, Int64(0), size)
        if let range = request.headers["range"] {
            guard let (first, last) = Self.byteRange(range, size: size) else {
                throw OCIError(416, "BLOB_UNKNOWN", "the range '\(range.prefix(100))' is not satisfiable for a blob of \(size) bytes",
                               headers: [(name: "Content-Range", value: "bytes */\(size)")])
            }
            (status, offset, length) = (206, first, last - first + 1)
            headers.append((name: "Content-Range", value: "bytes \(first)-\(last)/\(size)"))
        }
        headers.append((name: "Content-Length", value: "\(length)"))
        return OCIResponse(status: status, headers: headers, content: .file(path: store.path(of: digest), offset: offset, length: length))
    }

    /// `bytes=first-last`, `bytes=first-` or `bytes=-suffix`, clamped to the blob; nil when
    /// malformed or unsatisfiable.
    static func byteRange(_ header: String, size: Int64) -> (Int64, Int64)? {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard spec.count == 2 else { return nil }
        if spec[0].isEmpty {
            guard let suffix = Int64(spec[1]), suffix > 0, size > 0 else { return nil }
            return (max(size - suffix, 0), size - 1)
        }
        guard let first = Int64(spec[0]), first >= 0, first < size else { return nil }
        if spec[1].isEmpty { return (first, size - 1) }
        guard let last = Int64(spec[1]), last >= first else { return nil }
        return (first, min(last, size - 1))
    }

    func deleteBlob(_ name: String, _ digestText: String, _ context: CommandContext) async throws -> OCIResponse {
        let ref = try repository(name)
        let digest = try Self.digest(digestText)
        do {
            try await ledger.unlinkBlobs(ref, digests: [digest], context: context)
        } catch let error as LedgerError where error.code == .layersNotFound {
            throw OCIError(404, "BLOB_UNKNOWN", "blob unknown to registry")
        }
        return .empty(202)
    }

    // MARK: uploads

    /// `POST …/blobs/uploads/`: a cross-repository mount (`mount`, `from`), a monolithic upload
    /// (`digest` and the body), or a new session.
    func startUpload(_ name: String, _ request: OCIRequest, _ context: CommandContext) async throws -> OCIResponse {
        let ref = try repository(name)
        let store = try requireBlobStore()
        if let mount = request.query["mount"], let from = request.query["from"] {
            let digest = try Self.digest(mount)
            let source = try repository(from)
            if let size = (try? ledger.blobSize(source, digest: digest)) ?? nil, store.size(of: digest) != nil {
                try await ledger.linkBlob(ref, digest: digest, size: size, createsRepository: true, context: context)
                return created(name, digest)
            }
        }
        let id = try store.startUpload(repository: ref.description)
        if let digestText = request.query["digest"] {
            let digest = try Self.digest(digestText)
            let size = try await store.finish(id, repository: ref.description, expected: digest, body: request.body)
            try await ledger.linkBlob(ref, digest: digest, size: size, createsRepository: true, context: context)
            return created(name, digest)
        }
        return .empty(202, headers: sessionHeaders(name, id, offset: 0))
    }

    func uploadStatus(_ name: String, _ id: String) throws -> OCIResponse {
        let ref = try repository(name)
        guard let offset = try requireBlobStore().uploadOffset(id, repository: ref.description) else { throw BlobStoreError.uploadUnknown }
        return .empty(204, headers: sessionHeaders(name, id, offset: offset))
    }

    /// `PATCH`: one chunk, which must start where the upload stands (`Content-Range`).
    func patchUpload(_ name: String, _ id: String, _ request: OCIRequest) async throws -> OCIResponse {
        let ref = try repository(name)
        let store = try requireBlobStore()
        var range: ClosedRange<Int64>?
        if let header = request.headers["content-range"] {
            guard let parsed = Self.contentRange(header) else {
                let offset = store.uploadOffset(id, repository: ref.description) ?? 0
                throw OCIError(416, "BLOB_UPLOAD_INVALID", "malformed Content-Range '\(header.prefix(100))' (expected first-last)",
                               headers: [(name: "Range", value: "0-\(max(offset - 1, 0))")])
            }
            range = parsed
        }
        let offset = try await store.append(id, repository: ref.description, range: range, body: request.body)
        return .empty(202, headers: sessionHeaders(name, id, offset: offset))
    }

    /// `PUT ?digest=`: the last chunk (if any), then the blob is verified, stored and linked.
    func finishUpload(_ name: String, _ id: String, _ request: OCIRequest, _ context: CommandContext) async throws -> OCIResponse {
        let ref = try repository(name)
        let store = try requireBlobStore()
        guard let digestText = request.query["digest"] else {
            store.cancel(id, repository: ref.description)
            throw OCIError(400, "DIGEST_INVALID", "the digest query parameter is required to finish an upload")
        }
        let digest: Digest
        do { digest = try Self.digest(digestText) } catch {
            store.cancel(id, repository: ref.description)
            throw error
        }
        let size = try await store.finish(id, repository: ref.description, expected: digest, body: request.body)
        try await ledger.linkBlob(ref, digest: digest, size: size, createsRepository: true, context: context)
        return created(name, digest)
    }

    func cancelUpload(_ name: String, _ id: String) throws -> OCIResponse {
        let ref = try repository(name)
        guard try requireBlobStore().cancel(id, repository: ref.description) else { throw BlobStoreError.uploadUnknown }
        return .empty(204)
    }

    /// `first-last` (OCI), also as `bytes=first-last` or `bytes first-last/total`.
    static func contentRange(_ header: String) -> ClosedRange<Int64>? {
        var text = Substring(header.trimmingCharacters(in: .whitespaces))
        if text.hasPrefix("bytes=") || text.hasPrefix("bytes ") { text = text.dropFirst(6) }
        if let slash = text.firstIndex(of: "/") { text = text[..<slash] }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = Int64(parts[0]), let last = Int64(parts[1]), first >= 0, last >= first else { return nil }
        return first...last
    }

    private func created(_ name: String, _ digest: Digest) -> OCIResponse {
        .empty(201, headers: [(name: "Location", value: "/v2/\(name)/blobs/\(digest)"),
                              (name: "Docker-Content-Digest", value: digest.description)])
    }

    private func sessionHeaders(_ name: String, _ id: String, offset: Int64) -> [(name: String, value: String)] {
        [(name: "Location", value: "/v2/\(name)/blobs/uploads/\(id)"), (name: "Range", value: "0-\(max(offset - 1, 0))"),
         (name: "Docker-Upload-UUID", value: id)]
    }
}
