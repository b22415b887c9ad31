"""Repository settings and resource tags through boto3 and the AWS CLI (SPEC §2.7): every member
of botocore's Repository shape, the tag operations by ARN, scanning on push, and bad input —
client validation on and off — refused with the model's exception and nothing stored."""
import json
import shutil
import subprocess

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from conftest import BIN, REGION, head_seq, signed_post


def arn_of(repository):
    return repository["repositoryArn"]


def test_create_repository_keeps_scanning_encryption_and_tags(ecr, repo):
    created = ecr.create_repository(repositoryName=repo, imageScanningConfiguration={"scanOnPush": True},
                                    encryptionConfiguration={"encryptionType": "KMS", "kmsKey": "arn:aws:kms:us-east-1:123:key/k"},
                                    tags=[{"Key": "team", "Value": "web"}, {"Key": "env", "Value": ""}])["repository"]
    assert created["imageScanningConfiguration"] == {"scanOnPush": True}
    assert created["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": "arn:aws:kms:us-east-1:123:key/k"}
    described = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]
    assert described["imageScanningConfiguration"] == {"scanOnPush": True} and described["encryptionConfiguration"]["encryptionType"] == "KMS"
    assert ecr.list_tags_for_resource(resourceArn=arn_of(created))["tags"] == [{"Key": "env", "Value": ""}, {"Key": "team", "Value": "web"}]
    plain = ecr.create_repository(repositoryName=repo + "-plain")["repository"]
    assert plain["imageScanningConfiguration"] == {"scanOnPush": False}
    assert plain["encryptionConfiguration"] == {"encryptionType": "AES256"}


def test_tag_untag_and_scanning_change_the_repository_and_appear_in_the_audit(server, ecr, repo):
    arn = arn_of(ecr.create_repository(repositoryName=repo)["repository"])
    before = head_seq(server)
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "prod"}])
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "b"}])
    ecr.untag_resource(resourceArn=arn, tagKeys=["env", "absent"])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "b"}]
    answer = ecr.put_image_scanning_configuration(repositoryName=repo, imageScanningConfiguration={"scanOnPush": True})
    assert answer["imageScanningConfiguration"] == {"scanOnPush": True} and answer["repositoryName"] == repo
    after = head_seq(server)
    assert after == before + 4
    # The audit tool, on the live store: the events, the state at each point, the diff.
    log = subprocess.run([BIN, "audit", "log", "--data", server.data, "--repository", repo, "--json"], capture_output=True, text=True, timeout=60)
    types = [json.loads(line)["type"] for line in log.stdout.splitlines()]
    assert types == ["repository.created", "tags.changed", "tags.changed", "tags.changed", "settings.changed"], log.stderr
    state = json.loads(subprocess.run([BIN, "audit", "state", "--data", server.data, "--seq", str(before + 1), "--repository", repo, "--json"],
                                      capture_output=True, text=True, timeout=60).stdout)
    (r,) = state["repositories"]
    assert r["resourceTags"] == [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "a"}]
    assert r["imageScanningConfiguration"] == {"scanOnPush": False} and r["encryptionConfiguration"] == {"encryptionType": "AES256"}
    diff = subprocess.run([BIN, "audit", "diff", "--data", server.data, "--from", str(before), "--to", str(after), "--json"],
                          capture_output=True, text=True, timeout=60)
    kinds = {(c["kind"], c["repositoryName"]) for c in map(json.loads, diff.stdout.splitlines())}
    assert {("tags.changed", repo), ("settings.changed", repo)} <= kinds, diff.stdout + diff.stderr


