"""OCI distribution tag listing: GET /v2/ and /v2/<name>/tags/list with n, last and Link."""
import json
import shutil
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import ALICE, manifest

AUTH = (ALICE["accessKeyId"], ALICE["secretAccessKey"])


@pytest.fixture(scope="module")
def tagged(ecr):
    name = f"oci/{uuid.uuid4().hex[:8]}/app"
    ecr.create_repository(repositoryName=name)
    names = [f"t{i:03d}" for i in range(25)] + ["latest", "v1.0", "V2"]
    for i, tag in enumerate(names):
        ecr.put_image(repositoryName=name, imageManifest=manifest(500 + i), imageTag=tag)
    ecr.put_image(repositoryName=name, imageManifest=manifest(999))  # untagged: not listed
    return name, sorted(names)


def test_base_route_answers_authenticated_clients(server):
    response = requests.get(server.url + "/v2/", auth=AUTH)
    assert response.status_code == 200
    assert response.json() == {}
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_tags_list_all_in_lexical_order(server, tagged):
    name, names = tagged
    response = requests.get(f"{server.url}/v2/{name}/tags/list", auth=AUTH)
    assert response.status_code == 200
    assert response.json() == {"name": name, "tags": names}
    assert "Link" not in response.headers


def test_tags_list_pages_with_n_last_and_link(server, tagged):
    name, names = tagged
    seen, url, pages = [], f"{server.url}/v2/{name}/tags/list?n=10", 0
    while url:
        response = requests.get(url, auth=AUTH)
        assert response.status_code == 200
        body = response.json()
        assert len(body["tags"]) <= 10
        seen += body["tags"]
        pages += 1
        link = response.headers.get("Link")
        if link:
            assert link.endswith('>; rel="next"') and link.startswith(f"</v2/{name}/tags/list?")
            url = server.url + link[1:link.index(">")]
        else:
            url = None
    assert seen == names
    assert pages == 3
    after = requests.get(f"{server.url}/v2/{name}/tags/list", params={"last": "t020"}, auth=AUTH).json()["tags"]
    assert after == [t for t in names if t > "t020"]
    assert requests.get(f"{server.url}/v2/{name}/tags/list?n=0", auth=AUTH).json()["tags"] == []


def test_tags_list_errors(server, tagged):
    name, _ = tagged
    unknown = requests.get(f"{server.url}/v2/oci/does-not-exist/tags/list", auth=AUTH)
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    bad_name = requests.get(f"{server.url}/v2/Bad..Name/tags/list", auth=AUTH)
    assert bad_name.status_code == 400
    assert bad_name.json()["errors"][0]["code"] == "NAME_INVALID"
    for n in ["-1", "ten", "1e3"]:
        bad = requests.get(f"{server.url}/v2/{name}/tags/list", params={"n": n}, auth=AUTH)
        assert bad.status_code == 400
        assert bad.json()["errors"][0]["code"] == "PAGINATION_NUMBER_INVALID"
    bad_last = requests.get(f"{server.url}/v2/{name}/tags/list", params={"last": "x" * 400}, auth=AUTH)
    assert bad_last.status_code == 400
    # A manifest pushed through ECR is served by the registry API too.
    pulled = requests.get(f"{server.url}/v2/{name}/manifests/latest", auth=AUTH)
    assert pulled.status_code == 200 and pulled.headers["Docker-Content-Digest"].startswith("sha256:")


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed (make test installs it)")
def test_skopeo_lists_tags_following_link_headers(server, ecr):
    name = f"oci/{uuid.uuid4().hex[:8]}/many"
    ecr.create_repository(repositoryName=name)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: ecr.put_image(repositoryName=name, imageManifest=manifest(70_000 + i), imageTag=f"t{i:04d}"), range(1200)))
    listed = subprocess.run(["skopeo", "list-tags", "--tls-verify=false", "--creds", ":".join(AUTH),
                             f"docker://127.0.0.1:{server.port}/{name}"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["Tags"] == [f"t{i:04d}" for i in range(1200)]
    refused = subprocess.run(["skopeo", "list-tags", "--tls-verify=false", f"docker://127.0.0.1:{server.port}/{name}"],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "unauthorized" in refused.stderr


def test_path_traversal_in_names_is_refused(server):
    import http.client
    for path in ["/v2/../../etc/passwd/tags/list", "/v2/%2e%2e/%2e%2e/tags/list", "/v2/acme/..%2fweb/tags/list"]:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", path, headers={"Authorization": requests.auth._basic_auth_str(*AUTH)})
        response = connection.getresponse()
        assert response.status in (400, 404), path
        assert json.loads(response.read())["errors"][0]["code"] in ("NAME_INVALID", "NAME_UNKNOWN", "NOT_FOUND")
        connection.close()
