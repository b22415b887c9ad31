"""A raw-HTTP client for the registry API (OCI distribution 1.1), for tests that need to see
every status, header and error body."""
import hashlib
import json

import requests

from conftest import ALICE

AUTH = (ALICE["accessKeyId"], ALICE["secretAccessKey"])
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
EMPTY_JSON = b"{}"


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def error_code(response):
    return response.json()["errors"][0]["code"]


class Registry:
    def __init__(self, server, auth=AUTH):
        self.url = server.url
        self.session = requests.Session()
        self.session.auth = auth

    def request(self, method, path, **kw):
        return self.session.request(method, self.url + path, **kw)

    def push_blob(self, name, data):
        """A monolithic upload (POST ?digest=); returns the digest."""
        d = digest(data)
        r = self.request("POST", f"/v2/{name}/blobs/uploads/", params={"digest": d}, data=data,
                         headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 201, r.text
        return d

    def descriptor(self, name, data, media_type):
        return {"mediaType": media_type, "digest": self.push_blob(name, data), "size": len(data)}

    def image_manifest(self, name, seed, layers=2, subject=None, artifact_type=None, annotations=None):
        """Pushes a config and `layers` layers, returns the manifest bytes (not pushed)."""
        config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
        body = {"schemaVersion": 2, "mediaType": MANIFEST,
                "config": self.descriptor(name, config, CONFIG),
                "layers": [self.descriptor(name, f"layer {seed} {i}".encode() * 100, LAYER) for i in range(layers)]}
        if subject:
            body["subject"] = subject
        if artifact_type:
            body["artifactType"] = artifact_type
        if annotations:
            body["annotations"] = annotations
        return json.dumps(body, sort_keys=True).encode()

    def artifact(self, name, subject_bytes, artifact_type, seed):
        """A signature-like artifact manifest: the empty config, one blob, `subject` set."""
        body = {"schemaVersion": 2, "mediaType": MANIFEST, "artifactType": artifact_type,
                "config": self.descriptor(name, EMPTY_JSON, "application/vnd.oci.empty.v1+json"),
                "layers": [self.descriptor(name, f"signature {seed}".encode(), "application/vnd.dev.cosign.simplesigning.v1+json")],
                "subject": {"mediaType": MANIFEST, "digest": digest(subject_bytes), "size": len(subject_bytes)},
                "annotations": {"org.example.seed": str(seed)}}
        return json.dumps(body, sort_keys=True).encode()

    def put_manifest(self, name, reference, data, media_type=MANIFEST):
        return self.request("PUT", f"/v2/{name}/manifests/{reference}", data=data, headers={"Content-Type": media_type})
