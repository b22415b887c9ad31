"""The registry API (SPEC §8, OCI distribution 1.1) over raw HTTP, organised as the OCI
conformance suite's four workflows — push, pull, content discovery (with referrers), content
management — plus the enforcement every door shares (SPEC §2.4) and the error cases."""
import base64
import json
import os
import socket
import subprocess
import time
import uuid

import pytest
import requests

from conftest import BIN, head_seq
from registry_client import AUTH, INDEX, MANIFEST, Registry, digest, error_code

SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
SBOM = "application/spdx+json"


@pytest.fixture
def reg(server):
    return Registry(server)


@pytest.fixture
def name():
    return f"reg/{uuid.uuid4().hex[:10]}"


def audit_log(server, repository):
    out = subprocess.run([BIN, "audit", "log", "--data", server.data, "--repository", repository, "--json"],
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


# MARK: push

def test_monolithic_upload_stores_the_blob_and_links_it_as_an_event(server, reg, name):
    data = b"hello blob " * 1000
    r = reg.request("POST", f"/v2/{name}/blobs/uploads/", params={"digest": digest(data)}, data=data)
    assert r.status_code == 201
    assert r.headers["Location"] == f"/v2/{name}/blobs/{digest(data)}"
    assert r.headers["Docker-Content-Digest"] == digest(data)
    head = reg.request("HEAD", f"/v2/{name}/blobs/{digest(data)}")
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data)) and head.content == b""
    assert reg.request("GET", f"/v2/{name}/blobs/{digest(data)}").content == data
    events = audit_log(server, name)
    assert [e["type"] for e in events] == ["repository.created", "blob.linked"]
    assert events[0]["origin"] == "oci" and events[0]["actor"] == "alice"
    assert events[1]["payload"] == {"blobDigest": digest(data), "blobSize": len(data)}


def test_post_then_put_with_the_body_is_a_monolithic_upload(reg, name):
    data = b"two-step"
    start = reg.request("POST", f"/v2/{name}/blobs/uploads/")
    assert start.status_code == 202 and start.headers["Location"].startswith(f"/v2/{name}/blobs/uploads/")
    done = reg.request("PUT", start.headers["Location"], params={"digest": digest(data)}, data=data)
    assert done.status_code == 201
    assert reg.request("GET", f"/v2/{name}/blobs/{digest(data)}").content == data


def test_chunked_upload_reports_its_progress_and_ends_with_the_whole_blob(reg, name):
    chunks = [b"a" * 1000, b"b" * 777, b"c" * 5]
    location = reg.request("POST", f"/v2/{name}/blobs/uploads/").headers["Location"]
    offset = 0
    for chunk in chunks:
        r = reg.request("PATCH", location, data=chunk,
                        headers={"Content-Range": f"{offset}-{offset + len(chunk) - 1}", "Content-Type": "application/octet-stream"})
        assert r.status_code == 202, r.text
        offset += len(chunk)
        assert r.headers["Range"] == f"0-{offset - 1}"
        location = r.headers["Location"]
        status = reg.request("GET", location)
        assert status.status_code == 204 and status.headers["Range"] == f"0-{offset - 1}"
    whole = b"".join(chunks)
    assert reg.request("PUT", location, params={"digest": digest(whole)}).status_code == 201
    assert reg.request("GET", f"/v2/{name}/blobs/{digest(whole)}").content == whole


