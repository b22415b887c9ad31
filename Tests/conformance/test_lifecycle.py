"""Lifecycle policies carried out (SPEC §2.8): on the server's schedule and with `regledger
lifecycle run`, each expiry an event with actor `lifecycle` and the rule, and immutability wins:
a flagged image survives every policy and the refusal is in its tag's history."""
import json
import subprocess
import time

from conftest import BIN, TOKENS, Quay, Server, ecr_client, make_config, manifest

KEEP_NEWEST = json.dumps({"rules": [{"rulePriority": 5, "description": "keep only the newest image",
                                     "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
                                     "action": {"type": "expire"}}]})


def regledger(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)


def fill(server, repository):
    """Four pushes (t0 oldest), t0 flagged by hand through Quay."""
    ecr = ecr_client(server)
    ecr.create_repository(repositoryName=repository)
    for i in range(4):
        ecr.put_image(repositoryName=repository, imageManifest=manifest(6600 + i), imageTag=f"t{i}")
        time.sleep(0.01)
    flagged = Quay(server, TOKENS["admin"]["token"]).put(f"/repository/{repository}/tag/t0", json={"immutable": True})
    assert flagged.status_code in (200, 201), flagged.text
    return ecr


def tags(ecr, repository):
    return sorted(i["imageTag"] for i in ecr.list_images(repositoryName=repository, maxResults=100)["imageIds"] if "imageTag" in i)


def test_the_server_runs_policies_on_its_schedule_and_a_flagged_image_survives(tmp_path):
    server = Server(tmp_path / "data", config=make_config(lifecycleIntervalSeconds=1)).start()
    try:
        ecr = fill(server, "life/web")
        ecr.put_lifecycle_policy(repositoryName="life/web", lifecyclePolicyText=KEEP_NEWEST)
        deadline = time.monotonic() + 10
        while tags(ecr, "life/web") != ["t0", "t3"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert tags(ecr, "life/web") == ["t0", "t3"]
    finally:
        assert server.stop() == 0, server.stderr()
    log = [json.loads(line) for line in regledger("audit", "log", "--data", server.data, "--repository", "life/web", "--json").stdout.splitlines()]
    expired = [e for e in log if e["type"] == "image.expired"]
    assert len(expired) == 2 and all(e["actor"] == "lifecycle" and e["payload"]["rulePriority"] == 5 for e in expired)
    history = [json.loads(line) for line in regledger("audit", "history", "--data", server.data, "--repository", "life/web",
                                                        "--tag", "t0", "--json").stdout.splitlines()]
    denied = [h for h in history if h["type"] == "denied"]
    assert denied and "lifecycle rule 5" in denied[-1]["reason"] and "manual" in denied[-1]["reason"]
    t1 = [json.loads(line) for line in regledger("audit", "history", "--data", server.data, "--repository", "life/web",
                                                   "--tag", "t1", "--json").stdout.splitlines()]
    assert t1[-1]["type"] == "image.expired" and t1[-1]["payload"]["rulePriority"] == 5


def test_lifecycle_run_does_what_the_dry_run_said_and_refuses_a_store_a_server_holds(tmp_path):
    server = Server(tmp_path / "data", config=make_config(lifecycleIntervalSeconds=0)).start()
    try:
        ecr = fill(server, "life/cli")
        ecr.put_lifecycle_policy(repositoryName="life/cli", lifecyclePolicyText=KEEP_NEWEST)
        held = regledger("lifecycle", "run", "--data", server.data)
        assert held.returncode == 2 and str(server.proc.pid) in held.stderr, held.stderr
    finally:
        assert server.stop() == 0, server.stderr()
    dry = regledger("lifecycle", "run", "--data", server.data, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    planned = [json.loads(line) for line in dry.stdout.splitlines()]
    assert [(p["imageTags"], p.get("action"), p.get("protectedBy")) for p in planned] == [
        (["t0"], None, {"tag": "t0", "cause": "manual"}), (["t1"], {"type": "EXPIRE"}, None), (["t2"], {"type": "EXPIRE"}, None)]
    done = regledger("lifecycle", "run", "--data", server.data, "--repository", "life/cli", "--json")
    assert done.returncode == 0, done.stderr
    assert [{k: v for k, v in json.loads(line).items() if k != "dryRun"} for line in done.stdout.splitlines()] == \
           [{k: v for k, v in p.items() if k != "dryRun"} for p in planned]
    text = regledger("lifecycle", "run", "--data", server.data)
    assert text.returncode == 0 and "kept life/cli" in text.stdout and "protected (tag t0, manual)" in text.stdout, text.stdout
    assert regledger("lifecycle", "run", "--data", server.data, "--repository", "life/none").returncode == 2
    assert regledger("audit", "verify", "--data", server.data).returncode == 0
