"""ECR's layer operations with boto3, on the registry API's blob store (SPEC §8)."""
import hashlib
import json

import pytest
import requests
from botocore.exceptions import ClientError

from registry_client import AUTH, Registry, digest


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def upload(ecr, name, data, part=7):
    upload_id = ecr.initiate_layer_upload(repositoryName=name)["uploadId"]
    for first in range(0, len(data), part):
        chunk = data[first:first + part]
        answer = ecr.upload_layer_part(repositoryName=name, uploadId=upload_id, partFirstByte=first,
                                       partLastByte=first + len(chunk) - 1, layerPartBlob=chunk)
        assert answer["lastByteReceived"] == first + len(chunk) - 1
    return upload_id


def test_a_layer_pushed_in_parts_is_available_and_downloadable(server, ecr, repo):
    ecr.create_repository(repositoryName=repo)
    data = b"layer bytes " * 10
    started = ecr.initiate_layer_upload(repositoryName=repo)
    assert started["partSize"] > 0
    upload_id = upload(ecr, repo, data)
    done = ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[digest(data)])
    assert done["layerDigest"] == digest(data) and done["repositoryName"] == repo
    check = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[digest(data), digest(b"absent"), "sha256:bad"])
    assert check["layers"][0] == {"layerDigest": digest(data), "layerAvailability": "AVAILABLE", "layerSize": len(data)}
    assert check["layers"][1]["layerAvailability"] == "UNAVAILABLE"
    assert check["failures"][0]["failureCode"] == "InvalidLayerDigest"
    url = ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest(data))["downloadUrl"]
    assert url.endswith(f"/v2/{repo}/blobs/{digest(data)}")
    assert requests.get(url, auth=AUTH).content == data
    # The same blob store as the registry API: a manifest pushed there may name the layer.
    reg = Registry(server)
    config = reg.push_blob(repo, b"{}")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(data), "size": len(data)}]})
    assert reg.put_manifest(repo, "v1", manifest.encode()).status_code == 201
    assert ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[config])["layers"][0]["layerAvailability"] == "AVAILABLE"
    with pytest.raises(ClientError) as again:
        ecr.complete_layer_upload(repositoryName=repo, uploadId=upload(ecr, repo, data), layerDigests=[digest(data)])
    assert code(again) == "LayerAlreadyExistsException"


def test_layer_upload_errors_store_nothing(server, ecr, repo):
    ecr.create_repository(repositoryName=repo)
    upload_id = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    ecr.upload_layer_part(repositoryName=repo, uploadId=upload_id, partFirstByte=0, partLastByte=3, layerPartBlob=b"abcd")
    with pytest.raises(ClientError) as gap:
        ecr.upload_layer_part(repositoryName=repo, uploadId=upload_id, partFirstByte=10, partLastByte=13, layerPartBlob=b"efgh")
    assert code(gap) == "InvalidLayerPartException"
    with pytest.raises(ClientError) as short:
        ecr.upload_layer_part(repositoryName=repo, uploadId=upload_id, partFirstByte=4, partLastByte=9, layerPartBlob=b"ef")
    assert code(short) == "InvalidLayerPartException"
    with pytest.raises(ClientError) as wrong:
        ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[digest(b"something else")])
    assert code(wrong) == "InvalidLayerException"
    assert ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[digest(b"abcd")])["layers"][0]["layerAvailability"] == "UNAVAILABLE"
    with pytest.raises(ClientError) as gone:  # the failed completion ended the upload
        ecr.upload_layer_part(repositoryName=repo, uploadId=upload_id, partFirstByte=4, partLastByte=5, layerPartBlob=b"ef")
    assert code(gone) == "UploadNotFoundException"
    empty = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    with pytest.raises(ClientError) as nothing:
        ecr.complete_layer_upload(repositoryName=repo, uploadId=empty, layerDigests=[digest(b"")])
    assert code(nothing) == "EmptyUploadException"
    for call in (lambda: ecr.initiate_layer_upload(repositoryName=repo + "-absent"),
                 lambda: ecr.batch_check_layer_availability(repositoryName=repo + "-absent", layerDigests=[digest(b"x")])):
        with pytest.raises(ClientError) as missing:
            call()
        assert code(missing) == "RepositoryNotFoundException"
    with pytest.raises(ClientError) as unknown:
        ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest(b"abcd"))
    assert code(unknown) == "LayersNotFoundException"
