import BlobStore
import Foundation
import Logging
import RegistryLedger

/// An HTTP answer of the ECR JSON 1.1 protocol: a status and a JSON body.
public struct ECRResponse: Sendable {
    public let status: Int
    public let body: [UInt8]

    static func ok(_ object: [String: Any]) -> ECRResponse { ECRResponse(status: 200, body: json(object)) }

    /// `{"__type", "message"}` with 400, or 500 for server faults.
    package static func error(_ type: String, _ message: String, status: Int = 400) -> ECRResponse {
        ECRResponse(status: status, body: json(["__type": type, "message": message]))
    }

    static func json(_ object: [String: Any]) -> [UInt8] {
        JSONBody.encode(object)
    }
}

/// ECR's JSON API over the ledger, independent of any HTTP server: `handle` takes the
/// `X-Amz-Target` operation and the body and returns status and body. Every constraint of
/// botocore's ECR model is checked here, because clients can switch their own validation off.
public struct ECRService: Sendable {
    public static let targetPrefix = "AmazonEC2ContainerRegistry_V20150921."

    /// The operation an `X-Amz-Target` header names (whatever follows ``targetPrefix``), or nil
    /// without the prefix. Compared as bytes: every ECR request is classified three times.
    public static func operation(target: String?) -> String? {
        guard let utf8 = target?.utf8, utf8.starts(with: targetPrefix.utf8) else { return nil }
        return String(utf8.dropFirst(targetPrefix.utf8.count))
    }
    /// The operations served (SPEC §4.3).
    public static let operations: Set<String> = Set(handlers.keys)
    /// The operations that change the store: in a cluster only the writer node runs them.
    public static let writeOperations: Set<String> = [
        "CreateRepository", "DeleteRepository", "PutImage", "BatchDeleteImage", "PutImageTagMutability", "UpdateImageStorageClass",
        "PutImageScanningConfiguration", "TagResource", "UntagResource", "PutLifecyclePolicy", "DeleteLifecyclePolicy",
        "InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload",
    ]

    /// One operation: the service, the request's JSON, who asks, and the URL the client reached
    /// this server at (`http://HOST`, from the request; nil when unknown).
    private typealias Handler = @Sendable (ECRService, JSONObject, CommandContext, String?) async throws -> ECRResponse
    private static let handlers: [String: Handler] = [
        "CreateRepository": { s, input, context, _ in try await s.createRepository(input, context) },
        "DescribeRepositories": { s, input, _, _ in try s.describeRepositories(input) },
        "DeleteRepository": { s, input, context, _ in try await s.deleteRepository(input, context) },
        "PutImage": { s, input, context, _ in try await s.putImage(input, context) },
        "ListImages": { s, input, _, _ in try s.listImages(input) },
        "DescribeImages": { s, input, _, _ in try s.describeImages(input) },
        "BatchGetImage": { s, input, _, _ in try s.batchGetImage(input) },
        "BatchDeleteImage": { s, input, context, _ in try await s.batchDeleteImage(input, context) },
        "PutImageTagMutability": { s, input, context, _ in try await s.putImageTagMutability(input, context) },
        "UpdateImageStorageClass": { s, input, context, _ in try await s.updateImageStorageClass(input, context) },
        "GetAuthorizationToken": { s, input, context, endpoint in try s.getAuthorizationToken(input, context, endpoint: endpoint) },
        "PutImageScanningConfiguration": { s, input, context, _ in try await s.putImageScanningConfiguration(input, context) },
        "TagResource": { s, input, context, _ in try await s.tagResource(input, context) },
        "UntagResource": { s, input, context, _ in try await s.untagResource(input, context) },
        "ListTagsForResource": { s, input, _, _ in try s.listTagsForResource(input) },
        "PutLifecyclePolicy": { s, input, context, _ in try await s.putLifecyclePolicy(input, context) },
        "GetLifecyclePolicy": { s, input, _, _ in try s.getLifecyclePolicy(input) },
        "DeleteLifecyclePolicy": { s, input, context, _ in try await s.deleteLifecyclePolicy(input, context) },
        "StartLifecyclePolicyPreview": { s, input, _, _ in try s.startLifecyclePolicyPreview(input) },
        "GetLifecyclePolicyPreview": { s, input, _, _ in try s.getLifecyclePolicyPreview(input) },
        "BatchCheckLayerAvailability": { s, input, _, _ in try s.batchCheckLayerAvailability(input) },
        "InitiateLayerUpload": { s, input, _, _ in try s.initiateLayerUpload(input) },
        "UploadLayerPart": { s, input, _, _ in try await s.uploadLayerPart(input) },
        "CompleteLayerUpload": { s, input, context, _ in try await s.completeLayerUpload(input, context) },
        "GetDownloadUrlForLayer": { s, input, _, endpoint in try s.getDownloadUrlForLayer(input, endpoint: endpoint) },
    ]

