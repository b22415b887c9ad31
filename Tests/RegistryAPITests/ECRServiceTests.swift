import Foundation
import RegistryLedger
@testable import RegistryAPI
import Testing

struct ECRHarness {
    let ledger: Ledger
    let service: ECRService

    init() throws {
        var options = Ledger.Options()
        options.durable = false
        ledger = try Ledger(path: NSTemporaryDirectory() + "ecr-\(UUID().uuidString)", options: options)
        service = ECRService(ledger: ledger, region: "us-east-1")
    }

    /// Calls `operation` with a JSON body; returns status and the decoded answer.
    func call(_ operation: String, _ body: String) async throws -> (Int, [String: Any]) {
        let response = await service.handle(target: ECRService.targetPrefix + operation, body: Array(body.utf8),
                                            principal: "alice", requestId: "req")
        let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
        return (response.status, object)
    }

    func expectError(_ operation: String, _ body: String, _ type: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let (status, answer) = try await call(operation, body)
        #expect(status == 400, sourceLocation: sourceLocation)
        #expect(answer["__type"] as? String == type, "\(answer)", sourceLocation: sourceLocation)
        #expect((answer["message"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
    }
}

let manifestJSON = #"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"size\":10},\"layers\":[{\"size\":20}]}"#

@Suite struct ECRServiceTests {
    @Test func createDescribeAndDeleteRepositoryWithECRShapes() async throws {
        let h = try ECRHarness()
        let (status, created) = try await h.call("CreateRepository", #"{"repositoryName":"acme/web","imageTagMutability":"IMMUTABLE_WITH_EXCLUSION","imageTagMutabilityExclusionFilters":[{"filterType":"WILDCARD","filter":"dev-*"}]}"#)
        #expect(status == 200)
        let repo = try #require(created["repository"] as? [String: Any])
        #expect(repo["repositoryArn"] as? String == "arn:aws:ecr:us-east-1:000000000000:repository/acme/web")
        #expect(repo["repositoryUri"] as? String == "000000000000.dkr.ecr.us-east-1.amazonaws.com/acme/web")
        #expect(repo["imageTagMutability"] as? String == "IMMUTABLE_WITH_EXCLUSION")
        #expect((repo["createdAt"] as? Double ?? 0) > 1.7e9)
        let (_, described) = try await h.call("DescribeRepositories", #"{"repositoryNames":["acme/web"]}"#)
        #expect((described["repositories"] as? [[String: Any]])?.first?["repositoryName"] as? String == "acme/web")
        let (deleteStatus, _) = try await h.call("DeleteRepository", #"{"repositoryName":"acme/web"}"#)
        #expect(deleteStatus == 200)
        try await h.expectError("DescribeRepositories", #"{"repositoryNames":["acme/web"]}"#, "RepositoryNotFoundException")
    }

    @Test func badInputGetsAnExceptionAndChangesNothing() async throws {
        let h = try ECRHarness()
        let digest = try h.ledger.stateDigest()
        try await h.expectError("CreateRepository", #"{}"#, "InvalidParameterException")
        try await h.expectError("CreateRepository", #"{"repositoryName":"Bad"}"#, "InvalidParameterException")
        try await h.expectError("CreateRepository", #"{"repositoryName":7}"#, "InvalidParameterException")
        try await h.expectError("CreateRepository", #"{"repositoryName":"ok-name","registryId":"12"}"#, "InvalidParameterException")
        try await h.expectError("CreateRepository", #"{"repositoryName":"ok-name","imageTagMutability":"SOMETIMES"}"#, "InvalidParameterException")
        try await h.expectError("CreateRepository", #"{"repositoryName":"ok-name","imageTagMutability":"IMMUTABLE_WITH_EXCLUSION"}"#, "InvalidParameterException")
        try await h.expectError("CreateRepository", #"{"repositoryName":"ok-name","imageTagMutability":"MUTABLE_WITH_EXCLUSION","imageTagMutabilityExclusionFilters":[{"filterType":"REGEX","filter":"x"}]}"#, "InvalidParameterException")
        try await h.expectError("CreateRepository", "not json", "InvalidParameterException")
        try await h.expectError("CreateRepository", "[1]", "InvalidParameterException")
        try await h.expectError("DescribeRepositories", #"{"maxResults":0}"#, "InvalidParameterException")
        try await h.expectError("DescribeRepositories", #"{"maxResults":1001}"#, "InvalidParameterException")
        try await h.expectError("DescribeRepositories", #"{"maxResults":true}"#, "InvalidParameterException")
        try await h.expectError("DescribeRepositories", #"{"repositoryNames":[]}"#, "InvalidParameterException")
        try await h.expectError("DeleteRepository", #"{"repositoryName":"ok-name","force":"yes"}"#, "InvalidParameterException")
        #expect(try h.ledger.stateDigest() == digest)
        let unknown = await h.service.handle(target: "AmazonEC2ContainerRegistry_V20150921.Frobnicate", body: [], principal: "a", requestId: "r")
        #expect(unknown.status == 400 && String(decoding: unknown.body, as: UTF8.self).contains("UnknownOperationException"))
        let missing = await h.service.handle(target: nil, body: [], principal: "a", requestId: "r")
        #expect(missing.status == 400)
        // The operation is looked up before the body is read: an unknown one is named as such.
        let unknownBadBody = await h.service.handle(target: "AmazonEC2ContainerRegistry_V20150921.Frobnicate", body: Array("{oops".utf8),
                                                    principal: "a", requestId: "r")
        #expect(String(decoding: unknownBadBody.body, as: UTF8.self).contains("UnknownOperationException"))
        #expect(ECRService.operations == ["CreateRepository", "DescribeRepositories", "DeleteRepository", "PutImage", "BatchGetImage",
                                          "BatchDeleteImage", "ListImages", "DescribeImages", "PutImageTagMutability",
                                          "UpdateImageStorageClass", "GetAuthorizationToken", "PutImageScanningConfiguration",
                                          "TagResource", "UntagResource", "ListTagsForResource", "PutLifecyclePolicy",
                                          "GetLifecyclePolicy", "DeleteLifecyclePolicy", "StartLifecyclePolicyPreview",
                                          "GetLifecyclePolicyPreview", "BatchCheckLayerAvailability", "InitiateLayerUpload",
                                          "UploadLayerPart", "CompleteLayerUpload", "GetDownloadUrlForLayer"])
    }

    @Test func putImageAndListImagesPageWithTokens() async throws {
        let h = try ECRHarness()
        _ = try await h.call("CreateRepository", #"{"repositoryName":"acme/web","imageTagMutability":"IMMUTABLE"}"#)
        let (status, pushed) = try await h.call("PutImage", #"{"repositoryName":"acme/web","imageTag":"v1","imageManifest":"\#(manifestJSON)"}"#)
        #expect(status == 200, "\(pushed)")
        let image = try #require(pushed["image"] as? [String: Any])
        let digest = try #require((image["imageId"] as? [String: Any])?["imageDigest"] as? String)
        #expect(digest.hasPrefix("sha256:") && image["imageManifestMediaType"] as? String == "application/vnd.oci.image.manifest.v1+json")
        try await h.expectError("PutImage", #"{"repositoryName":"acme/web","imageTag":"v1","imageManifest":"\#(manifestJSON.replacingOccurrences(of: "20", with: "21"))"}"#, "ImageTagAlreadyExistsException")
        try await h.expectError("PutImage", #"{"repositoryName":"acme/web","imageManifest":"\#(manifestJSON)"}"#, "ImageAlreadyExistsException")
        try await h.expectError("PutImage", #"{"repositoryName":"acme/web","imageTag":"v2","imageDigest":"sha256:\#(String(repeating: "0", count: 64))","imageManifest":"\#(manifestJSON)"}"#, "ImageDigestDoesNotMatchException")
        try await h.expectError("PutImage", #"{"repositoryName":"acme/web","imageManifest":""}"#, "InvalidParameterException")
        try await h.expectError("PutImage", #"{"repositoryName":"acme/web","imageTag":"-bad","imageManifest":"\#(manifestJSON)"}"#, "InvalidParameterException")
        for i in 0..<25 {
            let m = manifestJSON.replacingOccurrences(of: "20", with: "\(100 + i)")
            _ = try await h.call("PutImage", #"{"repositoryName":"acme/web","imageTag":"t\#(i)","imageManifest":"\#(m)"}"#)
        }
        var seen = 0
        var token: String?
        repeat {
            let body = token.map { #"{"repositoryName":"acme/web","maxResults":10,"nextToken":"\#($0)"}"# } ?? #"{"repositoryName":"acme/web","maxResults":10}"#
            let (s, page) = try await h.call("ListImages", body)
            #expect(s == 200)
            seen += (page["imageIds"] as? [[String: Any]])?.count ?? 0
            token = page["nextToken"] as? String
        } while token != nil
        #expect(seen == 26)
        let (_, untagged) = try await h.call("ListImages", #"{"repositoryName":"acme/web","filter":{"tagStatus":"UNTAGGED"}}"#)
        #expect((untagged["imageIds"] as? [Any])?.isEmpty == true)
        try await h.expectError("ListImages", #"{"repositoryName":"acme/web","filter":{"tagStatus":"SOME"}}"#, "InvalidParameterException")
        try await h.expectError("ListImages", #"{"repositoryName":"acme/web","nextToken":"forged"}"#, "InvalidParameterException")
        try await h.expectError("ListImages", #"{"repositoryName":"acme/none"}"#, "RepositoryNotFoundException")
    }
}

@Suite struct ECRImageOperationTests {
    func seeded() async throws -> ECRHarness {
        let h = try ECRHarness()
        _ = try await h.call("CreateRepository", #"{"repositoryName":"acme/web"}"#)
        _ = try await h.call("PutImage", #"{"repositoryName":"acme/web","imageTag":"v1","imageManifest":"\#(manifestJSON)"}"#)
        _ = try await h.call("PutImage", #"{"repositoryName":"acme/web","imageTag":"v2","imageManifest":"\#(manifestJSON)"}"#)
        return h
    }

    @Test func describeAndBatchGetImages() async throws {
        let h = try await seeded()
        let (status, described) = try await h.call("DescribeImages", #"{"repositoryName":"acme/web"}"#)
        #expect(status == 200)
        let detail = try #require((described["imageDetails"] as? [[String: Any]])?.first)
        #expect(detail["imageTags"] as? [String] == ["v1", "v2"] && detail["imageSizeInBytes"] as? Int == 30)
        #expect(detail["imageStatus"] as? String == "ACTIVE")
        try await h.expectError("DescribeImages", #"{"repositoryName":"acme/web","imageIds":[{"imageTag":"nope"}]}"#, "ImageNotFoundException")
        let (_, got) = try await h.call("BatchGetImage", #"{"repositoryName":"acme/web","imageIds":[{"imageTag":"v1"},{"imageTag":"nope"}]}"#)
        #expect((got["images"] as? [[String: Any]])?.first?["imageManifest"] as? String == manifestJSON.replacingOccurrences(of: "\\\"", with: "\""))
        #expect((got["failures"] as? [[String: Any]])?.first?["failureCode"] as? String == "ImageNotFound")
        try await h.expectError("BatchGetImage", #"{"repositoryName":"acme/web"}"#, "InvalidParameterException")
        try await h.expectError("BatchGetImage", #"{"repositoryName":"acme/web","imageIds":[]}"#, "InvalidParameterException")
    }

    @Test func batchDeleteReportsDeletedIdsAndFailures() async throws {
        let h = try await seeded()
        let (status, result) = try await h.call("BatchDeleteImage", #"{"repositoryName":"acme/web","imageIds":[{"imageTag":"v1"},{"imageTag":"zz"},{"imageDigest":"bad"}]}"#)
        #expect(status == 200)
        #expect((result["imageIds"] as? [[String: Any]])?.first?["imageTag"] as? String == "v1")
        #expect((result["failures"] as? [[String: Any]])?.compactMap { $0["failureCode"] as? String } == ["ImageNotFound", "InvalidImageDigest"])
    }

    @Test func mutabilityEchoesModeAndFiltersAndStorageClassMovesStatus() async throws {
        let h = try await seeded()
        let (status, echoed) = try await h.call("PutImageTagMutability", #"{"repositoryName":"acme/web","imageTagMutability":"MUTABLE_WITH_EXCLUSION","imageTagMutabilityExclusionFilters":[{"filterType":"WILDCARD","filter":"v*"}]}"#)
        #expect(status == 200)
        #expect((echoed["imageTagMutabilityExclusionFilters"] as? [[String: Any]])?.first?["filter"] as? String == "v*")
        try await h.expectError("PutImageTagMutability", #"{"repositoryName":"acme/web"}"#, "InvalidParameterException")
        try await h.expectError("PutImageTagMutability", #"{"repositoryName":"acme/web","imageTagMutability":"MUTABLE","imageTagMutabilityExclusionFilters":[{"filterType":"WILDCARD","filter":"v*"}]}"#, "InvalidParameterException")
        let (_, archived) = try await h.call("UpdateImageStorageClass", #"{"repositoryName":"acme/web","imageId":{"imageTag":"v1"},"targetStorageClass":"ARCHIVE"}"#)
        #expect(archived["imageStatus"] as? String == "ARCHIVED")
        try await h.expectError("UpdateImageStorageClass", #"{"repositoryName":"acme/web","imageId":{"imageTag":"v1"},"targetStorageClass":"ARCHIVE"}"#, "ImageStorageClassUpdateNotSupportedException")
        try await h.expectError("UpdateImageStorageClass", #"{"repositoryName":"acme/web","imageId":{"imageTag":"v1"},"targetStorageClass":"GLACIER"}"#, "InvalidParameterException")
        try await h.expectError("UpdateImageStorageClass", #"{"repositoryName":"acme/web","targetStorageClass":"ARCHIVE"}"#, "InvalidParameterException")
    }
}

/// The ListImages answer is written straight to bytes; it must be the JSON the generic writer
/// makes (keys sorted, no spaces), which clients and the conformance suite parse.
@Suite struct ListImagesBodyTests {
    @Test func theDirectWriterMakesTheGenericWritersBytes() async throws {
        let h = try ECRHarness()
        _ = try await h.call("CreateRepository", #"{"repositoryName":"acme/list"}"#)
        for (i, tag) in ["v1", "v2", nil].enumerated() {
            let manifest = #"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"size\":\#(i)}}"#
            let tagPart = tag.map { #","imageTag":"\#($0)""# } ?? ""
            let (status, _) = try await h.call("PutImage", #"{"repositoryName":"acme/list","imageManifest":"\#(manifest)"\#(tagPart)}"#)
            #expect(status == 200)
        }
        var token: String?
        var pages = 0
        repeat {
            let tokenPart = token.map { #","nextToken":"\#($0)""# } ?? ""
            let response = await h.service.handle(target: ECRService.targetPrefix + "ListImages",
                                                  body: Array(#"{"repositoryName":"acme/list","maxResults":2\#(tokenPart)}"#.utf8),
                                                  principal: "alice", requestId: "req")
            let answer = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
            let ids = try #require(answer["imageIds"] as? [[String: String]])
            token = answer["nextToken"] as? String
            var generic: [String: Any] = ["imageIds": ids.map { $0 as [String: Any] }]
            if let token { generic["nextToken"] = token }
            #expect(response.body == JSONBody.encode(generic))
            #expect(!ids.isEmpty)
            pages += 1
        } while token != nil
        #expect(pages == 2)
    }
}

@Suite struct ECRLayerOperationsWithoutBlobStoreTests {
    /// Found by fuzzing: an embedded service given no blob store answered the layer operations 500.
    @Test func aServiceWithoutABlobStoreAnswersTheUploadOperationsAsUnknown() async throws {
        let h = try ECRHarness()
        _ = try await h.call("CreateRepository", #"{"repositoryName":"acme/layers"}"#)
        let id = "00000000-0000-0000-0000-000000000000", digest = "sha256:" + String(repeating: "a", count: 64)
        try await h.expectError("InitiateLayerUpload", #"{"repositoryName":"acme/layers"}"#, "UnknownOperationException")
        try await h.expectError("UploadLayerPart", #"{"repositoryName":"acme/layers","uploadId":"\#(id)","partFirstByte":0,"partLastByte":0,"layerPartBlob":"YQ=="}"#,
                                "UnknownOperationException")
        try await h.expectError("CompleteLayerUpload", #"{"repositoryName":"acme/layers","uploadId":"\#(id)","layerDigests":["\#(digest)"]}"#,
                                "UnknownOperationException")
        // What only reads the log still answers: the repository holds no layers.
        let (status, answer) = try await h.call("BatchCheckLayerAvailability", #"{"repositoryName":"acme/layers","layerDigests":["\#(digest)"]}"#)
        #expect(status == 200 && (answer["layers"] as? [[String: Any]])?.first?["layerAvailability"] as? String == "UNAVAILABLE")
    }
}
