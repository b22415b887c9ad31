"""The server as an operator runs it: generated config, bad config, graceful shutdown with
writes in flight, group commit under concurrent clients, audit of what it wrote, metrics, logs
without secrets, and refusal to start on a tampered log."""
import json
import os
import signal
import stat
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from botocore.exceptions import ClientError, EndpointConnectionError, ConnectionClosedError

from conftest import ALICE, BIN, BOB, REGISTRY, SECRETS, TOKENS, Quay, Server, ecr_client, make_config, manifest


def regledger(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)


def test_first_start_generates_a_private_config_and_reuses_it(tmp_path):
    data = tmp_path / "generated"
    server = Server(data).start()
    try:
        config_path = data / "config.json"
        assert stat.S_IMODE(os.stat(config_path).st_mode) == 0o600
        config = json.loads(config_path.read_text())
        output = "\n".join(server.stdout_lines)
        assert str(config_path) in output
        assert config["credentials"][0]["secretAccessKey"] not in output
        # The printed AWS CLI lines work when pasted into a shell.
        pasted = [line.strip() for line in server.stdout_lines if line.startswith("  ")]
        assert len(pasted) == 3 and "list-images" in pasted[2]
        ran = subprocess.run(["bash", "-c", " && ".join(pasted)], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
        assert ran.returncode == 0, ran.stderr
        created, end = json.JSONDecoder().raw_decode(ran.stdout)
        assert created["repository"]["repositoryName"] == "acme/web"
        assert json.loads(ran.stdout[end:])["imageIds"] == []
        client = ecr_client(server, credential=config["credentials"][0])
        client.create_repository(repositoryName="gen/one")
        assert client.list_images(repositoryName="acme/web")["imageIds"] == []
        token = config["tokens"][0]["token"]
        assert Quay(server, token).get("/repository/gen/one/tag/").status_code == 200
    finally:
        assert server.stop() == 0
    again = Server(data).start()
    try:
        assert json.loads((data / "config.json").read_text()) == config
        assert "created now" not in "\n".join(again.stdout_lines)
        names = [r["repositoryName"] for r in ecr_client(again, credential=config["credentials"][0]).describe_repositories()["repositories"]]
        assert names == ["acme/web", "gen/one"]
    finally:
        assert again.stop() == 0


@pytest.mark.parametrize("content,message", [
    ("{not json", "not a JSON object"),
    (json.dumps(make_config(registryId="12")), "registry"),
    (json.dumps(make_config(tokens=[{"token": "t", "user": "u", "scopes": ["repo:everything"]}])), "scope"),
    (json.dumps(make_config(credentials=[], tokens=[])), "no credentials"),
    (json.dumps(make_config(credentials=[{"accessKeyId": "AKIA1", "principal": "p"}])), "secretAccessKey"),
    (json.dumps(make_config(activationDelaySeconds=-1)), "activationDelaySeconds"),
    # A misspelled key used to start a server without the credentials it was meant to have.
    (json.dumps({k if k != "credentials" else "credentails": v for k, v in make_config().items()}), "unknown key 'credentails'"),
    (json.dumps(make_config(tokens=[{"token": "t", "user": "u", "scopes": []}])), "tokens[0].scopes is empty"),
    (json.dumps(make_config(tokens=[{"token": "t", "scopes": ["repo:read"]}])), "tokens[0].user is required"),
    (json.dumps(make_config(credentials=[{"accessKeyId": "AKIA1", "secretAccessKey": "alice-secret-do-not-log-0123456789abcdef"}])),
     "credentials[0].principal is required"),
    (json.dumps(make_config(tokens=[TOKENS["admin"], dict(TOKENS["admin"], user="other")])), "tokens[1].token is the same"),
    (json.dumps(make_config(credentials=[ALICE, dict(BOB, accessKeyId=ALICE["accessKeyId"])])), "credentials[1].accessKeyId is the same"),
    (json.dumps(make_config())[:-1] + ', "region": "eu-west-1"}', "the key 'region' appears twice"),
    (json.dumps(make_config(idleTimeoutSeconds=0)), "idleTimeoutSeconds"),
])
def test_a_bad_config_stops_the_server_with_a_clear_message(tmp_path, content, message):
    config = tmp_path / "bad.json"
    config.write_text(content)
    result = regledger("serve", "--data", str(tmp_path / "data"), "--port", "0", "--config", str(config))
    assert result.returncode == 2
    assert message in result.stderr
    assert not any(secret in result.stderr for secret in SECRETS)


def test_bad_serve_flags_are_usage_errors(tmp_path):
    assert regledger("serve", "--data", str(tmp_path), "--port", "70000").returncode == 2
    assert regledger("serve", "--port", "0").returncode == 2
    assert regledger("serve", "--data", str(tmp_path), "--config", str(tmp_path / "missing.json"), "--port", "0").returncode == 2


def test_sigterm_finishes_in_flight_writes_and_loses_nothing_acknowledged(tmp_path):
    server = Server(tmp_path / "data", config=make_config()).start()
    client = ecr_client(server)
    client.create_repository(repositoryName="life/web")
    acknowledged, stop = [], threading.Event()
    lock = threading.Lock()

    def writer(w):
        i = 0
        while not stop.is_set():
            tag = f"w{w}-{i}"
            try:
                client.put_image(repositoryName="life/web", imageManifest=manifest(w * 100_000 + i), imageTag=tag)
            except (ClientError, EndpointConnectionError, ConnectionClosedError, Exception):
                return
            with lock:
                acknowledged.append(tag)
            i += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    rc = server.stop(signal.SIGTERM)
    stop.set()
    for t in threads:
        t.join(30)
    assert rc == 0, server.stderr()
    assert len(acknowledged) > 50
    assert "closing the store" in server.stderr()

    again = Server(tmp_path / "data", config=make_config()).start()
    try:
        listed = set()
        for page in ecr_client(again).get_paginator("list_images").paginate(repositoryName="life/web"):
            listed |= {i["imageTag"] for i in page["imageIds"]}
        assert set(acknowledged) <= listed
    finally:
        assert again.stop() == 0
    assert regledger("audit", "verify", "--data", str(tmp_path / "data")).returncode == 0


def test_concurrent_clients_share_group_commits_and_metrics_show_it(tmp_path):
    server = Server(tmp_path / "data", config=make_config()).start()
    try:
        client = ecr_client(server)
        client.create_repository(repositoryName="load/web")
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(lambda i: client.put_image(repositoryName="load/web", imageManifest=manifest(i), imageTag=f"t{i}"), range(1600)))
        metrics = requests.get(server.url + "/metrics", auth=(ALICE["accessKeyId"], ALICE["secretAccessKey"])).text
        values = {line.split(" ")[0]: float(line.split(" ")[1]) for line in metrics.splitlines() if line and not line.startswith("#")}
        assert values["regledger_committed_commands_total"] == 1601
        assert values["regledger_commits_total"] < 1601          # groups of more than one
        assert values['regledger_http_requests_total{api="ecr",operation="PutImage",status="200"}'] == 1600
        assert values['regledger_http_request_duration_seconds_count{api="ecr",operation="PutImage"}'] == 1600
        assert values["regledger_log_head_seq"] >= 3201         # image.pushed + tag.added per push
        assert values["regledger_commit_batch_commands_count"] == values["regledger_commits_total"]
    finally:
        assert server.stop() == 0