def test_a_chunk_out_of_order_is_416_and_leaves_the_upload_where_it_was(reg, name):
    location = reg.request("POST", f"/v2/{name}/blobs/uploads/").headers["Location"]
    assert reg.request("PATCH", location, data=b"x" * 10, headers={"Content-Range": "0-9"}).status_code == 202
    for bad in ["5-14", "20-29"]:
        r = reg.request("PATCH", location, data=b"y" * 10, headers={"Content-Range": bad})
        assert r.status_code == 416
        assert r.headers["Range"] == "0-9"
    r = reg.request("PATCH", location, data=b"y" * 10, headers={"Content-Range": "not a range"})
    assert r.status_code == 416 and error_code(r) == "BLOB_UPLOAD_INVALID"
    assert reg.request("GET", location).headers["Range"] == "0-9"
    # A body shorter than its Content-Range says stores nothing of it.
    short = reg.request("PATCH", location, data=b"z" * 3, headers={"Content-Range": "10-19"})
    assert short.status_code == 400 and error_code(short) == "SIZE_INVALID"
    huge = reg.request("PATCH", location, data=b"z" * 3, headers={"Content-Range": f"10-{2**63 - 1}"})
    assert huge.status_code == 400 and error_code(huge) == "SIZE_INVALID"  # not an overflow: the server answers
    too_big = reg.request("PATCH", location, data=b"z" * 3, headers={"Content-Range": f"10-{2**63}"})
    assert too_big.status_code == 416
    assert reg.request("GET", location).headers["Range"] == "0-9"
    data = b"x" * 10 + b"y" * 10
    assert reg.request("PATCH", location, data=b"y" * 10, headers={"Content-Range": "10-19"}).status_code == 202
    assert reg.request("PUT", location, params={"digest": digest(data)}).status_code == 201


def test_a_wrong_digest_is_digest_invalid_and_stores_nothing(server, reg, name):
    data = b"the real content"
    lie = digest(b"something else")
    before = head_seq(server)
    r = reg.request("POST", f"/v2/{name}/blobs/uploads/", params={"digest": lie}, data=data)
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    location = reg.request("POST", f"/v2/{name}/blobs/uploads/").headers["Location"]
    r = reg.request("PUT", location, params={"digest": lie}, data=data)
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    assert error_code(reg.request("GET", location)) == "BLOB_UPLOAD_UNKNOWN"  # the session is over
    for d in (lie, digest(data)):
        assert reg.request("HEAD", f"/v2/{name}/blobs/{d}").status_code == 404
    assert head_seq(server) == before
    bad = reg.request("POST", f"/v2/{name}/blobs/uploads/", params={"digest": "sha256:xyz"}, data=data)
    assert bad.status_code == 400 and error_code(bad) == "DIGEST_INVALID"
    missing = reg.request("PUT", reg.request("POST", f"/v2/{name}/blobs/uploads/").headers["Location"], data=data)
    assert missing.status_code == 400 and error_code(missing) == "DIGEST_INVALID"


def test_an_unknown_or_cancelled_upload_session_is_blob_upload_unknown(reg, name):
    unknown = f"/v2/{name}/blobs/uploads/{uuid.uuid4()}"
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        r = reg.request(method, unknown, params={"digest": digest(b"")} if method == "PUT" else None)
        assert r.status_code == 404 and error_code(r) == "BLOB_UPLOAD_UNKNOWN", method
    location = reg.request("POST", f"/v2/{name}/blobs/uploads/").headers["Location"]
    assert reg.request("DELETE", location).status_code == 204
    assert error_code(reg.request("PATCH", location, data=b"late")) == "BLOB_UPLOAD_UNKNOWN"
    # A session belongs to its repository.
    other = reg.request("POST", f"/v2/{name}-other/blobs/uploads/").headers["Location"]
    assert reg.request("GET", other.replace(f"{name}-other", name)).status_code == 404


def test_cross_repository_mount_links_without_uploading(server, reg, name):
    data = b"shared base layer" * 50
    reg.push_blob(name, data)
    target = name + "-mounted"
    r = reg.request("POST", f"/v2/{target}/blobs/uploads/", params={"mount": digest(data), "from": name})
    assert r.status_code == 201 and r.headers["Docker-Content-Digest"] == digest(data)
    assert reg.request("GET", f"/v2/{target}/blobs/{digest(data)}").content == data
    # From a repository that does not hold it: an upload session instead.
    r = reg.request("POST", f"/v2/{target}-2/blobs/uploads/", params={"mount": digest(data), "from": name + "-nothing"})
    assert r.status_code == 202 and "/blobs/uploads/" in r.headers["Location"]


