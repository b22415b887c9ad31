"""ListImages and DescribeImages paging through 5,000+ entries, every filter value and default."""
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from conftest import manifest

TAGGED = 4200      # images with one tag each; 300 of them get a second tag
UNTAGGED = 900     # images pushed without a tag
ARCHIVED = 50      # tagged images moved to the archive
EXTRA_TAGS = 300


@pytest.fixture(scope="module")
def big(ecr):
    """A repository of 5,400 ListImages entries (tagged pairs + untagged digests), pushed
    concurrently so that the server's group commit carries the load."""
    name = "paging/big"
    ecr.create_repository(repositoryName=name)

    def push(i):
        args = {"repositoryName": name, "imageManifest": manifest(100_000 + i)}
        if i < TAGGED:
            args["imageTag"] = f"t{i:05d}"
        return ecr.put_image(**args)["image"]["imageId"]["imageDigest"]

    with ThreadPoolExecutor(16) as pool:
        digests = list(pool.map(push, range(TAGGED + UNTAGGED)))
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: ecr.put_image(repositoryName=name, imageManifest=manifest(100_000 + i), imageTag=f"x{i:05d}"),
                      range(EXTRA_TAGS)))
        list(pool.map(lambda i: ecr.update_image_storage_class(repositoryName=name, imageId={"imageDigest": digests[i]},
                                                               targetStorageClass="ARCHIVE"),
                      range(TAGGED - ARCHIVED, TAGGED)))
    return name, digests


def walk(call, key, **args):
    items, token, pages = [], None, 0
    while True:
        page = call(**args, **({"nextToken": token} if token else {}))
        items += page[key]
        pages += 1
        token = page.get("nextToken")
        if not token:
            return items, pages


def entry_key(e):
    return (e.get("imageTag") is None, e["imageDigest"], e.get("imageTag") or "")


@pytest.mark.parametrize("max_results", [None, 1000, 333])
def test_list_images_walks_every_active_entry_once_in_order(ecr, big, max_results):
    name, _ = big
    args = {"repositoryName": name} | ({"maxResults": max_results} if max_results else {})
    items, pages = walk(ecr.list_images, "imageIds", **args)
    active_tagged = TAGGED - ARCHIVED + EXTRA_TAGS
    assert len(items) == active_tagged + UNTAGGED
    assert len({(i["imageDigest"], i.get("imageTag")) for i in items}) == len(items)
    assert items == sorted(items, key=entry_key)  # tagged first, then by digest and tag
    expected_pages = -(-len(items) // (max_results or 100))  # ECR's default page is 100
    assert pages == expected_pages


def test_list_images_filters(ecr, big):
    name, digests = big
    tagged, _ = walk(ecr.list_images, "imageIds", repositoryName=name, maxResults=1000, filter={"tagStatus": "TAGGED"})
    assert len(tagged) == TAGGED - ARCHIVED + EXTRA_TAGS and all("imageTag" in i for i in tagged)
    untagged, _ = walk(ecr.list_images, "imageIds", repositoryName=name, maxResults=1000, filter={"tagStatus": "UNTAGGED"})
    assert {i["imageDigest"] for i in untagged} == set(digests[TAGGED:]) and all("imageTag" not in i for i in untagged)
    archived, _ = walk(ecr.list_images, "imageIds", repositoryName=name, filter={"imageStatus": "ARCHIVED"})
    assert {i["imageDigest"] for i in archived} == set(digests[TAGGED - ARCHIVED:TAGGED])
    everything, _ = walk(ecr.list_images, "imageIds", repositoryName=name, maxResults=1000,
                         filter={"tagStatus": "ANY", "imageStatus": "ANY"})
    assert len(everything) == TAGGED + EXTRA_TAGS + UNTAGGED
    archived_untagged, _ = walk(ecr.list_images, "imageIds", repositoryName=name,
                                filter={"tagStatus": "UNTAGGED", "imageStatus": "ARCHIVED"})
    assert archived_untagged == []
    activating, _ = walk(ecr.list_images, "imageIds", repositoryName=name, filter={"imageStatus": "ACTIVATING"})
    assert activating == []


def test_describe_images_pages_by_digest(ecr, big):
    name, digests = big
    items, pages = walk(ecr.describe_images, "imageDetails", repositoryName=name, maxResults=1000)
    assert len(items) == TAGGED - ARCHIVED + UNTAGGED
    assert [i["imageDigest"] for i in items] == sorted(i["imageDigest"] for i in items)
    assert pages == -(-len(items) // 1000)
    two_tags = [i for i in items if len(i.get("imageTags", [])) == 2]
    assert len(two_tags) == EXTRA_TAGS
    untagged, _ = walk(ecr.describe_images, "imageDetails", repositoryName=name, filter={"tagStatus": "UNTAGGED"})
    assert len(untagged) == UNTAGGED and all("imageTags" not in i for i in untagged)


def test_boto3_paginator_follows_next_tokens(ecr, big):
    name, _ = big
    paginator = ecr.get_paginator("list_images")
    pages = list(paginator.paginate(repositoryName=name, PaginationConfig={"PageSize": 500}))
    assert sum(len(p["imageIds"]) for p in pages) == TAGGED - ARCHIVED + EXTRA_TAGS + UNTAGGED
    assert len(pages) == -(-(TAGGED - ARCHIVED + EXTRA_TAGS + UNTAGGED) // 500)


def test_next_token_bound_to_its_filter_and_repository(ecr, big, repo):
    name, _ = big
    token = ecr.list_images(repositoryName=name, maxResults=10)["nextToken"]
    with pytest.raises(ClientError) as e:
        ecr.list_images(repositoryName=name, maxResults=10, nextToken=token, filter={"tagStatus": "UNTAGGED"})
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    ecr.create_repository(repositoryName=repo)
    with pytest.raises(ClientError) as e:
        ecr.list_images(repositoryName=repo, nextToken=token)
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        ecr.list_images(repositoryName=name, nextToken=token[:-4] + "AAAA")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
