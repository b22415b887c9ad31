import BlobStore
import Foundation
import RegistryLedger

/// ECR's layer operations on the registry API's blob store (SPEC §8): what `docker push` to
/// ECR does through the AWS SDKs. A layer pushed here is a blob the repository holds, the same
/// `blob.linked` event as a registry-API upload.
extension ECRService {
    /// The part size `InitiateLayerUpload` asks for: a part and its base64 fit the ECR body limit.
    static let layerPartSize = 5 << 20

    static let uploadNotFound = LedgerError.Code(rawValue: "UploadNotFoundException")
    static let invalidLayerPart = LedgerError.Code(rawValue: "InvalidLayerPartException")
    static let invalidLayer = LedgerError.Code(rawValue: "InvalidLayerException")
    static let layerAlreadyExists = LedgerError.Code(rawValue: "LayerAlreadyExistsException")
    static let emptyUpload = LedgerError.Code(rawValue: "EmptyUploadException")

    /// The blob store; a service without one answers the layer operations as unknown (400).
    func requireBlobs() throws -> BlobStore {
        guard let blobs else {
            throw LedgerError(LedgerError.Code(rawValue: "UnknownOperationException"), "the layer operations need a blob store, which this service was not given")
        }
        return blobs
    }

    /// `layerDigests`: 1–100 digests.
    private func layerDigests(_ input: JSONObject) throws -> [String] {
        let digests = try input.strings("layerDigests")
        guard (1...100).contains(digests.count) else {
            throw LedgerError.invalid("Invalid parameter at 'layerDigests' failed to satisfy constraint: 'Member must have length between 1 and 100'")
        }
        return digests
    }

    private func uploadId(_ input: JSONObject) throws -> String {
        let id = try input.string("uploadId")
        guard id.range(of: #"^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$"#, options: .regularExpression) != nil else {
            throw LedgerError.invalid("Invalid parameter at 'uploadId' failed to satisfy constraint: 'Member must satisfy regular expression pattern: [a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}'")
        }
        return id
    }

    /// `BatchCheckLayerAvailability`: AVAILABLE for a layer the repository holds.
    func batchCheckLayerAvailability(_ input: JSONObject) throws -> ECRResponse {
        let ref = try repository(input)
        var layers: [[String: Any]] = []
        var failures: [[String: Any]] = []
        for text in try layerDigests(input) {
            guard let digest = try? Digest(text) else {
                failures.append(["layerDigest": text, "failureCode": "InvalidLayerDigest", "failureReason": "'\(text.prefix(100))' is not a sha256 digest"])
                continue
            }
            if let size = try ledger.blobSize(ref, digest: digest) {
                layers.append(["layerDigest": text, "layerAvailability": "AVAILABLE", "layerSize": size])
            } else {
                layers.append(["layerDigest": text, "layerAvailability": "UNAVAILABLE"])
            }
        }
        return .ok(["layers": layers, "failures": failures])
    }

    /// `InitiateLayerUpload`: a new upload session in an existing repository.
    func initiateLayerUpload(_ input: JSONObject) throws -> ECRResponse {
        let ref = try repository(input)
        _ = try ledger.repository(ref)
        let id = try Self.blobCall { try self.requireBlobs().startUpload(repository: ref.description) }
        return .ok(["uploadId": id, "partSize": Self.layerPartSize])
    }

    /// `UploadLayerPart`: bytes `partFirstByte…partLastByte`, which must continue the upload.
    func uploadLayerPart(_ input: JSONObject) async throws -> ECRResponse {
        let ref = try repository(input)
        let id = try uploadId(input)
        let first = try input.uint("partFirstByte"), last = try input.uint("partLastByte")
        guard let part = Data(base64Encoded: try input.string("layerPartBlob")) else {
            throw LedgerError.invalid("Invalid parameter at 'layerPartBlob': not base64")
        }
        guard last >= first, last < UInt64(Int64.max) else {
            throw LedgerError(Self.invalidLayerPart, "partLastByte \(last) is before partFirstByte \(first)")
        }
        let store = try requireBlobs()
        let received = try await Self.blobCall {
            try await store.append(id, repository: ref.description, range: Int64(first)...Int64(last), body: Array(part))
        }
        return .ok(["registryId": ref.registryId.value, "repositoryName": ref.name.value, "uploadId": id, "lastByteReceived": received - 1])
    }

    /// `CompleteLayerUpload`: the upload checked against the (first) digest, stored, and linked.
    func completeLayerUpload(_ input: JSONObject, _ context: CommandContext) async throws -> ECRResponse {
        let ref = try repository(input)
        let id = try uploadId(input)
        let text = try layerDigests(input)[0]
        let store = try requireBlobs()
        guard let digest = try? Digest(text) else {
            store.cancel(id, repository: ref.description)
            throw LedgerError(Self.invalidLayer, "'\(text.prefix(100))' is not a sha256 digest")
        }
        guard let offset = store.uploadOffset(id, repository: ref.description) else { throw LedgerError(Self.uploadNotFound, "no upload \(id) in '\(ref.name)'") }
        guard offset > 0 else { throw LedgerError(Self.emptyUpload, "upload \(id) holds no bytes") }
        let size = try await Self.blobCall { try await store.finish(id, repository: ref.description, expected: digest, body: nil as [UInt8]?) }
        guard try await ledger.linkBlob(ref, digest: digest, size: size, createsRepository: false, context: context) else {
            throw LedgerError(Self.layerAlreadyExists, "The layer \(digest) already exists in the repository with name '\(ref.name)' in registry with id '\(ref.registryId)'")
        }
        return .ok(["registryId": ref.registryId.value, "repositoryName": ref.name.value, "uploadId": id, "layerDigest": digest.description])
    }

    /// `GetDownloadUrlForLayer`: the registry-API URL of the layer on this server (it takes the
    /// same credentials, or a `GetAuthorizationToken` token as user `AWS`).
    func getDownloadUrlForLayer(_ input: JSONObject, endpoint: String?) throws -> ECRResponse {
        let ref = try repository(input)
        let text = try input.string("layerDigest")
        guard let digest = try? Digest(text), try ledger.blobSize(ref, digest: digest) != nil else {
            throw LedgerError(.layersNotFound, "The layer \(text.prefix(100)) does not exist in the repository with name '\(ref.name)' in registry with id '\(ref.registryId)'")
        }
        return .ok(["downloadUrl": "\(endpoint ?? "")/v2/\(ref.name)/blobs/\(digest)", "layerDigest": digest.description])
    }

    /// Runs a blob-store call, answering its failures as ECR's exceptions.
    private static func blobCall<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as BlobStoreError { throw ledgerError(error) }
    }

    private static func blobCall<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as BlobStoreError { throw ledgerError(error) }
    }

    private static func ledgerError(_ error: BlobStoreError) -> LedgerError {
        switch error {
        case .uploadUnknown: LedgerError(uploadNotFound, "The upload does not exist (it completed, was abandoned, or the server restarted)")
        case .rangeNotSatisfiable(let offset): LedgerError(invalidLayerPart, "The part must start at byte \(offset) of the upload")
        case .sizeInvalid(let message): LedgerError(invalidLayerPart, message)
        case .digestInvalid(let message): LedgerError(invalidLayer, message)
        case .noSpace: LedgerError(.insufficientStorage, "no space left on the device holding the store")
        case .failed(let message): LedgerError(.storageFault, message)
        }
    }
}