@pytest.mark.parametrize("members,code", [
    ({"tags": "nope"}, "InvalidParameterException"),
    ({"tags": [{"Key": "a"}]}, "InvalidParameterException"),
    ({"tags": [{"Key": "", "Value": "v"}]}, "InvalidTagParameterException"),
    ({"tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}, "InvalidTagParameterException"),
    ({"tags": [{"Key": f"k{i}", "Value": ""} for i in range(51)]}, "TooManyTagsException"),
    ({"imageScanningConfiguration": "x"}, "InvalidParameterException"),
    ({"imageScanningConfiguration": {"scanOnPush": "yes"}}, "InvalidParameterException"),
    ({"encryptionConfiguration": {}}, "InvalidParameterException"),
    ({"encryptionConfiguration": {"encryptionType": "BOGUS"}}, "InvalidParameterException"),
    ({"encryptionConfiguration": {"encryptionType": "AES256", "kmsKey": "k"}}, "InvalidParameterException"),
])
def test_malformed_settings_are_refused_with_client_validation_off_and_nothing_is_stored(server, repo, members, code):
    """Sent as raw signed JSON: botocore cannot even serialize some of these with its validation off."""
    before = head_seq(server)
    refused = signed_post(server.url, "CreateRepository", {"repositoryName": repo, **members})
    assert refused.status_code == 400 and refused.json()["__type"] == code, refused.text
    assert head_seq(server) == before


def test_bad_arns_and_tag_requests_are_refused(server, ecr, ecr_raw, repo):
    arn = arn_of(ecr.create_repository(repositoryName=repo)["repository"])
    before = head_seq(server)
    registry = arn.split(":")[4]
    for bad in ["nope", "arn:aws:s3:::bucket", arn.replace(REGION, "eu-west-1"), arn.replace(":repository/", ":image/"),
                arn.replace(registry, "210987654321" if registry != "210987654321" else "123456789012")]:
        with pytest.raises(ClientError) as refused:
            ecr_raw.tag_resource(resourceArn=bad, tags=[{"Key": "a", "Value": "b"}])
        assert refused.value.response["Error"]["Code"] == "InvalidParameterException", bad
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        ecr.list_tags_for_resource(resourceArn=arn + "-none")
    with pytest.raises(ecr.exceptions.TooManyTagsException):
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": f"k{i}", "Value": ""} for i in range(51)])
    for body in [{"resourceArn": arn, "tagKeys": "team"}, {"resourceArn": arn}, {"resourceArn": arn, "tagKeys": [""]}]:
        refused = signed_post(server.url, "UntagResource", body)
        assert refused.status_code == 400 and refused.json()["__type"] in ("InvalidParameterException", "InvalidTagParameterException")
    # With client validation on, botocore stops what its model forbids before it is sent.
    with pytest.raises(ParamValidationError):
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": "a"}])
    assert head_seq(server) == before


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed (make pydeps installs it)")
def test_aws_cli_tags_a_repository_and_turns_scanning_on(server, repo):
    from test_awscli import aws
    rc, created, err = aws(server, "create-repository", "--repository-name", repo, "--tags", "Key=team,Value=cli")
    assert rc == 0, err
    arn = created["repository"]["repositoryArn"]
    rc, _, err = aws(server, "tag-resource", "--resource-arn", arn, "--tags", "Key=env,Value=dev")
    assert rc == 0, err
    rc, listed, err = aws(server, "list-tags-for-resource", "--resource-arn", arn)
    assert rc == 0 and listed["tags"] == [{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "cli"}], err
    rc, _, err = aws(server, "untag-resource", "--resource-arn", arn, "--tag-keys", "team")
    assert rc == 0, err
    rc, answer, err = aws(server, "put-image-scanning-configuration", "--repository-name", repo, "--image-scanning-configuration", "scanOnPush=true")
    assert rc == 0 and answer["imageScanningConfiguration"] == {"scanOnPush": True}, err
    rc, _, err = aws(server, "tag-resource", "--resource-arn", arn.replace(REGION, "eu-west-1"), "--tags", "Key=a,Value=b")
    assert rc != 0 and "InvalidParameterException" in err


POLICY = json.dumps({"rules": [
    {"rulePriority": 1, "description": "keep the ten newest releases", "action": {"type": "expire"},
     "selection": {"tagStatus": "tagged", "tagPatternList": ["v*"], "countType": "imageCountMoreThan", "countNumber": 10}},
    {"rulePriority": 2, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
     "action": {"type": "expire"}}]})


def test_lifecycle_policies_are_put_read_and_deleted_and_bad_ones_refused(server, ecr, ecr_raw, repo):
    ecr.create_repository(repositoryName=repo)
    with pytest.raises(ecr.exceptions.LifecyclePolicyNotFoundException):
        ecr.get_lifecycle_policy(repositoryName=repo)
    put = ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=POLICY)
    assert put["lifecyclePolicyText"] == POLICY and put["repositoryName"] == repo
    assert ecr.get_lifecycle_policy(repositoryName=repo)["lifecyclePolicyText"] == POLICY
    state = json.loads(subprocess.run([BIN, "audit", "state", "--data", server.data, "--seq", str(head_seq(server)), "--repository", repo, "--json"],
                                      capture_output=True, text=True, timeout=60).stdout)
    assert state["repositories"][0]["lifecyclePolicy"] == json.loads(POLICY)
    before = head_seq(server)
    for bad, reason in [
        (POLICY.replace('"countNumber": 10', '"countNumber": 0'), "at least 1"),
        (POLICY.replace('"rulePriority": 2', '"rulePriority": 1'), "same rulePriority"),
        (POLICY.replace('"untagged"', '"any"').replace('"rulePriority": 2', '"rulePriority": 0'), "positive integer"),
        (POLICY.replace('"days"', '"weeks"'), "countUnit 'days'"),
        ("{" + " " * 120 + "}", "non-empty list"),
    ]:
        with pytest.raises(ClientError) as refused:
            ecr_raw.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=bad)
        assert refused.value.response["Error"]["Code"] == "InvalidParameterException" and reason in refused.value.response["Error"]["Message"]
    assert head_seq(server) == before
    assert ecr.delete_lifecycle_policy(repositoryName=repo)["lifecyclePolicyText"] == POLICY
    with pytest.raises(ecr.exceptions.LifecyclePolicyNotFoundException):
        ecr.delete_lifecycle_policy(repositoryName=repo)


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed (make pydeps installs it)")
def test_aws_cli_puts_and_gets_a_lifecycle_policy(server, repo, tmp_path):
    from test_awscli import aws
    assert aws(server, "create-repository", "--repository-name", repo)[0] == 0
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(POLICY)
    rc, put, err = aws(server, "put-lifecycle-policy", "--repository-name", repo, "--lifecycle-policy-text", f"file://{policy_file}")
    assert rc == 0 and json.loads(put["lifecyclePolicyText"]) == json.loads(POLICY), err
    rc, got, err = aws(server, "get-lifecycle-policy", "--repository-name", repo)
    assert rc == 0 and got["lifecyclePolicyText"] == POLICY, err