def test_events_carry_principal_origin_and_request_id_and_audit_reads_them_live(tmp_path):
    server = Server(tmp_path / "data", config=make_config()).start()
    data = str(tmp_path / "data")
    try:
        client = ecr_client(server)
        created = client.create_repository(repositoryName="audit/web")
        request_id = created["ResponseMetadata"]["RequestId"]
        client.put_image(repositoryName="audit/web", imageManifest=manifest(1), imageTag="v1")
        Quay(server, TOKENS["admin"]["token"]).post("/repository/audit/web/immutabilitypolicy/", json={"tagPattern": "^v1$"})
        with pytest.raises(ClientError):
            client.put_image(repositoryName="audit/web", imageManifest=manifest(2), imageTag="v1")

        log = regledger("audit", "log", "--data", data, "--repository", "audit/web", "--json")  # while the server runs
        assert log.returncode == 0, log.stderr
        events = [json.loads(line) for line in log.stdout.splitlines()]
        first = events[0]
        assert (first["type"], first["actor"], first["origin"], first["requestId"]) == ("repository.created", "alice", "ecr", request_id)
        assert first["registryId"] == REGISTRY
        policy = next(e for e in events if e["type"] == "policy.created")
        assert (policy["actor"], policy["origin"]) == ("quay-admin", "quay")
        assert any(e["type"] == "tag.flagged" for e in events)

        history = regledger("audit", "history", "--data", data, "--repository", "audit/web", "--tag", "v1", "--json")
        lines = [json.loads(line) for line in history.stdout.splitlines()]
        assert lines[-1]["type"] == "denied" and lines[-1]["actor"] == "alice"

        exported = regledger("export", "--data", data)
        assert exported.returncode == 0
        for text in (exported.stdout, log.stdout, server.stderr()):
            assert not any(secret in text for secret in SECRETS)
    finally:
        assert server.stop() == 0
    assert not any(secret in server.stderr() for secret in SECRETS)