    let ledger: Ledger
    let region: String
    let activations: ActivationScheduler?
    let logger: Logger
    let previews = LifecyclePreviews()
    /// The registry API's blob store, where the layer operations keep layers (nil: they fail).
    let blobs: BlobStore?

    /// - Parameters:
    ///   - activations: completes restores to STANDARD; without one, restored images stay
    ///     ACTIVATING until the embedding code calls `completeActivation`.
    ///   - logger: where server faults (a full disk, an I/O error) are logged with their reason.
    ///   - blobs: where the layer operations keep layers.
    public init(ledger: Ledger, region: String, activations: ActivationScheduler? = nil, logger: Logger = Logger(label: "regledger.ecr"),
                blobs: BlobStore? = nil) {
        self.ledger = ledger
        self.blobs = blobs
        self.region = region
        self.activations = activations
        self.logger = logger
    }

    /// Runs one operation for `principal` (the events' actor). `endpoint` is the URL the client
    /// reached this server at (`http://HOST:PORT`): `GetAuthorizationToken` names it as the registry.
    public func handle(target: String?, body: [UInt8], principal: String, requestId: String, endpoint: String? = nil) async -> ECRResponse {
        guard let operation = Self.operation(target: target) else {
            return .error("UnknownOperationException", "Missing or unknown X-Amz-Target")
        }
        guard let handler = Self.handlers[operation] else {
            return .error("UnknownOperationException", "Unknown operation \(operation.prefix(100))")
        }
        let context = CommandContext(actor: principal, origin: .ecr, requestId: requestId)
        do {
            return try await handler(self, try JSONObject(parsing: body.isEmpty ? Array("{}".utf8) : body), context, endpoint)
        } catch let error as LedgerError {
            let (type, status) = Self.exception(for: error)
            if status >= 500 { logger.error("ECR \(operation) failed", metadata: ["reason": "\(error.message)", "requestId": "\(requestId)"]) }
            return .error(type, error.message, status: status)
        } catch {
            return .error("ServerException", "internal error", status: 500)
        }
    }

    /// ECR's exception and the HTTP status for `error`: the store's own faults are
    /// `ServerException`, with 507 for a full disk.
    static func exception(for error: LedgerError) -> (type: String, status: Int) {
        switch error.code {
        case .insufficientStorage: ("ServerException", 507)
        case .storage, .storageFault: ("ServerException", 500)
        default: (error.code.rawValue, 400)
        }
    }

    // MARK: operations

    func repository(_ input: JSONObject) throws -> RepositoryRef {
        try RepositoryRef(try input.string("repositoryName"), registryId: try input.optionalString("registryId"),
                          defaultRegistry: ledger.defaultRegistryId)
    }

    private func mutability(_ input: JSONObject) throws -> TagMutability? {
        guard let mode = try input.optionalString("imageTagMutability") else {
            if try input.optionalArray("imageTagMutabilityExclusionFilters") != nil {
                throw LedgerError.invalid("imageTagMutabilityExclusionFilters needs imageTagMutability")
            }
            return nil
        }
        let filters = try (input.optionalObjects("imageTagMutabilityExclusionFilters") ?? []).map { f in
            try WildcardFilter(try f.string("filter"), filterType: try f.string("filterType"))
        }
        return try TagMutability(modeName: mode, filters: filters)
    }

