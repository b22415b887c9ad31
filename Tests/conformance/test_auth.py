"""Authentication on every route but /healthz: SigV4 for ECR, bearer tokens for Quay, Basic for
OCI and /metrics. Refusals change nothing."""
import base64

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import ALICE, BOB, TOKENS, ecr_client, head_seq, signed_post, utc


def test_unsigned_request_is_refused(server):
    before = head_seq(server)
    response = requests.post(server.url + "/", data=b'{"repositoryName": "auth/x"}', headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.CreateRepository"})
    assert response.status_code == 403
    assert response.json()["__type"] == "MissingAuthenticationTokenException"
    assert head_seq(server) == before


@pytest.mark.parametrize("credential,region,service,code", [
    ({**ALICE, "secretAccessKey": "wrong-secret"}, "us-east-1", "ecr", "InvalidSignatureException"),
    ({**ALICE, "accessKeyId": "AKIAUNKNOWN000000000"}, "us-east-1", "ecr", "UnrecognizedClientException"),
    (ALICE, "eu-west-1", "ecr", "InvalidSignatureException"),
    (ALICE, "us-east-1", "s3", "InvalidSignatureException"),
])
def test_wrongly_signed_requests_are_refused(server, credential, region, service, code):
    before = head_seq(server)
    response = signed_post(server.url, "CreateRepository", {"repositoryName": "auth/wrong"},
                           credential=credential, region=region, service=service)
    assert response.status_code == 403, response.text
    assert response.json()["__type"] == code
    assert credential["secretAccessKey"] not in response.text
    assert head_seq(server) == before


@pytest.mark.parametrize("minutes", [-20, 20])
def test_signatures_outside_fifteen_minutes_are_refused(server, minutes):
    response = signed_post(server.url, "DescribeRepositories", {}, when=utc(minutes=minutes))
    assert response.status_code == 403
    assert response.json()["__type"] == "InvalidSignatureException"
    assert signed_post(server.url, "DescribeRepositories", {}, when=utc(minutes=minutes // 4)).status_code == 200


def test_tampered_body_is_refused(server):
    good = signed_post(server.url, "DescribeRepositories", {})
    assert good.status_code == 200
    import botocore.auth, botocore.awsrequest, botocore.credentials, json
    body = json.dumps({"repositoryName": "auth/tampered"}).encode()
    request = botocore.awsrequest.AWSRequest(method="POST", url=server.url + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.CreateRepository"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(ALICE["accessKeyId"], ALICE["secretAccessKey"]), "ecr", "us-east-1").add_auth(request)
    response = requests.post(server.url + "/", data=body.replace(b"tampered", b"tempered"), headers=dict(request.headers))
    assert response.status_code == 403
    assert response.json()["__type"] == "InvalidSignatureException"


def test_boto3_with_wrong_credentials_gets_client_errors(server):
    client = ecr_client(server, credential={**BOB, "secretAccessKey": "nope"})
    with pytest.raises(ClientError) as e:
        client.describe_repositories()
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic " + base64.b64encode(b"a:b").decode(), "Bearer "])
def test_quay_refuses_missing_and_unknown_tokens(server, header):
    headers = {"Authorization": header} if header else {}
    for method, path in [("GET", "/api/v1/organization/acme/immutabilitypolicy/"),
                         ("POST", "/api/v1/repository/acme/web/immutabilitypolicy/"),
                         ("GET", "/api/v1/repository/acme/web/tag/")]:
        response = requests.request(method, server.url + path, headers=headers, json={"tagPattern": "v.*"})
        assert response.status_code == 401
        assert set(response.json()) == {"status", "error_type", "title", "detail"}


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize("path", ["/v2/", "/v2/acme/web/tags/list", "/metrics"])
def test_basic_auth_routes_challenge_without_valid_credentials(server, path):
    for headers in [{}, basic(ALICE["accessKeyId"], "wrong"), basic("nobody", ALICE["secretAccessKey"]), {"Authorization": "Basic !!!"}]:
        response = requests.get(server.url + path, headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="regledger"'


def test_metrics_accepts_basic_credentials_or_a_token(server):
    assert requests.get(server.url + "/metrics", headers=basic(ALICE["accessKeyId"], ALICE["secretAccessKey"])).status_code == 200
    assert requests.get(server.url + "/metrics", headers={"Authorization": "Bearer " + TOKENS["reader"]["token"]}).status_code == 200


def test_healthz_needs_no_credentials(server):
    response = requests.get(server.url + "/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_get_authorization_token_gives_a_registry_login_for_twelve_hours(server, ecr):
    answer = ecr.get_authorization_token()
    (data,) = answer["authorizationData"]
    user, token = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    assert user == "AWS" and token
    assert data["proxyEndpoint"] == server.url
    hours = (data["expiresAt"] - utc()).total_seconds() / 3600
    assert 11.99 < hours <= 12.01
    assert requests.get(server.url + "/v2/", auth=("AWS", token)).status_code == 200
    # Anything but the token itself is refused, with the challenge registry clients expect.
    # (Altered in the middle: the last base64 character may carry only padding bits.)
    middle = len(token) // 2
    altered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    for password in [altered, "", ALICE["secretAccessKey"]]:
        refused = requests.get(server.url + "/v2/", auth=("AWS", password))
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == 'Basic realm="regledger"'
    assert requests.get(server.url + "/v2/", auth=(ALICE["accessKeyId"], token)).status_code == 401
    # Two registries asked for, two entries; a malformed registry id is refused (client validation off).
    assert len(ecr.get_authorization_token(registryIds=["123456789012", "210987654321"])["authorizationData"]) == 2
    unchecked = ecr_client(server, validate=False)
    for bad in [[], ["12"], "123456789012", [12]]:
        with pytest.raises(ClientError) as refused:
            unchecked.get_authorization_token(registryIds=bad)
        assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
