"""The log is the only durable truth (SPEC §3): derived state lost or damaged while the server
is down is rebuilt from the log at the next start, which says so, and nothing is lost."""
import os
import pathlib
import subprocess

import pytest

from conftest import BIN, Server, ecr_client, make_config, manifest


def listed(client, repository):
    images = set()
    for page in client.get_paginator("list_images").paginate(repositoryName=repository, filter={"tagStatus": "ANY"}):
        images |= {(i.get("imageTag"), i["imageDigest"]) for i in page["imageIds"]}
    return images


def damage(state, how):
    data = state / "data.mdb"
    if how == "deleted":
        for f in state.iterdir():
            f.unlink()
        state.rmdir()
    elif how == "truncated":
        os.truncate(data, data.stat().st_size // 3)
    else:  # recorded while another boot of the machine held unflushed commits
        (state / "unflushed").write_text("11111111-2222-3333-4444-555555555555\n")


@pytest.mark.parametrize("how", ["deleted", "truncated", "another boot"])
def test_derived_state_lost_while_the_server_is_down_is_rebuilt_at_start(tmp_path, how):
    data = tmp_path / "data"
    server = Server(data, config=make_config()).start()
    client = ecr_client(server)
    client.create_repository(repositoryName="lf/web")
    for n in range(60):
        client.put_image(repositoryName="lf/web", imageManifest=manifest(n), imageTag=f"v{n}")
    before = listed(client, "lf/web")
    assert server.stop() == 0
    damage(data / "state", how)

    again = Server(data, config=make_config()).start()
    try:
        assert "rebuilding the derived state from the log (121 events)" in again.stderr()
        assert listed(ecr_client(again), "lf/web") == before
        ecr_client(again).put_image(repositoryName="lf/web", imageManifest=manifest(999), imageTag="after")
    finally:
        assert again.stop() == 0
    verify = subprocess.run([BIN, "audit", "verify", "--data", str(data)], capture_output=True, text=True)
    assert verify.returncode == 0 and verify.stdout.startswith("OK 123 events"), verify.stdout + verify.stderr
    assert not (data / "state" / "unflushed").exists()