def test_lifecycle_preview_keeps_flagged_images_and_says_why(server, ecr, repo, quay):
    from conftest import manifest
    ecr.create_repository(repositoryName=repo)
    for i in range(4):
        ecr.put_image(repositoryName=repo, imageManifest=manifest(7700 + i), imageTag=f"r{i}")
    flagged = quay["admin"].put(f"/repository/{repo}/tag/r0", json={"immutable": True})
    assert flagged.status_code in (200, 201), flagged.text
    keep_one = json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
                                      "action": {"type": "expire"}}]})
    before = head_seq(server)
    assert ecr.start_lifecycle_policy_preview(repositoryName=repo, lifecyclePolicyText=keep_one)["status"] == "COMPLETE"
    preview = ecr.get_lifecycle_policy_preview(repositoryName=repo)
    assert preview["summary"]["expiringImageTotalCount"] == 2
    results = {r["imageTags"][0]: r for r in preview["previewResults"]}
    assert set(results) == {"r0", "r1", "r2"}
    assert results["r1"]["action"] == {"type": "EXPIRE"} and results["r1"]["appliedRulePriority"] == 1
    # botocore drops members its model does not know; the raw answer keeps why r0 is kept.
    raw = signed_post(server.url, "GetLifecyclePolicyPreview", {"repositoryName": repo}).json()
    (kept,) = [r for r in raw["previewResults"] if "action" not in r]
    assert kept["imageTags"] == ["r0"] and kept["protectedBy"] == {"tag": "r0", "cause": "manual"}
    assert head_seq(server) == before
    with pytest.raises(ClientError) as refused:
        ecr.start_lifecycle_policy_preview(repositoryName=repo, lifecyclePolicyText=keep_one.replace('"countNumber": 1', '"countNumber": 0'))
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed (make pydeps installs it)")
def test_aws_cli_previews_a_lifecycle_policy(server, ecr, repo):
    from test_awscli import aws
    from conftest import manifest
    ecr.create_repository(repositoryName=repo)
    for i in range(3):
        ecr.put_image(repositoryName=repo, imageManifest=manifest(7800 + i), imageTag=f"c{i}")
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=POLICY.replace('"countNumber": 10', '"countNumber": 1').replace('"v*"', '"c*"'))
    rc, started, err = aws(server, "start-lifecycle-policy-preview", "--repository-name", repo)
    assert rc == 0 and started["status"] == "COMPLETE", err
    rc, preview, err = aws(server, "get-lifecycle-policy-preview", "--repository-name", repo)
    assert rc == 0, err
    assert sorted(r["imageTags"][0] for r in preview["previewResults"]) == ["c0", "c1"]
