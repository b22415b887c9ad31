"""The generic registry-API workflows run against `regledger serve` and Debian's `docker-registry`
(distribution 2.8, the reference implementation) side by side: every status, error code and
protocol header the two should agree on is compared step by step. (Referrers are OCI 1.1 and
absent from distribution 2.8; they are tested in test_registry_api.py.)"""
import json
import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest
import requests

from registry_client import AUTH, digest

pytestmark = pytest.mark.skipif(shutil.which("docker-registry") is None, reason="docker-registry is installed by `make test`")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def distribution(tmp_path_factory):
    root = tmp_path_factory.mktemp("distribution")
    port = free_port()
    config = root / "config.yml"
    config.write_text(f"""version: 0.1
log: {{level: error}}
storage:
  filesystem: {{rootdirectory: {root}/data}}
  delete: {{enabled: true}}
http: {{addr: "127.0.0.1:{port}"}}
""")
    proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(url + "/v2/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def observe(response, *headers):
    """What the two must agree on: status, error code, and the named headers (present / value)."""
    seen = {"status": response.status_code}
    if response.status_code >= 400 and response.content and response.headers.get("Content-Type", "").startswith("application/json"):
        seen["code"] = response.json()["errors"][0]["code"]
    for name in headers:
        seen[name] = response.headers.get(name)
    return seen


LAYER = bytes(range(256)) * 12
CONFIG = b'{"architecture":"amd64","os":"linux"}'


def absolute(url, location):
    return location if location.startswith("http") else url + location


def workflow(url, auth):
    s = requests.Session()
    s.auth = auth
    name = f"cmp/{uuid.uuid4().hex[:8]}"
    steps = {}
    layer, config = LAYER, CONFIG
    # push: monolithic (POST ?digest=), POST then PUT, chunked
    steps["monolithic"] = observe(s.post(f"{url}/v2/{name}/blobs/uploads/", params={"digest": digest(config)}, data=config),
                                  "Location", "Docker-Content-Digest")
    start = s.post(f"{url}/v2/{name}/blobs/uploads/")
    steps["start"] = observe(start, "Range")
    steps["post then put"] = observe(s.put(absolute(url, start.headers["Location"]), params={"digest": digest(config)}, data=config,
                                           headers={"Content-Type": "application/octet-stream"}), "Docker-Content-Digest")
    location = absolute(url, s.post(f"{url}/v2/{name}/blobs/uploads/").headers["Location"])
    first = s.patch(location, data=layer[:1000], headers={"Content-Range": "0-999", "Content-Type": "application/octet-stream"})
    steps["chunk"] = observe(first, "Range")
    location = absolute(url, first.headers["Location"])
    steps["status"] = observe(s.get(location), "Range")
    steps["wrong digest"] = observe(s.put(location, params={"digest": digest(b"not it")}, data=layer[1000:]))
    again = absolute(url, s.post(f"{url}/v2/{name}/blobs/uploads/").headers["Location"])
    steps["out of order"] = observe(s.patch(again, data=layer[:1000], headers={"Content-Range": "1500-2499",
                                                                              "Content-Type": "application/octet-stream"}))
    retry = absolute(url, s.post(f"{url}/v2/{name}/blobs/uploads/").headers["Location"])
    steps["finish"] = observe(s.put(retry, params={"digest": digest(layer)}, data=layer,
                                    headers={"Content-Type": "application/octet-stream"}), "Location", "Docker-Content-Digest")
    steps["unknown session"] = observe(s.get(f"{url}/v2/{name}/blobs/uploads/{uuid.uuid4()}"))
    # pull blobs
    steps["head blob"] = observe(s.head(f"{url}/v2/{name}/blobs/{digest(layer)}"), "Content-Length", "Docker-Content-Digest")
    blob = s.get(f"{url}/v2/{name}/blobs/{digest(layer)}")
    steps["get blob"] = observe(blob, "Docker-Content-Digest") | {"same": blob.content == layer}
    steps["unknown blob"] = observe(s.get(f"{url}/v2/{name}/blobs/{digest(b'none')}"))
    # manifests
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(layer), "size": len(layer)}]},
                          sort_keys=True).encode()
    headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
    missing = json.loads(manifest)
    missing["layers"][0]["digest"] = digest(b"never pushed")
    steps["blob unknown"] = observe(s.put(f"{url}/v2/{name}/manifests/bad", data=json.dumps(missing), headers=headers))
    steps["put manifest"] = observe(s.put(f"{url}/v2/{name}/manifests/v1", data=manifest, headers=headers), "Docker-Content-Digest")
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    for reference in ("v1", digest(manifest)):
        got = s.get(f"{url}/v2/{name}/manifests/{reference}", headers=accept)
        steps[f"get manifest {reference[:6]}"] = observe(got, "Docker-Content-Digest", "Content-Type") | {"same": got.content == manifest}
        steps[f"head manifest {reference[:6]}"] = observe(s.head(f"{url}/v2/{name}/manifests/{reference}", headers=accept),
                                                          "Docker-Content-Digest", "Content-Length")
    steps["unknown manifest"] = observe(s.get(f"{url}/v2/{name}/manifests/nope", headers=accept))
    for tag in ("v2", "v3"):
        s.put(f"{url}/v2/{name}/manifests/{tag}", data=manifest, headers=headers)
    page = s.get(f"{url}/v2/{name}/tags/list", params={"n": 2})
    steps["tags page"] = observe(page) | {"tags": page.json().get("tags") if page.ok else None, "link": "Link" in page.headers}
    steps["unknown repository"] = observe(s.get(f"{url}/v2/{name}-none/tags/list"))
    # mount, content management
    steps["mount"] = observe(s.post(f"{url}/v2/{name}-copy/blobs/uploads/", params={"mount": digest(layer), "from": name}),
                             "Docker-Content-Digest")
    steps["delete manifest"] = observe(s.delete(f"{url}/v2/{name}/manifests/{digest(manifest)}"))
    steps["deleted manifest"] = observe(s.get(f"{url}/v2/{name}/manifests/{digest(manifest)}", headers=accept))
    steps["delete blob"] = observe(s.delete(f"{url}/v2/{name}/blobs/{digest(layer)}"))
    steps["deleted blob"] = observe(s.head(f"{url}/v2/{name}/blobs/{digest(layer)}"))
    for step in steps.values():  # locations name the repository, which differs by run
        for key in ("Location",):
            if step.get(key):
                step[key] = step[key].split("/v2/", 1)[1].split("/", 2)[-1]
    return steps


