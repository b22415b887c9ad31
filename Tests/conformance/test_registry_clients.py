"""Ordinary registry clients against `regledger serve` (SPEC §8): skopeo copies a multi-layer
image and a multi-arch index in and out with identical digests; podman pushes and pulls where it
runs. The images are OCI layouts built on the spot (no network)."""
import json
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest
import requests

from conftest import ALICE, BIN
from oci_layout import Layout
from registry_client import AUTH

pytestmark = pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is installed by `make test`")
CREDS = f"{ALICE['accessKeyId']}:{ALICE['secretAccessKey']}"


def skopeo(*args):
    result = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def refs(layout_dir):
    with open(os.path.join(layout_dir, "index.json")) as f:
        return {m["annotations"]["org.opencontainers.image.ref.name"]: m["digest"] for m in json.load(f)["manifests"]}


def blobs(layout_dir):
    return sorted(os.listdir(os.path.join(layout_dir, "blobs", "sha256")))


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("layout") / "src")
    layout = Layout(path)
    layout.tag(layout.image(1, layers=4, layer_size=200_000), "v1")
    layout.tag(layout.index(2, arches=("amd64", "arm64", "ppc64le")), "multi")
    return path


def test_skopeo_copies_a_multi_layer_image_in_and_out_with_identical_digests(server, source, tmp_path):
    name = f"skopeo/{uuid.uuid4().hex[:8]}"
    host = server.url.removeprefix("http://")
    skopeo("copy", "--dest-creds", CREDS, "--dest-tls-verify=false", f"oci:{source}:v1", f"docker://{host}/{name}:v1")
    pushed = requests.get(f"{server.url}/v2/{name}/manifests/v1", auth=AUTH,
                          headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert pushed.headers["Docker-Content-Digest"] == refs(source)["v1"]
    out = str(tmp_path / "out")
    skopeo("copy", "--src-creds", CREDS, "--src-tls-verify=false", f"docker://{host}/{name}:v1", f"oci:{out}:v1")
    assert refs(out)["v1"] == refs(source)["v1"]
    manifest = json.loads(open(os.path.join(source, "blobs", "sha256", refs(source)["v1"][7:])).read())
    wanted = sorted([manifest["config"]["digest"][7:]] + [layer["digest"][7:] for layer in manifest["layers"]] + [refs(source)["v1"][7:]])
    assert blobs(out) == wanted
    for blob in wanted:
        assert open(os.path.join(out, "blobs", "sha256", blob), "rb").read() == open(os.path.join(source, "blobs", "sha256", blob), "rb").read()
    inspected = json.loads(skopeo("inspect", "--creds", CREDS, "--tls-verify=false", f"docker://{host}/{name}:v1"))
    assert inspected["Digest"] == refs(source)["v1"] and len(inspected["Layers"]) == 4
    # A second copy pushes nothing new: every blob is there, the manifest is the same.
    before = requests.get(server.url + "/healthz").json()["headSeq"]
    skopeo("copy", "--dest-creds", CREDS, "--dest-tls-verify=false", f"oci:{source}:v1", f"docker://{host}/{name}:v1")
    assert requests.get(server.url + "/healthz").json()["headSeq"] == before


def test_skopeo_copies_a_multi_arch_index_in_and_out(server, source, tmp_path):
    name = f"skopeo/{uuid.uuid4().hex[:8]}"
    host = server.url.removeprefix("http://")
    skopeo("copy", "--all", "--dest-creds", CREDS, "--dest-tls-verify=false", f"oci:{source}:multi", f"docker://{host}/{name}:multi")
    out = str(tmp_path / "out")
    skopeo("copy", "--all", "--src-creds", CREDS, "--src-tls-verify=false", f"docker://{host}/{name}:multi", f"oci:{out}:multi")
    assert refs(out)["multi"] == refs(source)["multi"]
    index = json.loads(open(os.path.join(source, "blobs", "sha256", refs(source)["multi"][7:])).read())
    assert set(blobs(out)) <= set(blobs(source))
    for child in index["manifests"]:
        assert child["digest"][7:] in blobs(out)
    # The children are untagged images of the repository; only the index is tagged.
    listed = requests.get(f"{server.url}/v2/{name}/tags/list", auth=AUTH).json()["tags"]
    assert listed == ["multi"]
    events = subprocess.run([BIN, "audit", "log", "--data", server.data, "--repository", name, "--json"],
                            capture_output=True, text=True, check=True).stdout.splitlines()
    pushed = [json.loads(e)["payload"]["imageDigest"] for e in events if json.loads(e)["type"] == "image.pushed"]
    assert sorted(pushed) == sorted([c["digest"] for c in index["manifests"]] + [refs(source)["multi"]])


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is installed by `make test`")
def test_podman_pushes_and_pulls(server, source, tmp_path):
    """podman (root, vfs storage of the test's own) takes the image from an OCI layout, pushes
    it, forgets it, and pulls it back: the same image id (config digest)."""
    name = f"podman/{uuid.uuid4().hex[:8]}"
    host = server.url.removeprefix("http://")
    run = tempfile.mkdtemp(prefix="pm-", dir="/tmp")  # podman wants a runroot path under 50 characters
    base = ["podman", "--root", str(tmp_path / "root"), "--runroot", run, "--storage-driver", "vfs"]

    def podman(*args):
        result = subprocess.run(base + list(args), capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    image_id = podman("pull", "-q", f"oci:{source}:v1")
    podman("push", "--tls-verify=false", "--creds", CREDS, image_id, f"docker://{host}/{name}:v1")
    assert requests.get(f"{server.url}/v2/{name}/tags/list", auth=AUTH).json()["tags"] == ["v1"]
    podman("rmi", "-a", "-f")
    pulled = podman("pull", "-q", "--tls-verify=false", "--creds", CREDS, f"{host}/{name}:v1")
    assert pulled == image_id
    podman("rmi", "-a", "-f")
    shutil.rmtree(run, ignore_errors=True)