    func repositoryShape(_ r: Repository) -> [String: Any] {
        var shape: [String: Any] = [
            "registryId": r.registryId.value, "repositoryName": r.name.value,
            "repositoryArn": "arn:aws:ecr:\(region):\(r.registryId):repository/\(r.name)",
            "repositoryUri": "\(r.registryId).dkr.ecr.\(region).amazonaws.com/\(r.name)",
            "createdAt": Double(r.createdAt) / 1e6, "imageTagMutability": r.mutability.mode.rawValue,
            "imageScanningConfiguration": r.settings.scanningJSON, "encryptionConfiguration": r.settings.encryptionJSON,
        ]
        if !r.mutability.filters.isEmpty {
            shape["imageTagMutabilityExclusionFilters"] = r.mutability.filters.map { ["filterType": WildcardFilter.filterType, "filter": $0.filter] }
        }
        return shape
    }

    private func createRepository(_ input: JSONObject, _ context: CommandContext) async throws -> ECRResponse {
        let ref = try repository(input)
        let settings = RepositorySettings(
            scanOnPush: try input.optionalObject("imageScanningConfiguration").map(RepositorySettings.scanOnPush) ?? false,
            encryption: try input.optionalObject("encryptionConfiguration").map(RepositorySettings.encryption) ?? .aes256)
        let tags = try input.optionalArray("tags").map(ResourceTag.parse) ?? []
        let created = try await ledger.createRepository(ref, mutability: try mutability(input) ?? .default, settings: settings,
                                                        resourceTags: tags, context: context)
        return .ok(["repository": repositoryShape(created)])
    }

    private func putImageScanningConfiguration(_ input: JSONObject, _ context: CommandContext) async throws -> ECRResponse {
        let ref = try repository(input)
        let scanOnPush = try RepositorySettings.scanOnPush(try input.object("imageScanningConfiguration"))
        let settings = try await ledger.putImageScanningConfiguration(ref, scanOnPush: scanOnPush, context: context)
        return .ok(["registryId": ref.registryId.value, "repositoryName": ref.name.value, "imageScanningConfiguration": settings.scanningJSON])
    }

    /// The repository an ARN names: `arn:aws:ecr:REGION:REGISTRY:repository/NAME`, in this
    /// server's region and registry. - Throws: `InvalidParameterException` for anything else.
    private func repository(arn input: JSONObject) throws -> RepositoryRef {
        let arn = try input.string("resourceArn")
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard arn.utf8.count <= 1024, parts.count == 6, parts[0] == "arn", parts[1] == "aws", parts[2] == "ecr",
              parts[5].hasPrefix("repository/") else {
            throw LedgerError.invalid("Invalid parameter at 'resourceArn': '\(arn.prefix(200))' is not an ECR repository ARN (arn:aws:ecr:REGION:REGISTRY:repository/NAME)")
        }
        guard parts[3] == region else {
            throw LedgerError.invalid("Invalid parameter at 'resourceArn': the ARN names region '\(parts[3].prefix(50))'; this registry serves \(region)")
        }
        guard parts[4] == ledger.defaultRegistryId.value else {
            throw LedgerError.invalid("Invalid parameter at 'resourceArn': the ARN names registry '\(parts[4].prefix(50))'; this is registry \(ledger.defaultRegistryId)")
        }
        return try RepositoryRef(String(parts[5].dropFirst("repository/".count)), registryId: String(parts[4]), defaultRegistry: ledger.defaultRegistryId)
    }

    private func tagResource(_ input: JSONObject, _ context: CommandContext) async throws -> ECRResponse {
        let ref = try repository(arn: input)
        _ = try await ledger.tagRepository(ref, try ResourceTag.parse(try input.array("tags")), context: context)
        return .ok([:])
    }