# Where distribution 2.8 departs from OCI distribution 1.1, regledger answers as the specification says.
DEPARTURES = {
    # 1.1: a registry SHOULD take a monolithic POST with ?digest= (201); 2.8 opens a session (202).
    "monolithic": {"status": 201},
    # 1.1: a chunk that does not start at the upload's offset is 416; 2.8 ignores Content-Range.
    "out of order": {"status": 416, "code": "BLOB_UPLOAD_INVALID"},
    # 1.1: an unknown session is 404 BLOB_UPLOAD_UNKNOWN; 2.8 first fails its own _state token (BLOB_UPLOAD_INVALID).
    "unknown session": {"status": 404, "code": "BLOB_UPLOAD_UNKNOWN"},
    # 1.1: tags/list honours n and links the next page; 2.8 lists every tag.
    "tags page": {"status": 200, "tags": ["v1", "v2"], "link": True},
}


def test_regledger_answers_the_generic_workflows_as_distribution_does(server, distribution):
    ours = workflow(server.url, AUTH)
    theirs = workflow(distribution, None)
    differences = {step: (ours[step], theirs[step]) for step in theirs if step not in DEPARTURES and ours[step] != theirs[step]}
    assert differences == {}
    for step, expected in DEPARTURES.items():
        assert {k: ours[step].get(k) for k in expected} == expected, step
        assert ours[step] != theirs[step], f"distribution now agrees on '{step}': compare it again"
