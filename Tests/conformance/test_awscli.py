"""The AWS CLI works against the server unchanged, as the README shows."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import ALICE, REGION, manifest

pytestmark = pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed (make pydeps installs it)")


def aws(server, *args, credential=ALICE):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": credential["accessKeyId"], "AWS_SECRET_ACCESS_KEY": credential["secretAccessKey"],
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": ""}
    result = subprocess.run(["aws", "ecr", *args, "--region", REGION, "--endpoint-url", server.url, "--output", "json"],
                            capture_output=True, text=True, env=env, timeout=120)
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
