"""Every ECR operation through boto3: shapes, semantics and the exceptions ECR raises."""
import datetime
import hashlib
import time

import pytest
from botocore.exceptions import ClientError

from conftest import REGISTRY, REGION, manifest


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def push(ecr, repo, n, tag=None):
    args = {"repositoryName": repo, "imageManifest": manifest(n)}
    if tag:
        args["imageTag"] = tag
    return ecr.put_image(**args)["image"]


def test_create_describe_and_delete_repository(ecr, repo):
    created = ecr.create_repository(repositoryName=repo)["repository"]
    assert created["repositoryName"] == repo
    assert created["registryId"] == REGISTRY
    assert created["repositoryArn"] == f"arn:aws:ecr:{REGION}:{REGISTRY}:repository/{repo}"
    assert created["repositoryUri"] == f"{REGISTRY}.dkr.ecr.{REGION}.amazonaws.com/{repo}"
    assert created["imageTagMutability"] == "MUTABLE"
    assert isinstance(created["createdAt"], datetime.datetime)
    assert "imageTagMutabilityExclusionFilters" not in created  # empty fields are omitted

    described = ecr.describe_repositories(repositoryNames=[repo])["repositories"]
    assert [r["repositoryName"] for r in described] == [repo]

    with pytest.raises(ClientError) as e:
        ecr.create_repository(repositoryName=repo)
    assert error_code(e) == "RepositoryAlreadyExistsException"

    push(ecr, repo, 1, "v1")
    with pytest.raises(ClientError) as e:
        ecr.delete_repository(repositoryName=repo)
    assert error_code(e) == "RepositoryNotEmptyException"
    deleted = ecr.delete_repository(repositoryName=repo, force=True)["repository"]
    assert deleted["repositoryName"] == repo

    with pytest.raises(ClientError) as e:
        ecr.describe_repositories(repositoryNames=[repo])
    assert error_code(e) == "RepositoryNotFoundException"
    with pytest.raises(ClientError) as e:
        ecr.delete_repository(repositoryName=repo)
    assert error_code(e) == "RepositoryNotFoundException"


def test_describe_repositories_pages_in_name_order(ecr):
    names = [f"pages/r{i:03d}" for i in range(25)]
    for name in names:
        ecr.create_repository(repositoryName=name)
    seen, token = [], None
    while True:
        args = {"maxResults": 7} | ({"nextToken": token} if token else {})
        page = ecr.describe_repositories(**args)
        assert len(page["repositories"]) <= 7
        seen += [r["repositoryName"] for r in page["repositories"]]
        token = page.get("nextToken")
        if not token:
            break
    ours = [n for n in seen if n.startswith("pages/")]
    assert ours == names
    assert seen == sorted(seen)


def test_put_image_computes_the_digest_and_refuses_duplicates(ecr, repo):
    ecr.create_repository(repositoryName=repo)
    body = manifest(7)
    image = ecr.put_image(repositoryName=repo, imageManifest=body, imageTag="v1")["image"]
    digest = "sha256:" + hashlib.sha256(body.encode()).hexdigest()
    assert image["imageId"] == {"imageDigest": digest, "imageTag": "v1"}
    assert image["imageManifestMediaType"] == "application/vnd.oci.image.manifest.v1+json"

    with pytest.raises(ClientError) as e:  # same manifest, same tag
        ecr.put_image(repositoryName=repo, imageManifest=body, imageTag="v1")
    assert error_code(e) == "ImageAlreadyExistsException"

    with pytest.raises(ClientError) as e:  # a digest the manifest does not have
        ecr.put_image(repositoryName=repo, imageManifest=body, imageTag="v2", imageDigest="sha256:" + "0" * 64)
    assert error_code(e) == "ImageDigestDoesNotMatchException"

    with pytest.raises(ClientError) as e:
        ecr.put_image(repositoryName=repo, imageManifest="{not json", imageTag="v3")
    assert error_code(e) == "InvalidParameterException"

    with pytest.raises(ClientError) as e:
        ecr.put_image(repositoryName="conf/does-not-exist", imageManifest=body)
    assert error_code(e) == "RepositoryNotFoundException"


def test_batch_get_image_returns_manifests_and_failures(ecr, repo):
    ecr.create_repository(repositoryName=repo)
    body = manifest(11)
    digest = push(ecr, repo, 11, "v1")["imageId"]["imageDigest"]
    result = ecr.batch_get_image(repositoryName=repo, imageIds=[
        {"imageTag": "v1"}, {"imageDigest": digest}, {"imageTag": "missing"}, {"imageDigest": "sha256:" + "1" * 64}])
    assert [i["imageManifest"] for i in result["images"]] == [body, body]
    assert result["images"][0]["imageId"] == {"imageDigest": digest, "imageTag": "v1"}
    assert [(f["imageId"], f["failureCode"]) for f in result["failures"]] == [
        ({"imageTag": "missing"}, "ImageNotFound"), ({"imageDigest": "sha256:" + "1" * 64}, "ImageNotFound")]