    private func untagResource(_ input: JSONObject, _ context: CommandContext) async throws -> ECRResponse {
        let ref = try repository(arn: input)
        let keys = try input.strings("tagKeys")
        guard keys.count <= 200 else {
            throw LedgerError.invalid("Invalid parameter at 'tagKeys' failed to satisfy constraint: 'Member must have length less than or equal to 200'")
        }
        guard keys.allSatisfy({ (1...128).contains($0.count) }) else {
            throw LedgerError(.invalidTagParameter, "Invalid parameter at 'tagKeys' failed to satisfy constraint: 'Member must have length between 1 and 128'")
        }
        _ = try await ledger.untagRepository(ref, keys: keys, context: context)
        return .ok([:])
    }

    private func putLifecyclePolicy(_ input: JSONObject, _ context: CommandContext) async throws -> ECRResponse {
        let ref = try repository(input)
        let text = try input.string("lifecyclePolicyText")
        try await ledger.putLifecyclePolicy(ref, text: text, context: context)
        return .ok(["registryId": ref.registryId.value, "repositoryName": ref.name.value, "lifecyclePolicyText": text])
    }

    private func getLifecyclePolicy(_ input: JSONObject) throws -> ECRResponse {
        let ref = try repository(input)
        guard let text = try ledger.repository(ref).lifecyclePolicy else { throw LedgerError.lifecyclePolicyNotFound(ref) }
        return .ok(["registryId": ref.registryId.value, "repositoryName": ref.name.value, "lifecyclePolicyText": text, "lastEvaluatedAt": 0])
    }

    private func deleteLifecyclePolicy(_ input: JSONObject, _ context: CommandContext) async throws -> ECRResponse {
        let ref = try repository(input)
        let text = try await ledger.deleteLifecyclePolicy(ref, context: context)
        return .ok(["registryId": ref.registryId.value, "repositoryName": ref.name.value, "lifecyclePolicyText": text, "lastEvaluatedAt": 0])
    }

    /// Computes the preview now, against the current state, and keeps it for
    /// `GetLifecyclePolicyPreview`: a policy that does not check is refused here, synchronously.
    private func startLifecyclePolicyPreview(_ input: JSONObject) throws -> ECRResponse {
        let ref = try repository(input)
        let (text, outcomes) = try ledger.lifecyclePreview(ref, policyText: try input.optionalString("lifecyclePolicyText"))
        previews.store(ref, text: text, outcomes: outcomes)
        return .ok(["registryId": ref.registryId.value, "repositoryName": ref.name.value, "lifecyclePolicyText": text, "status": "COMPLETE"])
    }

    private func getLifecyclePolicyPreview(_ input: JSONObject) throws -> ECRResponse {
        let ref = try repository(input)
        let limit = try input.optionalInt("maxResults", in: 1...100) ?? 100
        let tagStatus = try input.optionalObject("filter").map { filter -> String in
            let status = try filter.string("tagStatus")
            guard ["TAGGED", "UNTAGGED", "ANY"].contains(status) else {
                throw LedgerError.invalid("Invalid parameter at 'filter.tagStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]'")
            }
            return status
        } ?? "ANY"
        let wanted = try imageIds(input, required: false)
        _ = try ledger.repository(ref)  // RepositoryNotFoundException
        guard let preview = previews.preview(ref) else {
            throw LedgerError(LedgerError.Code(rawValue: "LifecyclePolicyPreviewNotFoundException"),
                              "There is no lifecycle policy preview for the repository with name '\(ref.name)' in the registry with id '\(ref.registryId)'")
        }
        let selected = preview.outcomes.filter { outcome in
            let tags = outcome.image.tags
            let statusMatches = tagStatus == "ANY" || (tagStatus == "TAGGED") == !tags.isEmpty
            let idMatches = wanted.map { ids in
                ids.contains { id in (id.digest.map { $0 == outcome.image.digest.description } ?? true) && (id.tag.map { tags.contains($0) } ?? true) }
            } ?? true
            return statusMatches && idMatches
        }
        var offset = 0
        if let token = try input.optionalString("nextToken") {
            let parts = token.split(separator: ".")
            guard parts.count == 2, UInt64(parts[0]) == preview.id, let at = Int(parts[1]), (0...selected.count).contains(at) else {
                throw LedgerError.invalid("Invalid parameter at 'nextToken': the token is malformed or belongs to another preview")
            }
            offset = at
        }
        let page = selected[offset..<min(selected.count, offset + limit)]
        var answer: [String: Any] = [
            "registryId": ref.registryId.value, "repositoryName": ref.name.value, "lifecyclePolicyText": preview.text, "status": "COMPLETE",
            "previewResults": page.map(Self.previewResult),
            "summary": [
                "expiringImageTotalCount": preview.outcomes.filter { $0.action == .expire }.count,
                "transitioningImageTotalCounts": [["targetStorageClass": "ARCHIVE",
                                                   "imageTotalCount": preview.outcomes.filter { $0.action == .transitionToArchive }.count]],
            ] as [String: Any],
        ]
        if page.endIndex < selected.count { answer["nextToken"] = "\(preview.id).\(page.endIndex)" }
        return .ok(answer)
    }

