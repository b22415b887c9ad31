"""The four tag-mutability modes with wildcard exclusion filters, set at creation and later."""
import pytest
from botocore.exceptions import ClientError

from conftest import manifest


def put(ecr, repo, n, tag):
    return ecr.put_image(repositoryName=repo, imageManifest=manifest(n), imageTag=tag)


def refused(ecr, repo, n, tag):
    with pytest.raises(ClientError) as e:
        put(ecr, repo, n, tag)
    return e.value.response["Error"]["Code"]


# (mode, filters, tag, may that tag move to another image?)
CASES = [
    ("MUTABLE", [], "v1", True),
    ("IMMUTABLE", [], "v1", False),
    ("IMMUTABLE_WITH_EXCLUSION", ["dev-*", "*-snapshot"], "v1", False),
    ("IMMUTABLE_WITH_EXCLUSION", ["dev-*", "*-snapshot"], "dev-42", True),
    ("IMMUTABLE_WITH_EXCLUSION", ["dev-*", "*-snapshot"], "1.0-snapshot", True),
    ("MUTABLE_WITH_EXCLUSION", ["release-*"], "release-1", False),
    ("MUTABLE_WITH_EXCLUSION", ["release-*"], "latest", True),
]


@pytest.mark.parametrize("mode,filters,tag,movable", CASES)
def test_mode_decides_whether_a_tag_moves(ecr, repo, mode, filters, tag, movable):
    args = {"repositoryName": repo, "imageTagMutability": mode}
    if filters:
        args["imageTagMutabilityExclusionFilters"] = [{"filterType": "WILDCARD", "filter": f} for f in filters]
    created = ecr.create_repository(**args)["repository"]
    assert created["imageTagMutability"] == mode
    assert created.get("imageTagMutabilityExclusionFilters", []) == args.get("imageTagMutabilityExclusionFilters", [])
    first = put(ecr, repo, 1, tag)["image"]["imageId"]["imageDigest"]
    if movable:
        second = put(ecr, repo, 2, tag)["image"]["imageId"]["imageDigest"]
        assert ecr.list_images(repositoryName=repo, filter={"tagStatus": "TAGGED"})["imageIds"] == [{"imageDigest": second, "imageTag": tag}]
    else:
        assert refused(ecr, repo, 2, tag) == "ImageTagAlreadyExistsException"
        assert ecr.list_images(repositoryName=repo, filter={"tagStatus": "TAGGED"})["imageIds"] == [{"imageDigest": first, "imageTag": tag}]


def test_put_image_tag_mutability_changes_the_rules(ecr, repo):
    ecr.create_repository(repositoryName=repo)
    put(ecr, repo, 1, "v1")
    put(ecr, repo, 2, "v1")  # MUTABLE: moves
    result = ecr.put_image_tag_mutability(
        repositoryName=repo, imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "latest"}])
    assert result["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert result["imageTagMutabilityExclusionFilters"] == [{"filterType": "WILDCARD", "filter": "latest"}]
    assert refused(ecr, repo, 3, "v1") == "ImageTagAlreadyExistsException"
    put(ecr, repo, 3, "latest")
    put(ecr, repo, 4, "latest")
    described = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]
    assert described["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="MUTABLE")
    put(ecr, repo, 5, "v1")


@pytest.mark.parametrize("mode,filters,message", [
    ("IMMUTABLE_WITH_EXCLUSION", [], "filter"),
    ("MUTABLE", [{"filterType": "WILDCARD", "filter": "dev-*"}], "filter"),
    ("IMMUTABLE_WITH_EXCLUSION", [{"filterType": "WILDCARD", "filter": "bad filter!"}], "filter"),
    ("IMMUTABLE_WITH_EXCLUSION", [{"filterType": "REGEX", "filter": "dev-*"}], "filterType"),
])
def test_bad_mutability_settings_are_refused(ecr_raw, repo, mode, filters, message):
    args = {"repositoryName": repo, "imageTagMutability": mode}
    if filters:
        args["imageTagMutabilityExclusionFilters"] = filters
    with pytest.raises(ClientError) as e:
        ecr_raw.create_repository(**args)
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    assert message in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        ecr_raw.describe_repositories(repositoryNames=[repo])
    assert e.value.response["Error"]["Code"] == "RepositoryNotFoundException"
