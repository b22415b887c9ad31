import Foundation
import RegistryAPI
import RegistryLedger
import Testing

/// ECR repository settings and resource tags through the API (SPEC §2.7): botocore's shapes
/// out, every nested member checked in, nothing stored on bad input.
@Suite struct ECRSettingsTests {
    let arn = "arn:aws:ecr:us-east-1:000000000000:repository/acme/web"

    @Test func createRepositoryStoresAndReturnsEveryMemberOfTheRepositoryShape() async throws {
        let h = try ECRHarness()
        let (status, created) = try await h.call("CreateRepository", #"{"repositoryName":"acme/web","imageScanningConfiguration":{"scanOnPush":true},"encryptionConfiguration":{"encryptionType":"KMS","kmsKey":"arn:aws:kms:us-east-1:000000000000:key/k1"},"tags":[{"Key":"team","Value":"web"},{"Key":"env","Value":""}]}"#)
        #expect(status == 200)
        let repo = try #require(created["repository"] as? [String: Any])
        #expect(repo["imageScanningConfiguration"] as? [String: Bool] == ["scanOnPush": true])
        #expect(repo["encryptionConfiguration"] as? [String: String] == ["encryptionType": "KMS", "kmsKey": "arn:aws:kms:us-east-1:000000000000:key/k1"])
        let (_, plain) = try await h.call("CreateRepository", #"{"repositoryName":"acme/plain"}"#)
        let plainRepo = try #require(plain["repository"] as? [String: Any])
        #expect(plainRepo["imageScanningConfiguration"] as? [String: Bool] == ["scanOnPush": false])
        #expect(plainRepo["encryptionConfiguration"] as? [String: String] == ["encryptionType": "AES256"])
        let (_, described) = try await h.call("DescribeRepositories", #"{"repositoryNames":["acme/web"]}"#)
        let first = try #require((described["repositories"] as? [[String: Any]])?.first)
        #expect(first["imageScanningConfiguration"] as? [String: Bool] == ["scanOnPush": true])
        let (_, listed) = try await h.call("ListTagsForResource", #"{"resourceArn":"\#(arn)"}"#)
        #expect(listed["tags"] as? [[String: String]] == [["Key": "env", "Value": ""], ["Key": "team", "Value": "web"]])
    }

    @Test func malformedSettingsAndTagsAreRefusedAndNothingIsStored() async throws {
        let h = try ECRHarness()
        let cases: [(String, String)] = [
            (#""tags":"nope""#, "InvalidParameterException"),
            (#""tags":[{"Key":"a"}]"#, "InvalidParameterException"),
            (#""tags":[{"Key":"a","Value":1}]"#, "InvalidParameterException"),
            (#""tags":["a"]"#, "InvalidParameterException"),
            (#""tags":[{"Key":"","Value":"v"}]"#, "InvalidTagParameterException"),
            (#""tags":[{"Key":"a","Value":"1"},{"Key":"a","Value":"2"}]"#, "InvalidTagParameterException"),
            (#""tags":[\#((0..<51).map { #"{"Key":"k\#($0)","Value":""}"# }.joined(separator: ","))]"#, "TooManyTagsException"),
            (#""imageScanningConfiguration":"x""#, "InvalidParameterException"),
            (#""imageScanningConfiguration":{"scanOnPush":"yes"}"#, "InvalidParameterException"),
            (#""encryptionConfiguration":{}"#, "InvalidParameterException"),
            (#""encryptionConfiguration":{"encryptionType":"BOGUS"}"#, "InvalidParameterException"),
            (#""encryptionConfiguration":{"encryptionType":"AES256","kmsKey":"k"}"#, "InvalidParameterException"),
            (#""encryptionConfiguration":"AES256""#, "InvalidParameterException"),
        ]
        for (member, type) in cases {
            try await h.expectError("CreateRepository", #"{"repositoryName":"acme/bad",\#(member)}"#, type)
        }
        #expect(try h.ledger.headSeq() == 0)
    }

    @Test func tagUntagListAndScanningByARN() async throws {
        let h = try ECRHarness()
        _ = try await h.call("CreateRepository", #"{"repositoryName":"acme/web"}"#)
        var (status, _) = try await h.call("TagResource", #"{"resourceArn":"\#(arn)","tags":[{"Key":"team","Value":"a"},{"Key":"env","Value":"prod"}]}"#)
        #expect(status == 200)
        (status, _) = try await h.call("UntagResource", #"{"resourceArn":"\#(arn)","tagKeys":["env","absent"]}"#)
        #expect(status == 200)
        let (_, listed) = try await h.call("ListTagsForResource", #"{"resourceArn":"\#(arn)"}"#)
        #expect(listed["tags"] as? [[String: String]] == [["Key": "team", "Value": "a"]])
        let (_, scanning) = try await h.call("PutImageScanningConfiguration", #"{"repositoryName":"acme/web","imageScanningConfiguration":{"scanOnPush":true}}"#)
        #expect(scanning["imageScanningConfiguration"] as? [String: Bool] == ["scanOnPush": true])
        #expect(scanning["repositoryName"] as? String == "acme/web" && scanning["registryId"] as? String == "000000000000")
        let head = try h.ledger.headSeq()
        for bad in ["nope", "arn:aws:s3:::bucket", "arn:aws:ecr:eu-west-1:000000000000:repository/acme/web",
                    "arn:aws:ecr:us-east-1:000000000000:image/acme/web", "arn:aws:ecr:us-east-1:12:repository/acme/web",
                    "arn:aws:ecr:us-east-1:210987654321:repository/acme/web",
                    "arn:aws:ecr:us-east-1:000000000000:repository/Bad Name"] {
            try await h.expectError("TagResource", #"{"resourceArn":"\#(bad)","tags":[{"Key":"a","Value":"b"}]}"#, "InvalidParameterException")
            try await h.expectError("ListTagsForResource", #"{"resourceArn":"\#(bad)"}"#, "InvalidParameterException")
        }
        try await h.expectError("TagResource", #"{"resourceArn":"arn:aws:ecr:us-east-1:000000000000:repository/acme/none","tags":[]}"#,
                                "RepositoryNotFoundException")
        try await h.expectError("UntagResource", #"{"resourceArn":"\#(arn)","tagKeys":"team"}"#, "InvalidParameterException")
        try await h.expectError("UntagResource", #"{"resourceArn":"\#(arn)","tagKeys":[""]}"#, "InvalidTagParameterException")
        try await h.expectError("UntagResource", #"{"resourceArn":"\#(arn)"}"#, "InvalidParameterException")
        try await h.expectError("TagResource", #"{"resourceArn":"\#(arn)"}"#, "InvalidParameterException")
        try await h.expectError("PutImageScanningConfiguration", #"{"repositoryName":"acme/web"}"#, "InvalidParameterException")
        try await h.expectError("PutImageScanningConfiguration", #"{"repositoryName":"acme/web","imageScanningConfiguration":{"scanOnPush":1}}"#,
                                "InvalidParameterException")
        #expect(try h.ledger.headSeq() == head)
    }
}

/// ECR `PutLifecyclePolicy`, `GetLifecyclePolicy`, `DeleteLifecyclePolicy`.
@Suite struct ECRLifecyclePolicyTests {
    static let text = #"{"rules":[{"rulePriority":1,"description":"expire old untagged images","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}"#

    @Test func putGetAndDeleteAnswerWithBotocoresShapes() async throws {
        let h = try ECRHarness()
        _ = try await h.call("CreateRepository", #"{"repositoryName":"acme/web"}"#)
        try await h.expectError("GetLifecyclePolicy", #"{"repositoryName":"acme/web"}"#, "LifecyclePolicyNotFoundException")
        let body = try String(decoding: JSONSerialization.data(withJSONObject: ["repositoryName": "acme/web", "lifecyclePolicyText": Self.text]), as: UTF8.self)
        let (status, put) = try await h.call("PutLifecyclePolicy", body)
        #expect(status == 200 && put["lifecyclePolicyText"] as? String == Self.text && put["repositoryName"] as? String == "acme/web")
        let (_, got) = try await h.call("GetLifecyclePolicy", #"{"repositoryName":"acme/web"}"#)
        #expect(got["lifecyclePolicyText"] as? String == Self.text && got["registryId"] as? String == "000000000000")
        #expect(got["lastEvaluatedAt"] as? Int == 0)
        let (_, deleted) = try await h.call("DeleteLifecyclePolicy", #"{"repositoryName":"acme/web"}"#)
        #expect(deleted["lifecyclePolicyText"] as? String == Self.text)
        try await h.expectError("DeleteLifecyclePolicy", #"{"repositoryName":"acme/web"}"#, "LifecyclePolicyNotFoundException")
        let head = try h.ledger.headSeq()
        try await h.expectError("PutLifecyclePolicy", #"{"repositoryName":"acme/web"}"#, "InvalidParameterException")
        try await h.expectError("PutLifecyclePolicy", #"{"repositoryName":"acme/web","lifecyclePolicyText":{"rules":[]}}"#, "InvalidParameterException")
        try await h.expectError("PutLifecyclePolicy", #"{"repositoryName":"acme/web","lifecyclePolicyText":"{\"rules\":[]}"}"#, "InvalidParameterException")
        let bad = Self.text.replacingOccurrences(of: #""days""#, with: #""hours""#)
        let badBody = try String(decoding: JSONSerialization.data(withJSONObject: ["repositoryName": "acme/web", "lifecyclePolicyText": bad]), as: UTF8.self)
        let (badStatus, refused) = try await h.call("PutLifecyclePolicy", badBody)
        #expect(badStatus == 400 && (refused["message"] as? String)?.contains("rule with priority 1") == true, "\(refused)")
        let missing = try String(decoding: JSONSerialization.data(withJSONObject: ["repositoryName": "acme/none", "lifecyclePolicyText": Self.text]), as: UTF8.self)
        try await h.expectError("PutLifecyclePolicy", missing, "RepositoryNotFoundException")
        #expect(try h.ledger.headSeq() == head)
    }
}

/// ECR `StartLifecyclePolicyPreview` and `GetLifecyclePolicyPreview`.
@Suite struct ECRLifecyclePreviewTests {
    static let keepOne = #"{"rules":[{"rulePriority":1,"description":"keep only the newest image","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#

    func body(_ object: [String: Any]) throws -> String { String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self) }

    @Test func aPreviewIsComputedAtStartPagedAndFilteredAndChangesNothing() async throws {
        let h = try ECRHarness()
        _ = try await h.call("CreateRepository", #"{"repositoryName":"acme/web"}"#)
        for i in 0..<4 {
            let manifest = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"size":\#(i)},"layers":[]}"#
            let tag: [String: Any] = i == 3 ? [:] : ["imageTag": "v\(i)"]
            _ = try await h.call("PutImage", try body(["repositoryName": "acme/web", "imageManifest": manifest].merging(tag) { a, _ in a }))
        }
        try await h.expectError("GetLifecyclePolicyPreview", #"{"repositoryName":"acme/web"}"#, "LifecyclePolicyPreviewNotFoundException")
        try await h.expectError("StartLifecyclePolicyPreview", #"{"repositoryName":"acme/web"}"#, "LifecyclePolicyNotFoundException")
        try await h.expectError("StartLifecyclePolicyPreview", try body(["repositoryName": "acme/web", "lifecyclePolicyText": Self.keepOne.replacingOccurrences(of: #""countNumber":1"#, with: #""countNumber":0"#)]),
                                "InvalidParameterException")
        let head = try h.ledger.headSeq()
        let (status, started) = try await h.call("StartLifecyclePolicyPreview", try body(["repositoryName": "acme/web", "lifecyclePolicyText": Self.keepOne]))
        #expect(status == 200 && started["status"] as? String == "COMPLETE" && started["lifecyclePolicyText"] as? String == Self.keepOne)
        var (_, page) = try await h.call("GetLifecyclePolicyPreview", #"{"repositoryName":"acme/web","maxResults":2}"#)
        var results = try #require(page["previewResults"] as? [[String: Any]])
        #expect(results.count == 2 && results.allSatisfy { ($0["action"] as? [String: String]) == ["type": "EXPIRE"] && $0["appliedRulePriority"] as? Int == 1 })
        #expect((page["summary"] as? [String: Any])?["expiringImageTotalCount"] as? Int == 3)
        let token = try #require(page["nextToken"] as? String)
        (_, page) = try await h.call("GetLifecyclePolicyPreview", #"{"repositoryName":"acme/web","maxResults":2,"nextToken":"\#(token)"}"#)
        results += try #require(page["previewResults"] as? [[String: Any]])
        #expect(results.count == 3 && page["nextToken"] == nil)
        let (_, untagged) = try await h.call("GetLifecyclePolicyPreview", #"{"repositoryName":"acme/web","filter":{"tagStatus":"UNTAGGED"}}"#)
        #expect((untagged["previewResults"] as? [[String: Any]])?.count == 0)  // the untagged image is the newest, kept
        try await h.expectError("GetLifecyclePolicyPreview", #"{"repositoryName":"acme/web","nextToken":"9.1"}"#, "InvalidParameterException")
        try await h.expectError("GetLifecyclePolicyPreview", #"{"repositoryName":"acme/web","maxResults":101}"#, "InvalidParameterException")
        try await h.expectError("GetLifecyclePolicyPreview", #"{"repositoryName":"acme/web","filter":{"tagStatus":"SOME"}}"#, "InvalidParameterException")
        #expect(try h.ledger.headSeq() == head)
    }
}
