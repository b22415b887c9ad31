"""Quay's immutability-policy and tag API with a plain HTTP client: status codes, scopes,
sticky flags, and enforcement across the two dialects."""
import http.client
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import TOKENS, head_seq, manifest

ERROR_FIELDS = {"status", "error_type", "title", "detail"}


@pytest.fixture
def web(ecr):
    """A fresh repository `<org>/web` with image 1 tagged v1 and image 2 untagged-then-latest."""
    org = "q" + uuid.uuid4().hex[:10]
    name = f"{org}/web"
    ecr.create_repository(repositoryName=name)
    d1 = ecr.put_image(repositoryName=name, imageManifest=manifest(1), imageTag="v1")["image"]["imageId"]["imageDigest"]
    d2 = ecr.put_image(repositoryName=name, imageManifest=manifest(2), imageTag="latest")["image"]["imageId"]["imageDigest"]
    return {"org": org, "name": name, "d1": d1, "d2": d2,
            "policies": f"/repository/{name}/immutabilitypolicy/", "org_policies": f"/organization/{org}/immutabilitypolicy/",
            "tags": f"/repository/{name}/tag/"}


def tags(quay, web):
    response = quay["reader"].get(web["tags"])
    assert response.status_code == 200
    return {t["name"]: t for t in response.json()["tags"]}


def expect_error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_FIELDS and body["status"] == status
    return body


@pytest.mark.parametrize("scope", ["repository", "organization"])
def test_policy_lifecycle_and_status_codes(quay, web, scope):
    path = web["policies"] if scope == "repository" else web["org_policies"]
    admin = quay["admin"]
    assert admin.get(path).json() == {"policies": []}

    created = admin.post(path, json={"tagPattern": "^release-.*$"})
    assert created.status_code == 201
    uid = created.json()["uuid"]
    assert admin.get(path + uid).json() == {"uuid": uid, "tagPattern": "^release-.*$", "tagPatternMatches": True}

    expect_error(admin.post(path, json={"tagPattern": "^release-.*$"}), 400)      # duplicate pattern
    expect_error(admin.post(path, json={"tagPattern": "(unclosed"}), 400)          # not a regex
    expect_error(admin.post(path, json={"tagPattern": "x" * 257}), 400)            # too long
    expect_error(admin.post(path, json={"tagPatternMatches": True}), 400)          # no pattern
    expect_error(admin.post(path, data=b"{not json"), 400)
    expect_error(admin.post(path, json={"tagPattern": "v.*", "tagPatternMatches": "yes"}), 400)

    assert admin.put(path + uid, json={"tagPattern": "^rc-.*$", "tagPatternMatches": False}).status_code == 204
    assert admin.get(path + uid).json()["tagPatternMatches"] is False
    assert admin.get(path + uid).json()["tagPattern"] == "^rc-.*$"
    expect_error(admin.get(path + "no-such-uuid"), 404)
    expect_error(admin.put(path + "no-such-uuid", json={"tagPattern": "a"}), 404)
    expect_error(admin.post(path + uid, json={"tagPattern": "a"}), 405)

    assert admin.delete(path + uid).status_code == 200
    expect_error(admin.delete(path + uid), 404)
    assert admin.get(path).json() == {"policies": []}


def test_unknown_scopes_are_404(quay):
    expect_error(quay["admin"].get("/repository/nobody/nothing/immutabilitypolicy/"), 404)
    expect_error(quay["admin"].post("/repository/nobody/nothing/immutabilitypolicy/", json={"tagPattern": "v.*"}), 404)
    expect_error(quay["admin"].get("/repository/nobody/nothing/tag/"), 404)