def test_batch_delete_image_reports_each_failure(ecr, repo):
    ecr.create_repository(repositoryName=repo)
    d1 = push(ecr, repo, 21, "a")["imageId"]["imageDigest"]
    push(ecr, repo, 22, "b")
    result = ecr.batch_delete_image(repositoryName=repo, imageIds=[
        {"imageTag": "a"}, {"imageTag": "nope"}, {"imageDigest": "sha256:" + "2" * 64}])
    assert result["imageIds"] == [{"imageDigest": d1, "imageTag": "a"}]
    assert sorted(f["failureCode"] for f in result["failures"]) == ["ImageNotFound", "ImageNotFound"]
    remaining = ecr.list_images(repositoryName=repo)["imageIds"]
    assert [i.get("imageTag") for i in remaining] == ["b"]


def test_describe_images_shapes(ecr, repo):
    ecr.create_repository(repositoryName=repo)
    digest = push(ecr, repo, 31, "v1")["imageId"]["imageDigest"]
    push(ecr, repo, 31, "latest")
    [detail] = ecr.describe_images(repositoryName=repo)["imageDetails"]
    assert detail["imageDigest"] == digest
    assert sorted(detail["imageTags"]) == ["latest", "v1"]
    assert detail["imageSizeInBytes"] == 131 + 1000
    assert detail["imageManifestMediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert detail["imageStatus"] == "ACTIVE"
    assert detail["registryId"] == REGISTRY
    assert isinstance(detail["imagePushedAt"], datetime.datetime)
    with pytest.raises(ClientError) as e:
        ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "missing"}])
    assert error_code(e) == "ImageNotFoundException"


def test_archive_and_restore_with_activation_delay(ecr, repo):
    ecr.create_repository(repositoryName=repo)
    digest = push(ecr, repo, 41, "v1")["imageId"]["imageDigest"]
    archived = ecr.update_image_storage_class(repositoryName=repo, imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE")
    assert archived["imageStatus"] == "ARCHIVED"
    assert ecr.list_images(repositoryName=repo)["imageIds"] == []  # ListImages shows ACTIVE by default
    listed = ecr.list_images(repositoryName=repo, filter={"imageStatus": "ARCHIVED"})["imageIds"]
    assert listed == [{"imageDigest": digest, "imageTag": "v1"}]

    restored = ecr.update_image_storage_class(repositoryName=repo, imageId={"imageDigest": digest}, targetStorageClass="STANDARD")
    assert restored["imageStatus"] == "ACTIVATING"
    deadline = time.time() + 15
    while time.time() < deadline:
        [detail] = ecr.describe_images(repositoryName=repo, filter={"imageStatus": "ANY"})["imageDetails"]
        if detail["imageStatus"] == "ACTIVE":
            break
        time.sleep(0.2)
    assert detail["imageStatus"] == "ACTIVE"
    with pytest.raises(ClientError) as e:
        ecr.update_image_storage_class(repositoryName=repo, imageId={"imageTag": "v1"}, targetStorageClass="GLACIER")
    assert error_code(e) == "InvalidParameterException"


def test_a_repository_belongs_to_its_registry(ecr, repo):
    ecr.create_repository(repositoryName=repo)
    with pytest.raises(ClientError) as e:
        ecr.describe_repositories(registryId="999999999999", repositoryNames=[repo])
    assert error_code(e) == "RepositoryNotFoundException"


def test_a_manifest_near_the_four_mebibyte_limit_is_accepted(ecr, repo):
    import json
    ecr.create_repository(repositoryName=repo)
    layers = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + format(i, "064x"), "size": 1}
              for i in range(26_000)]
    body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "e" * 64, "size": 1},
                       "layers": layers}, separators=(",", ":"))
    assert 3 << 20 < len(body) <= 4 << 20
    image = ecr.put_image(repositoryName=repo, imageManifest=body, imageTag="big")["image"]
    assert image["imageId"]["imageTag"] == "big"
    [got] = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "big"}])["images"]
    assert got["imageManifest"] == body
    [detail] = ecr.describe_images(repositoryName=repo)["imageDetails"]
    assert detail["imageSizeInBytes"] == 26_001