def test_server_refuses_to_start_on_a_tampered_log(tmp_path):
    data = tmp_path / "data"
    server = Server(data, config=make_config()).start()
    client = ecr_client(server)
    client.create_repository(repositoryName="tamper/web")
    request_id = client.put_image(repositoryName="tamper/web", imageManifest=manifest(1), imageTag="v1")["ResponseMetadata"]["RequestId"]
    assert server.stop() == 0

    raw = bytearray((data / "data.mdb").read_bytes())
    at = raw.find(request_id.encode())
    assert at > 0
    raw[at] ^= 0x01
    (data / "data.mdb").write_bytes(bytes(raw))

    result = regledger("serve", "--data", str(data), "--port", "0", "--config", str(data) + "-config.json")
    assert result.returncode == 1
    assert "refusing to serve" in result.stderr and "regledger audit verify" in result.stderr
    verify = regledger("audit", "verify", "--data", str(data))
    assert verify.returncode == 1


def test_activations_pending_at_shutdown_complete_after_restart(tmp_path):
    data = tmp_path / "data"
    server = Server(data, config=make_config(activationDelaySeconds=3600)).start()
    client = ecr_client(server)
    client.create_repository(repositoryName="restore/web")
    client.put_image(repositoryName="restore/web", imageManifest=manifest(1), imageTag="v1")
    client.update_image_storage_class(repositoryName="restore/web", imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE")
    status = client.update_image_storage_class(repositoryName="restore/web", imageId={"imageTag": "v1"},
                                               targetStorageClass="STANDARD")["imageStatus"]
    assert status == "ACTIVATING"
    assert server.stop() == 0  # an hour early: the activation is still pending

    again = Server(data, config=make_config(activationDelaySeconds=0.2)).start()
    try:
        client = ecr_client(again)
        deadline = time.time() + 15
        while time.time() < deadline:
            [detail] = client.describe_images(repositoryName="restore/web", filter={"imageStatus": "ANY"})["imageDetails"]
            if detail["imageStatus"] == "ACTIVE":
                break
            time.sleep(0.1)
        assert detail["imageStatus"] == "ACTIVE"
    finally:
        assert again.stop() == 0
    log = regledger("audit", "log", "--data", str(data), "--repository", "restore/web", "--json")
    activated = [json.loads(line) for line in log.stdout.splitlines() if '"image.status"' in line]
    assert activated[-1]["actor"] == "regledger" and activated[-1]["payload"]["imageStatus"] == "ACTIVE"


def test_a_second_writer_process_is_refused_and_readers_are_not(tmp_path):
    data = tmp_path / "data"
    server = Server(data, config=make_config()).start()
    try:
        ecr_client(server).create_repository(repositoryName="lock/web")
        second = regledger("serve", "--data", str(data), "--port", "0", "--config", str(data) + "-config.json")
        assert second.returncode == 2
        assert f"open for writing by another process (pid {server.proc.pid})" in second.stderr
        rebuild = regledger("rebuild", "--data", str(data))
        assert rebuild.returncode == 2 and "open for writing by another process" in rebuild.stderr
        assert regledger("audit", "verify", "--data", str(data)).returncode == 0   # readers take no lock
        ecr_client(server).put_image(repositoryName="lock/web", imageManifest=manifest(1), imageTag="v1")  # still the one writer
    finally:
        assert server.stop() == 0
    assert regledger("rebuild", "--data", str(data)).returncode == 0   # free once the server is gone