@pytest.mark.parametrize("token,route,method,allowed", [
    ("org", "org_policies", "get", True), ("repoadmin", "org_policies", "get", False),
    ("writer", "org_policies", "post", False), ("reader", "org_policies", "get", False),
    ("repoadmin", "policies", "post", True), ("org", "policies", "get", False),
    ("writer", "policies", "get", False), ("reader", "policies", "get", False),
    ("reader", "tags", "get", True), ("writer", "tags", "get", True), ("repoadmin", "tags", "get", True),
    ("org", "tags", "get", False),
])
def test_scopes_decide_who_reaches_what(server, quay, web, token, route, method, allowed):
    before = head_seq(server)
    kwargs = {"json": {"tagPattern": f"^s{uuid.uuid4().hex[:6]}$"}} if method == "post" else {}
    response = getattr(quay[token], method)(web[route], **kwargs)
    if allowed:
        assert response.status_code in (200, 201), response.text
    else:
        expect_error(response, 403)
        assert head_seq(server) == before


def test_tag_routes_retarget_create_delete(quay, web):
    writer = quay["writer"]
    moved = writer.put(web["tags"] + "latest", json={"manifest_digest": web["d1"]})
    assert moved.status_code == 201
    assert tags(quay, web)["latest"]["manifest_digest"] == web["d1"]
    assert writer.put(web["tags"] + "new", json={"manifest_digest": web["d2"]}).status_code == 201
    listed = tags(quay, web)
    assert sorted(listed) == ["latest", "new", "v1"]
    assert listed["new"]["immutable"] is False and "last_modified" in listed["new"] and listed["new"]["size"] == 1102
    expect_error(writer.put(web["tags"] + "bad", json={"manifest_digest": "sha256:" + "9" * 64}), 404)
    expect_error(writer.put(web["tags"] + "bad", json={"manifest_digest": "nonsense"}), 400)
    expect_error(writer.put(web["tags"] + "bad tag!", json={"manifest_digest": web["d1"]}), 400)
    expect_error(writer.put(web["tags"] + "latest", json={"manifest_digest": web["d2"], "immutable": True}), 400)  # ambiguous
    expect_error(writer.put(web["tags"] + "latest", json={}), 400)
    assert writer.delete(web["tags"] + "new").status_code == 204
    expect_error(writer.delete(web["tags"] + "new"), 404)
    expect_error(quay["reader"].put(web["tags"] + "latest", json={"manifest_digest": web["d2"]}), 403)


def test_tag_list_paging(quay, web):
    for i in range(7):
        quay["writer"].put(web["tags"] + f"p{i}", json={"manifest_digest": web["d1"]})
    page1 = quay["reader"].get(web["tags"], params={"limit": 4, "page": 1}).json()
    page2 = quay["reader"].get(web["tags"], params={"limit": 4, "page": 2}).json()
    page3 = quay["reader"].get(web["tags"], params={"limit": 4, "page": 3}).json()
    assert page1["has_additional"] and page2["has_additional"] and not page3["has_additional"]
    names = [t["name"] for p in (page1, page2, page3) for t in p["tags"]]
    assert names == sorted(names) and len(names) == 9
    only = quay["reader"].get(web["tags"], params={"specificTag": "v1"}).json()["tags"]
    assert [t["name"] for t in only] == ["v1"]
    expect_error(quay["reader"].get(web["tags"], params={"limit": 0}), 400)
    expect_error(quay["reader"].get(web["tags"], params={"page": "x"}), 400)


def test_policies_flag_tags_stickily_and_clearing_needs_repo_admin(ecr, quay, web):
    uid = quay["admin"].post(web["policies"], json={"tagPattern": "^v[0-9]+$"}).json()["uuid"]
    assert tags(quay, web)["v1"]["immutable"] is True      # flagged retroactively
    ecr.put_image(repositoryName=web["name"], imageManifest=manifest(3), imageTag="v2")
    assert tags(quay, web)["v2"]["immutable"] is True      # flagged at push
    assert tags(quay, web)["latest"]["immutable"] is False

    assert quay["admin"].delete(web["policies"] + uid).status_code == 200
    assert tags(quay, web)["v1"]["immutable"] is True      # sticky after the policy is gone
    expect_error(quay["writer"].put(web["tags"] + "v1", json={"manifest_digest": web["d2"]}), 409)
    expect_error(quay["writer"].put(web["tags"] + "v1", json={"immutable": False}), 403)
    expect_error(quay["writer"].delete(web["tags"] + "v1"), 409)

    assert quay["writer"].put(web["tags"] + "latest", json={"immutable": True}).status_code == 200
    cleared = quay["repoadmin"].put(web["tags"] + "v1", json={"immutable": False})
    assert cleared.status_code == 200 and cleared.json()["immutable"] is False
    assert quay["writer"].put(web["tags"] + "v1", json={"manifest_digest": web["d2"]}).status_code == 201


