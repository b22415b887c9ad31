"""Conformance suite: boto3, the AWS CLI and plain HTTP against `regledger serve`.

Every test talks to a real server process started on a free loopback port with the test
config below; `make test` runs the suite after the Swift tests (REGLEDGER_BIN names the
binary, `.build/debug/regledger` by default).
"""
import datetime
import json
import os
import pathlib
import signal
import subprocess
import tempfile
import threading
import uuid
from unittest import mock

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
import requests
from botocore.config import Config

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("REGLEDGER_BIN", str(ROOT / ".build" / "debug" / "regledger"))
REGION = "us-east-1"
REGISTRY = "123456789012"
TARGET = "AmazonEC2ContainerRegistry_V20150921."

ALICE = {"accessKeyId": "AKIAALICE0000000TEST", "secretAccessKey": "alice-secret-do-not-log-0123456789abcdef", "principal": "alice"}
BOB = {"accessKeyId": "AKIABOB00000000TEST0", "secretAccessKey": "bob-secret-do-not-log-0123456789abcdefgh", "principal": "bob"}
TOKENS = {
    "admin": {"token": "tok-admin-secret-000000000000000000000", "user": "quay-admin",
              "scopes": ["org:admin", "repo:admin", "repo:write", "repo:read"]},
    "org": {"token": "tok-org-secret-00000000000000000000000", "user": "org-owner", "scopes": ["org:admin"]},
    "repoadmin": {"token": "tok-repoadmin-secret-000000000000000", "user": "repo-owner", "scopes": ["repo:admin"]},
    "writer": {"token": "tok-writer-secret-0000000000000000000", "user": "ci-bot", "scopes": ["repo:write"]},
    "reader": {"token": "tok-reader-secret-0000000000000000000", "user": "viewer", "scopes": ["repo:read"]},
}
SECRETS = [ALICE["secretAccessKey"], BOB["secretAccessKey"]] + [t["token"] for t in TOKENS.values()]


def make_config(**overrides):
    config = {"registryId": REGISTRY, "region": REGION, "credentials": [ALICE, BOB],
              "tokens": list(TOKENS.values()), "activationDelaySeconds": 1}
    config.update(overrides)
    return config


class Server:
    """One `regledger serve` process on a free port (`--port 0`; the port is read from stdout)."""

    def __init__(self, data, config=None, config_path=None, preexec_fn=None, extra_args=()):
        self.data = str(data)
        self.extra_args = list(extra_args)  # e.g. --cluster URL --node NAME
        self.preexec_fn = preexec_fn  # runs in the child before exec (e.g. to lower a resource limit)
        self.config_path = config_path
        if config is not None:
            self.config_path = os.path.join(self.data + "-config.json")
            with open(self.config_path, "w") as f:
                json.dump(config, f)
        self.proc = None
        self.port = None
        self.stdout_lines = []
        self.stderr_path = self.data + "-stderr.log"

    def start(self, timeout=60):
        args = [BIN, "serve", "--data", self.data, "--port", "0"] + self.extra_args
        if self.config_path:
            args += ["--config", self.config_path]
        self.stderr_file = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr_file, text=True, preexec_fn=self.preexec_fn)
        ready = threading.Event()

        def read():
            for line in self.proc.stdout:
                self.stdout_lines.append(line.rstrip("\n"))
                if " at http://127.0.0.1:" in line and self.port is None:
                    self.port = int(line.split("http://127.0.0.1:")[1].split()[0])
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        ready.wait(timeout)
        if self.port is None:
            self.proc.kill()
            raise RuntimeError(f"server did not start: rc={self.proc.wait()} stderr={self.stderr()}")
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        self.stderr_file.close()
        return rc


def ecr_client(server, credential=ALICE, validate=True, region=REGION):
    return boto3.client(
        "ecr", region_name=region, endpoint_url=server.url,
        aws_access_key_id=credential["accessKeyId"], aws_secret_access_key=credential["secretAccessKey"],
        config=Config(parameter_validation=validate, retries={"max_attempts": 1}, max_pool_connections=32))


def signed_post(url, operation, body, credential=ALICE, region=REGION, service="ecr", when=None, target=None,
                content_type="application/x-amz-json-1.1"):
    """A raw ECR request signed with SigV4 by botocore (optionally at another time)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": content_type, "X-Amz-Target": target if target is not None else TARGET + operation}
    request = botocore.awsrequest.AWSRequest(method="POST", url=url + "/", data=data, headers=headers)
    signer = botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(credential["accessKeyId"], credential["secretAccessKey"]), service, region)
    if when is None:
        signer.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            signer.add_auth(request)
    return requests.post(url + "/", data=data, headers=dict(request.headers))


def manifest(n, layers=1):
    """A distinct OCI image manifest for each `n`."""
    digest = lambda i: "sha256:" + format(i, "064x")
    return json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(n * 1000), "size": 100 + n},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(n * 1000 + i + 1), "size": 1000}
                   for i in range(layers)],
    }, separators=(",", ":"))


class Quay:
    """A plain HTTP client for Quay's API with one token."""

    def __init__(self, server, token):
        self.base = server.url + "/api/v1"
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = "Bearer " + token

    def __getattr__(self, method):
        return lambda path, **kw: self.session.request(method.upper(), self.base + path, **kw)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("store") / "data", config=make_config()).start()
    yield s
    rc = s.stop()
    assert rc == 0, s.stderr()


@pytest.fixture(scope="session")
def ecr(server):
    return ecr_client(server)


@pytest.fixture(scope="session")
def ecr_raw(server):
    """A client whose own parameter validation is off, so bad input reaches the server."""
    return ecr_client(server, validate=False)


@pytest.fixture
def repo(ecr):
    """A fresh repository name (created on demand by the test)."""
    return f"conf/{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def quay(server):
    return {name: Quay(server, t["token"]) for name, t in TOKENS.items()} | {"none": Quay(server, None)}


def head_seq(server):
    return requests.get(server.url + "/healthz").json()["headSeq"]


def utc(**delta):
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(**delta)