    /// One image of a preview: ECR's `LifecyclePolicyPreviewResult`; a protected image has no
    /// `action` and says what protects it (`protectedBy`).
    package static func previewResult(_ outcome: LifecycleOutcome) -> [String: Any] {
        var result: [String: Any] = [
            "imageDigest": outcome.image.digest.description, "imageTags": outcome.image.tags,
            "imagePushedAt": Double(outcome.image.pushedAt) / 1e6, "appliedRulePriority": outcome.rulePriority,
            "storageClass": outcome.image.status == .active ? "STANDARD" : "ARCHIVE",
        ]
        switch outcome.action {
        case .expire: result["action"] = ["type": "EXPIRE"]
        case .transitionToArchive: result["action"] = ["type": "TRANSITION", "targetStorageClass": "ARCHIVE"]
        case nil: if let p = outcome.image.protectedBy { result["protectedBy"] = ["tag": p.tag, "cause": p.cause] }
        }
        return result
    }

    private func listTagsForResource(_ input: JSONObject) throws -> ECRResponse {
        let ref = try repository(arn: input)
        return .ok(["tags": ResourceTag.json(try ledger.repository(ref).resourceTags)])
    }

    private func describeRepositories(_ input: JSONObject) throws -> ECRResponse {
        let registry = try input.optionalString("registryId").map { try RegistryId($0) }
        let names = try input.optionalArray("repositoryNames").map { items -> [RepositoryName] in
            guard (1...100).contains(items.count) else {
                throw LedgerError.invalid("Invalid parameter at 'repositoryNames' failed to satisfy constraint: 'Member must have length between 1 and 100'")
            }
            return try items.map { item in
                guard let name = item as? String else { throw LedgerError.invalid("every repositoryName must be a string") }
                return try RepositoryName(name)
            }
        }
        let page = try ledger.describeRepositories(registryId: registry, names: names,
                                                   maxResults: try input.optionalInt("maxResults", in: 1...1000),
                                                   nextToken: try input.optionalString("nextToken"))
        var out: [String: Any] = ["repositories": page.items.map(repositoryShape)]
        if let token = page.nextToken { out["nextToken"] = token }
        return .ok(out)
    }

    private func deleteRepository(_ input: JSONObject, _ context: CommandContext) async throws -> ECRResponse {
        let deleted = try await ledger.deleteRepository(try repository(input), force: try input.optionalBool("force") ?? false, context: context)
        return .ok(["repository": repositoryShape(deleted)])
    }

    private func putImage(_ input: JSONObject, _ context: CommandContext) async throws -> ECRResponse {
        let ref = try repository(input)
        let manifest = try Manifest(bytes: Array(try input.string("imageManifest").utf8),
                                    mediaType: try input.optionalString("imageManifestMediaType"))
        let tag = try input.optionalString("imageTag").map { try Tag($0) }
        let pushed = try await ledger.putImage(ref, manifest: manifest, tag: tag, expectedDigest: try input.optionalString("imageDigest"),
                                               context: context)
        return .ok(["image": [
            "registryId": ref.registryId.value, "repositoryName": ref.name.value,
            "imageId": Self.idShape(ImageIdentifier(digest: pushed.digest.description, tag: pushed.tag)),
            "imageManifest": String(decoding: pushed.manifest, as: UTF8.self), "imageManifestMediaType": pushed.mediaType,
        ] as [String: Any]])
    }