def test_organization_policy_governs_its_repositories(ecr, quay, web):
    quay["org"].post(web["org_policies"], json={"tagPattern": "^prod$"})
    ecr.put_image(repositoryName=web["name"], imageManifest=manifest(4), imageTag="prod")
    assert tags(quay, web)["prod"]["immutable"] is True


def test_quay_policy_blocks_an_ecr_overwrite_and_an_ecr_delete(ecr, quay, web):
    quay["admin"].post(web["policies"], json={"tagPattern": "^v1$"})
    with pytest.raises(ClientError) as e:
        ecr.put_image(repositoryName=web["name"], imageManifest=manifest(5), imageTag="v1")
    assert e.value.response["Error"]["Code"] == "ImageTagAlreadyExistsException"
    result = ecr.batch_delete_image(repositoryName=web["name"], imageIds=[{"imageTag": "v1"}])
    assert result["imageIds"] == []
    assert len(result["failures"]) == 1
    assert [i.get("imageTag") for i in ecr.list_images(repositoryName=web["name"], filter={"tagStatus": "TAGGED"})["imageIds"]
            if i["imageDigest"] == web["d1"]] == ["v1"]


def test_ecr_immutability_blocks_a_quay_retarget(ecr, quay, web):
    ecr.put_image_tag_mutability(repositoryName=web["name"], imageTagMutability="IMMUTABLE")
    expect_error(quay["writer"].put(web["tags"] + "v1", json={"manifest_digest": web["d2"]}), 409)
    assert tags(quay, web)["v1"]["manifest_digest"] == web["d1"]


def test_bad_paths_and_oversized_bodies(server, quay, web):
    before = head_seq(server)
    expect_error(quay["admin"].get("/repository/" + "a" * 300 + "/x/immutabilitypolicy/"), 400)  # not a repository name
    for traversal in ["/api/v1/repository/../../etc/immutabilitypolicy/", "/api/v1/repository/%2e%2e/%2e%2e/tag/",
                      "/api/v1/repository/acme/..%2Fweb/tag/"]:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", traversal, headers={"Authorization": "Bearer " + TOKENS["admin"]["token"]})
        response = connection.getresponse()
        assert response.status in (400, 404), traversal
        assert set(json.loads(response.read())) == ERROR_FIELDS
        connection.close()
    expect_error(quay["admin"].get("/nothing/here"), 404)
    expect_error(quay["admin"].post(web["policies"], data=b"{" + b" " * (70 << 10) + b"}"), 413)
    assert head_seq(server) == before


def test_catastrophic_patterns_are_bounded_and_decided(ecr, quay, web):
    # Nested quantifiers backtrack exponentially on a long run of 'a'; PCRE2's match limit stops
    # them, the match counts as "no match", and the push is answered.
    hostile = quay["admin"].post(web["policies"], json={"tagPattern": "(a+)+(b|-)", "tagPatternMatches": False})
    assert hostile.status_code == 201
    long_tag = "a" * 60
    ecr.put_image(repositoryName=web["name"], imageManifest=manifest(6), imageTag=long_tag)
    assert tags(quay, web)[long_tag]["immutable"] is True   # inverted policy, no match: flagged
    expect_error(quay["admin"].post(web["policies"], json={"tagPattern": "(?<=a+)b"}), 400)  # not a valid PCRE2 pattern
