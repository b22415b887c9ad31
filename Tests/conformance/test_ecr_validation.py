"""Bad input, sent past boto3's own validation and as raw HTTP: a 400 with an ECR-shaped error,
and the store unchanged."""
import json

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import head_seq, manifest, signed_post

LONG = "a" * 257


@pytest.fixture(scope="module")
def existing(ecr):
    ecr.create_repository(repositoryName="valid/existing")
    ecr.put_image(repositoryName="valid/existing", imageManifest=manifest(1), imageTag="v1")
    return "valid/existing"


BAD_CALLS = [
    ("create_repository", {"repositoryName": "Upper/Case"}),
    ("create_repository", {"repositoryName": LONG}),
    ("create_repository", {"repositoryName": "a"}),
    ("create_repository", {"repositoryName": "ok/name", "imageTagMutability": "SOMETIMES"}),
    ("create_repository", {"repositoryName": "ok/name", "registryId": "12345"}),
    ("create_repository", {"repositoryName": 42}),
    ("create_repository", {}),
    ("describe_repositories", {"maxResults": 0}),
    ("describe_repositories", {"maxResults": 1001}),
    ("describe_repositories", {"repositoryNames": []}),
    ("describe_repositories", {"repositoryNames": ["a/b"] * 101}),
    ("describe_repositories", {"nextToken": "garbage"}),
    ("list_images", {"repositoryName": "valid/existing", "maxResults": 0}),
    ("list_images", {"repositoryName": "valid/existing", "maxResults": "ten"}),
    ("list_images", {"repositoryName": "valid/existing", "filter": {"tagStatus": "SOME"}}),
    ("list_images", {"repositoryName": "valid/existing", "filter": {"imageStatus": "GONE"}}),
    ("list_images", {"repositoryName": "valid/existing", "nextToken": ""}),
    ("describe_images", {"repositoryName": "valid/existing", "imageIds": []}),
    ("describe_images", {"repositoryName": "valid/existing", "imageIds": [{"imageTag": "x" * 301}]}),
    ("put_image", {"repositoryName": "valid/existing", "imageManifest": ""}),
    ("put_image", {"repositoryName": "valid/existing", "imageManifest": manifest(2), "imageTag": ""}),
    ("put_image", {"repositoryName": "valid/existing", "imageManifest": manifest(2), "imageTag": "x" * 301}),
    ("put_image", {"repositoryName": "valid/existing", "imageManifest": manifest(2), "imageDigest": "md5:abc"}),
    ("put_image", {"repositoryName": "valid/existing", "imageManifest": '{"schemaVersion": 2, "config": {"size": true}}'}),
    ("put_image", {"repositoryName": "valid/existing", "imageManifest": manifest(2), "imageManifestMediaType": "text/plain"}),
    ("batch_get_image", {"repositoryName": "valid/existing", "imageIds": []}),
    ("batch_get_image", {"repositoryName": "valid/existing", "imageIds": [{"imageTag": "v1"}] * 101}),
    ("batch_delete_image", {"repositoryName": "valid/existing", "imageIds": []}),
    ("batch_delete_image", {"repositoryName": "valid/existing", "imageIds": [{"imageTag": "v1"}] * 101}),
    ("put_image_tag_mutability", {"repositoryName": "valid/existing", "imageTagMutability": "NEVER"}),
    ("put_image_tag_mutability", {"repositoryName": "valid/existing", "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
                                  "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": f"f{i}*"} for i in range(6)]}),
    ("update_image_storage_class", {"repositoryName": "valid/existing", "imageId": {"imageTag": "v1"}, "targetStorageClass": "COLD"}),
    ("delete_repository", {"repositoryName": "valid/existing", "force": "yes"}),
]


@pytest.mark.parametrize("operation,args", BAD_CALLS, ids=[f"{op}-{i}" for i, (op, _) in enumerate(BAD_CALLS)])
def test_bad_parameters_get_a_400_and_change_nothing(server, ecr, ecr_raw, existing, operation, args):
    before = head_seq(server)
    with pytest.raises(ClientError) as e:
        getattr(ecr_raw, operation)(**args)
    error = e.value.response["Error"]
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] in ("InvalidParameterException", "ValidationException"), error
    assert error["Message"]
    assert head_seq(server) == before
    assert [i.get("imageTag") for i in ecr.list_images(repositoryName=existing)["imageIds"]] == ["v1"]


def test_an_image_id_without_digest_or_tag_is_a_failure_entry(server, ecr_raw, existing):
    before = head_seq(server)
    result = ecr_raw.batch_delete_image(repositoryName=existing, imageIds=[{}])
    assert result["imageIds"] == []
    assert [f["failureCode"] for f in result["failures"]] == ["MissingDigestAndTag"]
    assert head_seq(server) == before


RAW_BODIES = [
    b"{not json",
    b"[1, 2, 3]",
    b'"a string"',
    b"\xff\xfe\x00garbage",
    b'{"repositoryName": "valid/\xff\xfeexisting", "imageIds": [{"imageTag": "v1"}]}',
    b'{"repositoryName": {"nested": ' * 200 + b"1" + b"}" * 200,
    json.dumps({"repositoryName": "valid/existing", "imageIds": [{"imageTag": "v1"}] * 100000}).encode(),
]


@pytest.mark.parametrize("body", RAW_BODIES, ids=["truncated", "array", "string", "binary", "invalid-utf8-string", "deep", "huge-list"])
def test_malformed_raw_bodies_are_refused(server, existing, body):
    before = head_seq(server)
    response = signed_post(server.url, "BatchDeleteImage", body)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"__type", "message"}
    assert head_seq(server) == before


def test_unknown_and_missing_operations(server):
    response = signed_post(server.url, "DeleteEverything", {})
    assert response.status_code == 400
    assert response.json()["__type"] == "UnknownOperationException"
    response = signed_post(server.url, "", {}, target="")
    assert response.status_code == 400
    assert response.json()["__type"] == "UnknownOperationException"


def test_oversized_body_is_refused_without_reading_it_all(server):
    response = signed_post(server.url, "PutImage", b"{" + b" " * (11 << 20) + b"}")
    assert response.status_code == 413
    assert response.json()["__type"] == "RequestEntityTooLargeException"


def test_responses_carry_the_request_id_and_content_type(server, existing):
    response = signed_post(server.url, "ListImages", {"repositoryName": existing})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert len(response.headers["x-amzn-RequestId"]) >= 16


def test_unknown_routes_are_404(server):
    assert requests.get(server.url + "/nothing-here").status_code == 404
