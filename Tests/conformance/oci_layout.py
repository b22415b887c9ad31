"""Builds OCI image layouts on disk (what `skopeo copy oci:DIR:TAG …` reads): a multi-layer
image and a multi-arch index, from deterministic random bytes, without any network."""
import gzip
import hashlib
import io
import json
import os
import random
import tarfile

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layout:
    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        self.refs = []

    def blob(self, data, media_type):
        d = digest(data)
        with open(os.path.join(self.path, "blobs", "sha256", d[7:]), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": d, "size": len(data)}

    def layer(self, seed, size):
        rng = random.Random(seed)
        payload = bytes(rng.getrandbits(8) for _ in range(size))
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(f"file-{seed}.bin")
            info.size, info.mtime = len(payload), 0
            tar.addfile(info, io.BytesIO(payload))
        return self.blob(gzip.compress(raw.getvalue(), mtime=0), LAYER)

    def image(self, seed, layers=3, arch="amd64", layer_size=20000):
        layer_descs = [self.layer(seed * 100 + i, layer_size) for i in range(layers)]
        config = {"architecture": arch, "os": "linux",
                  "rootfs": {"type": "layers", "diff_ids": [d["digest"] for d in layer_descs]},
                  "config": {"Env": [f"SEED={seed}"]}}
        config_desc = self.blob(json.dumps(config, sort_keys=True).encode(), CONFIG)
        manifest = {"schemaVersion": 2, "mediaType": MANIFEST, "config": config_desc, "layers": layer_descs}
        return self.blob(json.dumps(manifest, sort_keys=True).encode(), MANIFEST)

    def index(self, seed, arches=("amd64", "arm64")):
        children = []
        for i, arch in enumerate(arches):
            desc = self.image(seed * 10 + i, layers=2, arch=arch)
            desc["platform"] = {"architecture": arch, "os": "linux"}
            children.append(desc)
        index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": children}
        return self.blob(json.dumps(index, sort_keys=True).encode(), INDEX)

    def tag(self, desc, name):
        entry = dict(desc)
        entry["annotations"] = {"org.opencontainers.image.ref.name": name}
        self.refs.append(entry)
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "mediaType": INDEX, "manifests": self.refs}, f)
        return desc