def test_a_manifest_naming_a_blob_the_repository_lacks_is_refused_whole(server, reg, name):
    good = reg.image_manifest(name, 1)
    body = json.loads(good)
    body["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(b"never uploaded"), "size": 14})
    before = head_seq(server)
    fresh = name + "-fresh"
    for repository in (name, fresh):
        r = reg.put_manifest(repository, "v1", json.dumps(body).encode())
        assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN", r.text
    assert head_seq(server) == before
    assert fresh not in reg.request("GET", "/v2/_catalog").json()["repositories"]
    # A blob held by another repository is not this one's.
    assert reg.put_manifest(fresh, "v1", good).status_code == 400


def test_manifest_by_digest_is_an_untagged_image(ecr, reg, name):
    data = reg.image_manifest(name, 2)
    r = reg.put_manifest(name, digest(data), data)
    assert r.status_code == 201 and r.headers["Docker-Content-Digest"] == digest(data)
    assert ecr.list_images(repositoryName=name)["imageIds"] == [{"imageDigest": digest(data)}]
    wrong = reg.put_manifest(name, digest(b"other"), data)
    assert wrong.status_code == 400 and error_code(wrong) == "DIGEST_INVALID"


def test_malformed_manifests_and_references_get_the_specification_errors(server, reg, name):
    valid = reg.image_manifest(name, 3)  # its blobs are linked now
    before = head_seq(server)
    for body, content_type in [(b"not json", MANIFEST), (b"{}", "text/plain"), (b'{"mediaType": 5}', MANIFEST), (b"", MANIFEST),
                               (valid, INDEX)]:
        r = reg.put_manifest(name, "v1", body, content_type)
        assert r.status_code == 400 and error_code(r) == "MANIFEST_INVALID", (body, r.text)
    r = reg.put_manifest(name, "bad tag!", valid)
    assert r.status_code == 400 and error_code(r) == "TAG_INVALID"
    r = reg.put_manifest("UPPER/Case", "v1", valid)
    assert r.status_code == 400 and error_code(r) == "NAME_INVALID"
    too_big = reg.put_manifest(name, "v1", b" " * ((4 << 20) + 1))
    assert too_big.status_code == 413 and error_code(too_big) == "SIZE_INVALID"
    assert head_seq(server) == before
    assert reg.request("GET", f"/v2/{name}/manifests/v1").status_code == 404


# MARK: pull

def test_pull_by_tag_and_digest_with_headers_and_accept(reg, name):
    data = reg.image_manifest(name, 4)
    assert reg.put_manifest(name, "v4", data).status_code == 201
    for reference in ("v4", digest(data)):
        r = reg.request("GET", f"/v2/{name}/manifests/{reference}", headers={"Accept": MANIFEST})
        assert r.status_code == 200 and r.content == data
        assert r.headers["Content-Type"] == MANIFEST and r.headers["Docker-Content-Digest"] == digest(data)
        head = reg.request("HEAD", f"/v2/{name}/manifests/{reference}")
        assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data)) and head.content == b""
    assert reg.request("GET", f"/v2/{name}/manifests/v4", headers={"Accept": "*/*"}).status_code == 200
    refused = reg.request("GET", f"/v2/{name}/manifests/v4", headers={"Accept": INDEX})
    assert refused.status_code == 404 and error_code(refused) == "MANIFEST_UNKNOWN"
    layer = json.loads(data)["layers"][0]
    part = reg.request("GET", f"/v2/{name}/blobs/{layer['digest']}", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and len(part.content) == 10
    assert part.headers["Content-Range"] == f"bytes 10-19/{layer['size']}"
    full = reg.request("GET", f"/v2/{name}/blobs/{layer['digest']}").content
    assert part.content == full[10:20]
    beyond = reg.request("GET", f"/v2/{name}/blobs/{layer['digest']}", headers={"Range": f"bytes={layer['size']}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{layer['size']}"


def test_unknown_things_are_404_with_their_codes(reg, name):
    reg.push_blob(name, b"exists")
    assert error_code(reg.request("GET", f"/v2/{name}/manifests/nope")) == "MANIFEST_UNKNOWN"
    assert error_code(reg.request("GET", f"/v2/{name}/manifests/{digest(b'nope')}")) == "MANIFEST_UNKNOWN"
    assert error_code(reg.request("GET", f"/v2/{name}/blobs/{digest(b'nope')}")) == "BLOB_UNKNOWN"
    assert error_code(reg.request("GET", f"/v2/{name}-absent/tags/list")) == "NAME_UNKNOWN"
    r = reg.request("GET", f"/v2/{name}/blobs/sha256:short")
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"


def test_every_endpoint_needs_credentials(server, name):
    for method, path in [("GET", "/v2/"), ("POST", f"/v2/{name}/blobs/uploads/"), ("GET", f"/v2/{name}/manifests/v1"),
                         ("PUT", f"/v2/{name}/manifests/v1"), ("GET", "/v2/_catalog"), ("DELETE", f"/v2/{name}/blobs/{digest(b'')}")]:
        r = requests.request(method, server.url + path)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Basic realm="regledger"', (method, path)
        assert requests.request(method, server.url + path, auth=(AUTH[0], "wrong")).status_code == 401


# MARK: content discovery

def test_catalog_lists_repositories_in_byte_order_with_paging(reg):
    prefix = f"cat{uuid.uuid4().hex[:6]}"
    names = sorted(f"{prefix}/{c}" for c in ["b", "a", "c/d", "a-b", "a.b"])
    for n in names:
        reg.push_blob(n, n.encode())
    everything = reg.request("GET", "/v2/_catalog").json()["repositories"]
    mine = [n for n in everything if n.startswith(prefix)]
    assert mine == sorted(names, key=lambda s: s.encode())
    first = reg.request("GET", "/v2/_catalog", params={"n": 2, "last": f"{prefix}/"})
    assert first.json()["repositories"] == mine[:2]
    assert first.headers["Link"].startswith("</v2/_catalog?n=2&last=")
    bad = reg.request("GET", "/v2/_catalog", params={"n": "-1"})
    assert bad.status_code == 400 and error_code(bad) == "PAGINATION_NUMBER_INVALID"


def test_referrers_list_signatures_and_filter_by_artifact_type(ecr, reg, name):
    subject = reg.image_manifest(name, 5)
    assert reg.put_manifest(name, "v5", subject).status_code == 201
    sig = reg.artifact(name, subject, SIG, 1)
    sbom = reg.artifact(name, subject, SBOM, 2)
    for artifact in (sig, sbom):
        r = reg.put_manifest(name, digest(artifact), artifact)
        assert r.status_code == 201 and r.headers["OCI-Subject"] == digest(subject)
    r = reg.request("GET", f"/v2/{name}/referrers/{digest(subject)}")
    assert r.status_code == 200 and r.headers["Content-Type"] == INDEX
    index = r.json()
    assert index["schemaVersion"] == 2 and index["mediaType"] == INDEX
    by_digest = {m["digest"]: m for m in index["manifests"]}
    assert set(by_digest) == {digest(sig), digest(sbom)}
    assert by_digest[digest(sig)] == {"mediaType": MANIFEST, "digest": digest(sig), "size": len(sig), "artifactType": SIG,
                                      "annotations": {"org.example.seed": "1"}}
    filtered = reg.request("GET", f"/v2/{name}/referrers/{digest(subject)}", params={"artifactType": SBOM})
    assert [m["digest"] for m in filtered.json()["manifests"]] == [digest(sbom)]
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    empty = reg.request("GET", f"/v2/{name}/referrers/{digest(b'unknown')}")
    assert empty.status_code == 200 and empty.json()["manifests"] == []
    # Referrers are untagged images: no tag moved.
    assert reg.request("GET", f"/v2/{name}/tags/list").json()["tags"] == ["v5"]


def test_referrers_are_accepted_in_an_immutable_repository(ecr, reg, name):
    ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
    subject = reg.image_manifest(name, 6)
    assert reg.put_manifest(name, "release", subject).status_code == 201
    for i in range(3):  # a new signature every time, never a tag rewrite
        sig = reg.artifact(name, subject, SIG, 10 + i)
        assert reg.put_manifest(name, digest(sig), sig).status_code == 201
    assert len(reg.request("GET", f"/v2/{name}/referrers/{digest(subject)}").json()["manifests"]) == 3


# MARK: content management

def test_delete_by_digest_takes_the_images_referrers_with_it(server, ecr, reg, name):
    subject = reg.image_manifest(name, 7)
    assert reg.put_manifest(name, "v7", subject).status_code == 201
    sig = reg.artifact(name, subject, SIG, 20)
    assert reg.put_manifest(name, digest(sig), sig).status_code == 201
    assert reg.request("DELETE", f"/v2/{name}/manifests/{digest(subject)}").status_code == 202
    assert reg.request("GET", f"/v2/{name}/manifests/{digest(sig)}").status_code == 404
    assert reg.request("GET", f"/v2/{name}/referrers/{digest(subject)}").json()["manifests"] == []
    assert ecr.list_images(repositoryName=name)["imageIds"] == []
    deleted = [e["payload"]["imageDigest"] for e in audit_log(server, name) if e["type"] == "image.deleted"]
    assert sorted(deleted) == sorted([digest(subject), digest(sig)])
    again = reg.request("DELETE", f"/v2/{name}/manifests/{digest(subject)}")
    assert again.status_code == 404 and error_code(again) == "MANIFEST_UNKNOWN"


def test_delete_by_tag_and_delete_of_a_blob(reg, name):
    data = reg.image_manifest(name, 8)
    assert reg.put_manifest(name, "a", data).status_code == 201
    assert reg.put_manifest(name, "b", data).status_code == 201
    assert reg.request("DELETE", f"/v2/{name}/manifests/a").status_code == 202
    assert reg.request("GET", f"/v2/{name}/tags/list").json()["tags"] == ["b"]
    assert reg.request("GET", f"/v2/{name}/manifests/{digest(data)}").status_code == 200
    layer = json.loads(data)["layers"][0]["digest"]
    assert reg.request("DELETE", f"/v2/{name}/blobs/{layer}").status_code == 202
    assert reg.request("HEAD", f"/v2/{name}/blobs/{layer}").status_code == 404
    r = reg.request("DELETE", f"/v2/{name}/blobs/{layer}")
    assert r.status_code == 404 and error_code(r) == "BLOB_UNKNOWN"


# MARK: one enforcement for every door

def test_an_immutable_tag_refuses_another_manifest_with_tag_invalid(server, ecr, reg, name):
    ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
    first, second = reg.image_manifest(name, 9), reg.image_manifest(name, 10)
    assert reg.put_manifest(name, "v1", first).status_code == 201
    r = reg.put_manifest(name, "v1", second)
    assert r.status_code == 400 and error_code(r) == "TAG_INVALID"
    assert "immutable" in r.json()["errors"][0]["message"]
    # Re-pushing the very manifest answers 201 and appends nothing.
    before = head_seq(server)
    again = reg.put_manifest(name, "v1", first)
    assert again.status_code == 201 and again.headers["Docker-Content-Digest"] == digest(first)
    assert head_seq(server) == before
    history = subprocess.run([BIN, "audit", "history", "--data", server.data, "--repository", name, "--tag", "v1", "--json"],
                             capture_output=True, text=True, check=True).stdout.splitlines()
    kinds = [(e["type"], e["origin"], e["actor"]) for e in map(json.loads, history)]
    assert ("tag.set", "oci", "alice") in kinds and ("denied", "oci", "alice") in kinds


def test_a_flagged_tag_refuses_deletion_with_unsupported(quay, reg, name):
    data = reg.image_manifest(name, 11)
    assert reg.put_manifest(name, "keep", data).status_code == 201
    assert quay["admin"].put(f"/repository/{name}/tag/keep", json={"immutable": True}).status_code == 200
    for reference in ("keep", digest(data)):
        r = reg.request("DELETE", f"/v2/{name}/manifests/{reference}")
        assert r.status_code == 400 and error_code(r) == "UNSUPPORTED" and "immutable" in r.text
    other = reg.image_manifest(name, 12)
    r = reg.put_manifest(name, "keep", other)
    assert r.status_code == 400 and error_code(r) == "TAG_INVALID"
    assert reg.put_manifest(name, "keep", data).status_code == 201  # the same manifest: fine


def test_a_login_token_pushes_as_the_principal_that_asked_for_it(server, ecr, name):
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, password = base64.b64decode(token).decode().split(":", 1)
    reg = Registry(server, auth=(user, password))
    data = reg.image_manifest(name, 13)
    assert reg.put_manifest(name, "v1", data).status_code == 201
    assert {e["actor"] for e in audit_log(server, name)} == {"alice"}


def test_a_client_that_disconnects_mid_upload_leaves_no_blob(server, reg, name):
    data = b"q" * 100_000
    location = reg.request("POST", f"/v2/{name}/blobs/uploads/").headers["Location"]
    host, port = server.url.removeprefix("http://").split(":")
    auth = base64.b64encode(f"{AUTH[0]}:{AUTH[1]}".encode()).decode()
    with socket.create_connection((host, int(port))) as s:
        s.sendall(f"PUT {location}?digest={digest(data)} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\n"
                  f"Content-Length: {len(data)}\r\nContent-Type: application/octet-stream\r\n\r\n".encode() + data[:30_000])
    for _ in range(50):  # the server notices the closed connection
        if reg.request("GET", location).status_code == 404:
            break
        time.sleep(0.1)
    assert reg.request("HEAD", f"/v2/{name}/blobs/{digest(data)}").status_code == 404
    # The session is gone with its file: nothing of the bytes is kept.
    assert reg.request("GET", location).status_code == 404
    assert location.rsplit("/", 1)[1] not in os.listdir(os.path.join(server.data, "blobs", "uploads"))


def read_response_head(s):
    """The bytes of one response head (through its blank line) from socket `s`."""
    head = b""
    while b"\r\n\r\n" not in head:
        part = s.recv(1)
        assert part, f"connection closed after {head!r}"
        head += part
    return head.decode()


def test_a_client_that_expects_100_continue_gets_it_before_it_sends_the_body(server, reg, name):
    # curl sends `Expect: 100-continue` with every upload over 1 MiB and then waits a second for
    # the answer before it sends anything: without it every large push loses that second.
    data = b"c" * 50_000
    location = reg.request("POST", f"/v2/{name}/blobs/uploads/").headers["Location"]
    host, port = server.url.removeprefix("http://").split(":")
    auth = base64.b64encode(f"{AUTH[0]}:{AUTH[1]}".encode()).decode()
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(f"PUT {location}?digest={digest(data)} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\n"
                  f"Content-Length: {len(data)}\r\nContent-Type: application/octet-stream\r\nExpect: 100-continue\r\n\r\n".encode())
        s.settimeout(0.5)  # long before a client gives up waiting (curl: 1 s)
        assert read_response_head(s) == "HTTP/1.1 100 Continue\r\n\r\n"
        s.settimeout(5)
        s.sendall(data)
        assert read_response_head(s).startswith("HTTP/1.1 201 ")
        # Refused without credentials: the body is still read, and the connection goes on.
        s.sendall(f"PUT {location}?digest={digest(data)} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(data)}\r\n"
                  f"Expect: 100-Continue\r\n\r\n".encode())
        assert read_response_head(s) == "HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(data)
        refused = read_response_head(s)
        assert refused.startswith("HTTP/1.1 401 ")
        length = int(next(line.split(":")[1] for line in refused.split("\r\n") if line.lower().startswith("content-length")))
        while length > 0:
            length -= len(s.recv(length))
        s.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert read_response_head(s).startswith("HTTP/1.1 200 ")
    assert reg.request("HEAD", f"/v2/{name}/blobs/{digest(data)}").status_code == 200
    # No expectation, no interim answer.
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert read_response_head(s).startswith("HTTP/1.1 200 ")
