"""Hostile clients and unlucky operators (SPEC §4.1, §4.2, §6): replayed signatures, readers
that die inside a transaction, a full disk, idle and slow connections, killed imports. Each
test drives real processes, sockets and filesystems."""
import json

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import requests

from conftest import ALICE, REGION, TARGET, ecr_client


def captured_signature(url, body, signed_headers):
    """A request signed by botocore over `signed_headers` only (plus host and x-amz-date)."""
    request = botocore.awsrequest.AWSRequest(method="POST", url=url + "/", data=body, headers=signed_headers)
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(ALICE["accessKeyId"], ALICE["secretAccessKey"]),
                            "ecr", REGION).add_auth(request)
    return dict(request.headers)


def test_a_signature_that_leaves_out_the_target_cannot_be_replayed_as_another_operation(server, ecr):
    name = "auth/victim"
    ecr.create_repository(repositoryName=name)
    body = json.dumps({"repositoryName": name}).encode()
    headers = captured_signature(server.url, body, {})
    head = requests.get(server.url + "/healthz").json()["headSeq"]
    for target, content_type in [("DeleteRepository", "application/x-amz-json-1.1"), ("ListImages", "application/x-amz-json-1.1")]:
        replay = requests.post(server.url + "/", data=body, headers=headers | {
            "X-Amz-Target": TARGET + target, "Content-Type": content_type})
        assert replay.status_code == 403, replay.text
        assert replay.json()["__type"] == "IncompleteSignatureException"
        assert "x-amz-target" in replay.json()["message"] or "content-type" in replay.json()["message"]
    # A signature over the target but not the content type is refused too.
    headers = captured_signature(server.url, body, {"X-Amz-Target": TARGET + "ListImages"})
    refused = requests.post(server.url + "/", data=body, headers=headers | {"Content-Type": "application/x-amz-json-1.1"})
    assert refused.status_code == 403 and "content-type" in refused.json()["message"]
    assert requests.get(server.url + "/healthz").json()["headSeq"] == head
    assert ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryName"] == name
    # botocore's own requests sign everything and keep working.
    ecr.delete_repository(repositoryName=name)
