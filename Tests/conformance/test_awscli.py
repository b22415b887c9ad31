"""The AWS CLI works against the server unchanged, as the README shows."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import ALICE, REGION, manifest

pytestmark = pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed (make pydeps installs it)")


def aws_raw(server, *args, credential=ALICE):
    """`aws ecr ARGS` against the server with `credential`, as a finished process."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": credential["accessKeyId"], "AWS_SECRET_ACCESS_KEY": credential["secretAccessKey"],
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": ""}
    return subprocess.run(["aws", "ecr", *args, "--region", REGION, "--endpoint-url", server.url],
                          capture_output=True, text=True, env=env, timeout=120)


def aws(server, *args, credential=ALICE):
    result = aws_raw(server, *args, "--output", "json", credential=credential)
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else None, result.stderr


def test_aws_cli_round_trip(server):
    rc, created, err = aws(server, "create-repository", "--repository-name", "cli/web", "--image-tag-mutability", "IMMUTABLE_WITH_EXCLUSION",
                           "--image-tag-mutability-exclusion-filters", "filterType=WILDCARD,filter=dev-*")
    assert rc == 0, err
    assert created["repository"]["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    for i in range(3):
        rc, _, err = aws(server, "put-image", "--repository-name", "cli/web", "--image-tag", f"v{i}", "--image-manifest", manifest(9000 + i))
        assert rc == 0, err
    rc, listed, err = aws(server, "list-images", "--repository-name", "cli/web")
    assert rc == 0, err
    assert sorted(i["imageTag"] for i in listed["imageIds"]) == ["v0", "v1", "v2"]
    rc, _, err = aws(server, "put-image", "--repository-name", "cli/web", "--image-tag", "v0", "--image-manifest", manifest(9100))
    assert rc != 0 and "ImageTagAlreadyExistsException" in err
    rc, _, err = aws(server, "list-images", "--repository-name", "cli/web", credential={**ALICE, "secretAccessKey": "wrong"})
    assert rc != 0 and "InvalidSignatureException" in err


def test_aws_cli_follows_next_tokens(server, ecr):
    ecr.create_repository(repositoryName="cli/many")
    for i in range(230):
        ecr.put_image(repositoryName="cli/many", imageManifest=manifest(20_000 + i), imageTag=f"t{i:03d}")
    rc, listed, err = aws(server, "list-images", "--repository-name", "cli/many", "--page-size", "100")
    assert rc == 0, err
    assert len(listed["imageIds"]) == 230
    rc, described, err = aws(server, "describe-images", "--repository-name", "cli/many", "--max-items", "50")
    assert rc == 0, err
    assert len(described["imageDetails"]) == 50 and described["NextToken"]


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed (make test installs it)")
def test_get_login_password_logs_skopeo_into_the_registry_api(server, ecr, tmp_path):
    ecr.create_repository(repositoryName="cli/login")
    ecr.put_image(repositoryName="cli/login", imageManifest=manifest(9500), imageTag="v1")
    password = aws_raw(server, "get-login-password")
    assert password.returncode == 0 and password.stdout.strip(), password.stderr
    registry = f"127.0.0.1:{server.port}"
    authfile = str(tmp_path / "auth.json")

    def skopeo(*args, stdin=None):
        return subprocess.run(["skopeo", *args, "--authfile", authfile, "--tls-verify=false"], input=stdin,
                              capture_output=True, text=True, timeout=120)

    login = skopeo("login", "--username", "AWS", "--password-stdin", registry, stdin=password.stdout)
    assert login.returncode == 0, login.stderr
    listed = skopeo("list-tags", f"docker://{registry}/cli/login")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["Tags"] == ["v1"]
    # An altered token is refused at login.
    token = password.stdout.strip()
    middle = len(token) // 2  # not the end: the last base64 character may carry only padding bits
    forged = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    refused = skopeo("login", "--username", "AWS", "--password-stdin", registry, stdin=forged)
    assert refused.returncode != 0
