import Foundation
import RegistryAPI
import Testing

/// A request signed by botocore 1.43 (`SigV4Auth(creds, "ecr", "us-east-1")`), recorded verbatim.
enum BotocoreVector {
    static let body = Array(#"{"repositoryName": "acme/web", "maxResults": 100}"#.utf8)
    static let authorization = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261124/us-east-1/ecr/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=bd1bfc0471f4ac44168d049c7251550277fe1c38fd6a81d31cf971ec7e9943d5"
    static let signedAt = Date(timeIntervalSince1970: 1_795_518_100)  // 2026-11-24T11:01:40Z
    static let credential = AccessCredential(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", principal: "alice")

    static func request(authorization: String? = BotocoreVector.authorization, body: [UInt8] = BotocoreVector.body,
                        target: String = "AmazonEC2ContainerRegistry_V20150921.ListImages", date: String = "20261124T110140Z") -> SignedRequest {
        var headers: [(name: String, value: String)] = [
            ("Host", "127.0.0.1:5000"), ("X-Amz-Target", target), ("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Date", date),
        ]
        if let authorization { headers.append(("Authorization", authorization)) }
        return SignedRequest(method: "POST", path: "/", headers: headers, body: body)
    }
}

@Suite struct SigV4VerifierTests {
    let verifier = SigV4Verifier(credentials: [BotocoreVector.credential], region: "us-east-1")

    @Test func aBotocoreSignedRequestVerifiesAndNamesItsPrincipal() throws {
        #expect(try verifier.verify(BotocoreVector.request(), now: BotocoreVector.signedAt).principal == "alice")
        // Within ±15 minutes of the signing time.
        #expect(throws: Never.self) { try verifier.verify(BotocoreVector.request(), now: BotocoreVector.signedAt.addingTimeInterval(899)) }
    }

    @Test func tamperingWithBodyOrSignedHeadersBreaksTheSignature() {
        var body = BotocoreVector.body
        body[5] ^= 1
        #expect(throws: SigV4Failure.signatureMismatch) { try verifier.verify(BotocoreVector.request(body: body), now: BotocoreVector.signedAt) }
        #expect(throws: SigV4Failure.signatureMismatch) {
            try verifier.verify(BotocoreVector.request(target: "AmazonEC2ContainerRegistry_V20150921.DeleteRepository"), now: BotocoreVector.signedAt)
        }
    }

    @Test func aWrongSecretUnknownKeyWrongRegionOrServiceIsRefused() {
        let wrongSecret = SigV4Verifier(credentials: [AccessCredential(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "other", principal: "x")], region: "us-east-1")
        #expect(throws: SigV4Failure.signatureMismatch) { try wrongSecret.verify(BotocoreVector.request(), now: BotocoreVector.signedAt) }
        let otherKey = SigV4Verifier(credentials: [AccessCredential(accessKeyId: "AKIDOTHER", secretAccessKey: "s", principal: "x")], region: "us-east-1")
        #expect(throws: SigV4Failure.unknownAccessKey) { try otherKey.verify(BotocoreVector.request(), now: BotocoreVector.signedAt) }
        let otherRegion = SigV4Verifier(credentials: [BotocoreVector.credential], region: "eu-west-1")
        #expect { try otherRegion.verify(BotocoreVector.request(), now: BotocoreVector.signedAt) } throws: {
            if case SigV4Failure.wrongScope = $0 { true } else { false }
        }
        let otherService = SigV4Verifier(credentials: [BotocoreVector.credential], region: "us-east-1", service: "s3")
        #expect { try otherService.verify(BotocoreVector.request(), now: BotocoreVector.signedAt) } throws: {
            if case SigV4Failure.wrongScope = $0 { true } else { false }
        }
    }

    @Test func aRequestOutsideFifteenMinutesIsRefused() {
        #expect(throws: SigV4Failure.requestTimeTooSkewed) { try verifier.verify(BotocoreVector.request(), now: BotocoreVector.signedAt.addingTimeInterval(901)) }
        #expect(throws: SigV4Failure.requestTimeTooSkewed) { try verifier.verify(BotocoreVector.request(), now: BotocoreVector.signedAt.addingTimeInterval(-901)) }
    }

    @Test(arguments: [
        "Basic abc", "AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261124/us-east-1/ecr/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2026/us-east-1/ecr/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + String(repeating: "a", count: 64),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261124/us-east-1/ecr/aws4_request, SignedHeaders=host;x-amz-date, Signature=XYZ",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261124/us-east-1/ecr/aws4_request, SignedHeaders=x-amz-date;host, Signature=" + String(repeating: "a", count: 64),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261124/us-east-1/ecr/aws4_request, SignedHeaders=content-type;x-amz-date, Signature=" + String(repeating: "a", count: 64),
    ])
    func malformedAuthorizationHeadersAreRefusedWithoutCrashing(_ header: String) {
        #expect(throws: SigV4Failure.self) { try verifier.verify(BotocoreVector.request(authorization: header), now: BotocoreVector.signedAt) }
    }

    @Test func missingAuthorizationOrDateIsRefused() {
        #expect(throws: SigV4Failure.missingAuthorization) { try verifier.verify(BotocoreVector.request(authorization: nil), now: BotocoreVector.signedAt) }
        #expect { try verifier.verify(BotocoreVector.request(date: "yesterday"), now: BotocoreVector.signedAt) } throws: {
            if case SigV4Failure.malformedAuthorization = $0 { true } else { false }
        }
    }

    /// A valid signature over `signedHeaders` only, with `unsigned` headers added to the request afterwards.
    static func request(signing signedHeaders: [(name: String, value: String)], adding unsigned: [(name: String, value: String)]) -> SignedRequest {
        let signer = SigV4Signer(credential: BotocoreVector.credential, region: "us-east-1")
        let body = Array(#"{"repositoryName":"auth/victim"}"#.utf8)
        let added = signer.sign(method: "POST", path: "/", host: "localhost:1", headers: signedHeaders, body: body)
        return SignedRequest(method: "POST", path: "/", headers: signedHeaders + unsigned + [("Host", "localhost:1")] + added, body: body)
    }

    @Test(arguments: [
        ([], [("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.DeleteRepository"), ("Content-Type", "application/x-amz-json-1.1")], "content-type"),
        ([("Content-Type", "application/x-amz-json-1.1")], [("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.DeleteRepository")], "x-amz-target"),
        ([("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.ListImages")], [("Content-Type", "application/x-amz-json-1.1")], "content-type"),
        ([("X-Amz-Target", "T"), ("Content-Type", "application/x-amz-json-1.1")], [("X-Amz-Security-Token", "stolen")], "x-amz-security-token"),
    ] as [([(name: String, value: String)], [(name: String, value: String)], String)])
    func aSignatureThatLeavesOutTheTargetContentTypeOrAnAmzHeaderIsRefused(
        _ signed: [(name: String, value: String)], _ unsigned: [(name: String, value: String)], _ named: String
    ) {
        let verifier = SigV4Verifier(credentials: [BotocoreVector.credential], region: "us-east-1")
        #expect(throws: SigV4Failure.malformedAuthorization("SignedHeaders must include '\(named)'")) {
            try verifier.verify(Self.request(signing: signed, adding: unsigned))
        }
        // The same headers, signed, verify: the refusal is about coverage, not the signature.
        #expect(throws: Never.self) { try verifier.verify(Self.request(signing: signed + unsigned, adding: [])) }
    }

    @Test func failureMessagesNeverCarryTheSecret() {
        let failures: [SigV4Failure] = [.missingAuthorization, .malformedAuthorization("x"), .unknownAccessKey, .wrongScope("x"),
                                        .requestTimeTooSkewed, .signatureMismatch]
        for failure in failures {
            #expect(!failure.description.contains(BotocoreVector.credential.secretAccessKey))
            #expect(!failure.code.isEmpty)
        }
    }
}