    private func listImages(_ input: JSONObject) throws -> ECRResponse {
        let ref = try repository(input)
        let page = try ledger.listImages(ref, filter: try imageFilter(input), maxResults: try input.optionalInt("maxResults", in: 1...1000),
                                         nextToken: try input.optionalString("nextToken"))
        return ECRResponse(status: 200, body: Self.listImagesBody(page))
    }

    /// The ListImages answer, written straight to bytes: the same JSON as ``JSONBody`` makes of
    /// `{"imageIds": [idShape…], "nextToken"}` (keys sorted), without a dictionary per entry,
    /// which was most of the cost of a page.
    static func listImagesBody(_ page: ImagePage) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32 + page.items.count * 104 + (page.nextToken?.utf8.count ?? 0))
        out += #"{"imageIds":["#.utf8
        for i in page.items.indices {
            out += (i == 0 ? #"{"imageDigest":""# : #",{"imageDigest":""#).utf8
            page.items.withEntry(at: i) { digest, tag in
                digest.appendDescription(to: &out)  // hex: nothing to escape
                out.append(UInt8(ascii: "\""))
                if !tag.isEmpty {
                    out += #","imageTag":"#.utf8
                    JSONBody.writeString(utf8: tag, into: &out)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        if let token = page.nextToken {
            out += #","nextToken":"#.utf8
            JSONBody.writeString(token, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    // MARK: images

    /// `imageIds` (1–100 `{imageDigest?, imageTag?}`), kept raw so each bad id fails alone.
    private func imageIds(_ input: JSONObject, required: Bool) throws -> [ImageIdentifier]? {
        guard let items = try input.optionalObjects("imageIds") else {
            if required { throw LedgerError.invalid("'imageIds' is required") }
            return nil
        }
        guard (1...100).contains(items.count) else {
            throw LedgerError.invalid("Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length between 1 and 100'")
        }
        return try items.map { ImageIdentifier(digest: try $0.optionalString("imageDigest"), tag: try $0.optionalString("imageTag")) }
    }

    private func imageFilter(_ input: JSONObject) throws -> ImageFilter {
        var filter = ImageFilter()
        if let f = try input.optionalObject("filter") {
            if let s = try f.optionalString("tagStatus") { filter.tagStatus = try TagStatusFilter(parsing: s) }
            if let s = try f.optionalString("imageStatus") { filter.imageStatus = try ImageStatusFilter(parsing: s) }
        }
        return filter
    }

    static func idShape(_ id: ImageIdentifier) -> [String: Any] {
        var shape: [String: Any] = [:]
        if let d = id.digest { shape["imageDigest"] = d }
        if let t = id.tag { shape["imageTag"] = t }
        return shape
    }

    static func failureShape(_ f: ImageFailure) -> [String: Any] {
        ["imageId": idShape(f.imageId), "failureCode": f.code, "failureReason": f.reason]
    }

    private func describeImages(_ input: JSONObject) throws -> ECRResponse {
        let ref = try repository(input)
        let page = try ledger.describeImages(ref, imageIds: try imageIds(input, required: false), filter: try imageFilter(input),
                                             maxResults: try input.optionalInt("maxResults", in: 1...1000),
                                             nextToken: try input.optionalString("nextToken"))
        var out: [String: Any] = ["imageDetails": page.items.map { d -> [String: Any] in
            var shape: [String: Any] = [
                "registryId": d.repository.registryId.value, "repositoryName": d.repository.name.value,
                "imageDigest": d.digest.description, "imagePushedAt": Double(d.pushedAt) / 1e6,
                "imageManifestMediaType": d.mediaType, "imageStatus": d.status.rawValue,
            ]
            if !d.tags.isEmpty { shape["imageTags"] = d.tags }
            if let size = d.size { shape["imageSizeInBytes"] = size }
            return shape
        }]
        if let token = page.nextToken { out["nextToken"] = token }
        return .ok(out)
    }

    private func batchGetImage(_ input: JSONObject) throws -> ECRResponse {
        let ref = try repository(input)
        let (images, failures) = try ledger.batchGetImage(ref, imageIds: try imageIds(input, required: true)!)
        return .ok([
            "images": images.map { image -> [String: Any] in
                ["registryId": ref.registryId.value, "repositoryName": ref.name.value, "imageId": Self.idShape(image.imageId),
                 "imageManifest": String(decoding: image.manifest, as: UTF8.self), "imageManifestMediaType": image.mediaType]
            },
            "failures": failures.map(Self.failureShape),
        ])
    }

    private func batchDeleteImage(_ input: JSONObject, _ context: CommandContext) async throws -> ECRResponse {
        let ref = try repository(input)
        let result = try await ledger.batchDeleteImage(ref, imageIds: try imageIds(input, required: true)!, context: context)
        return .ok(["imageIds": result.deleted.map(Self.idShape), "failures": result.failures.map(Self.failureShape)])
    }

    private func putImageTagMutability(_ input: JSONObject, _ context: CommandContext) async throws -> ECRResponse {
        let ref = try repository(input)
        guard let setting = try mutability(input) else { throw LedgerError.invalid("'imageTagMutability' is required") }
        let stored = try await ledger.putImageTagMutability(ref, setting, context: context)
        var out: [String: Any] = ["registryId": ref.registryId.value, "repositoryName": ref.name.value,
                                  "imageTagMutability": stored.mode.rawValue]
        if !stored.filters.isEmpty {
            out["imageTagMutabilityExclusionFilters"] = stored.filters.map { ["filterType": WildcardFilter.filterType, "filter": $0.filter] }
        }
        return .ok(out)
    }

    /// How long a registry login token lasts (ECR's: 12 hours).
    public static let authorizationTokenLifetime: TimeInterval = 12 * 3600

    /// A registry login token for the caller: `authorizationToken` is base64 of `AWS:<token>`,
    /// the Basic credentials the registry API (`/v2/`) takes; one entry per requested registry.
    private func getAuthorizationToken(_ input: JSONObject, _ context: CommandContext, endpoint: String?) throws -> ECRResponse {
        let registries = try (input.optionalArray("registryIds") == nil ? nil : input.strings("registryIds")).map { ids -> [RegistryId] in
            guard (1...10).contains(ids.count) else {
                throw LedgerError.invalid("Invalid parameter at 'registryIds' failed to satisfy constraint: 'Member must have length between 1 and 10'")
            }
            return try ids.map { try RegistryId($0) }
        } ?? [ledger.defaultRegistryId]
        let expiresAt = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + Self.authorizationTokenLifetime).rounded(.down))
        let token = ledger.issueAuthorizationToken(for: context.actor, expiresAt: expiresAt)
        let credentials = Data(("AWS:" + token).utf8).base64EncodedString()
        let proxyEndpoint = endpoint ?? "http://127.0.0.1"
        return .ok(["authorizationData": registries.map { _ in
            ["authorizationToken": credentials, "expiresAt": expiresAt.timeIntervalSince1970, "proxyEndpoint": proxyEndpoint] as [String: Any]
        }])
    }

    private func updateImageStorageClass(_ input: JSONObject, _ context: CommandContext) async throws -> ECRResponse {
        let ref = try repository(input)
        let id = try input.object("imageId")
        let imageId = ImageIdentifier(digest: try id.optionalString("imageDigest"), tag: try id.optionalString("imageTag"))
        let result = try await ledger.updateImageStorageClass(ref, imageId: imageId, targetStorageClass: try input.string("targetStorageClass"),
                                                              context: context)
        if result.status == .activating { activations?.schedule(ref, digest: result.digest, requestId: context.requestId) }
        return .ok(["registryId": ref.registryId.value, "repositoryName": ref.name.value,
                    "imageId": ["imageDigest": result.digest.description], "imageStatus": result.status.rawValue])
    }
}