@Suite struct SigV4SignerTests {
    @Test func signsExactlyAsBotocoreDid() {
        let signer = SigV4Signer(credential: BotocoreVector.credential, region: "us-east-1")
        let added = signer.sign(method: "POST", path: "/", host: "127.0.0.1:5000",
                                headers: [("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.ListImages"),
                                          ("Content-Type", "application/x-amz-json-1.1")],
                                body: BotocoreVector.body, now: BotocoreVector.signedAt)
        #expect(added.first { $0.name == "X-Amz-Date" }?.value == "20261124T110140Z")
        #expect(added.first { $0.name == "Authorization" }?.value == BotocoreVector.authorization)
    }

    @Test func whatItSignsVerifiesAndAnotherBodyDoesNot() throws {
        let signer = SigV4Signer(credential: BotocoreVector.credential, region: "us-east-1")
        let verifier = SigV4Verifier(credentials: [BotocoreVector.credential], region: "us-east-1")
        let headers: [(name: String, value: String)] = [("X-Amz-Target", "T"), ("Content-Type", "application/x-amz-json-1.1")]
        let body = Array(#"{"a": 1}"#.utf8)
        let signed = headers + [("Host", "localhost:1")] + signer.sign(method: "POST", path: "/", host: "localhost:1", headers: headers, body: body)
        #expect(try verifier.verify(SignedRequest(method: "POST", path: "/", headers: signed, body: body)).principal == "alice")
        #expect(throws: SigV4Failure.signatureMismatch) {
            try verifier.verify(SignedRequest(method: "POST", path: "/", headers: signed, body: Array(#"{"a": 2}"#.utf8)))
        }
    }
}
