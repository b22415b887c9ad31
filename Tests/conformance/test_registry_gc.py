"""Blob garbage collection (`regledger gc`, the server's schedule) and the blob store's
durability: `kill -9` during pushes loses nothing acknowledged and leaves nothing gc cannot
reclaim (SPEC §8, §6)."""
import json
import os
import signal
import subprocess
import threading
import time
import uuid

import pytest
import requests

from conftest import BIN, Server, make_config
from registry_client import Registry, digest


def blob_files(data):
    root = os.path.join(data, "blobs", "sha256")
    return {"sha256:" + name for shard in os.listdir(root) for name in os.listdir(os.path.join(root, shard))}


def gc(data, *args):
    return subprocess.run([BIN, "gc", "--data", data, *args], capture_output=True, text=True, timeout=120)


def plant_orphan(data, content, age_seconds=0):
    """A blob file no event links: what a push killed between storing a blob and linking it leaves."""
    d = digest(content)
    shard = os.path.join(data, "blobs", "sha256", d[7:9])
    os.makedirs(shard, exist_ok=True)
    path = os.path.join(shard, d[7:])
    with open(path, "wb") as f:
        f.write(content)
    if age_seconds:
        then = time.time() - age_seconds
        os.utime(path, (then, then))
    return d


def test_gc_unlinks_unreferenced_blobs_and_removes_their_files(tmp_path):
    server = Server(tmp_path / "data", config=make_config(gcIntervalSeconds=0)).start()
    data = server.data
    try:
        reg = Registry(server)
        kept = reg.image_manifest("gc/a", 1)
        assert reg.put_manifest("gc/a", "v1", kept).status_code == 201
        gone = reg.image_manifest("gc/a", 2, layers=1)
        assert reg.put_manifest("gc/a", "v2", gone).status_code == 201
        assert reg.request("DELETE", "/v2/gc/a/manifests/v2").status_code == 202
        stray = reg.push_blob("gc/a", b"uploaded, never referenced")
        shared = json.loads(kept)["layers"][0]["digest"]
        assert reg.request("POST", "/v2/gc/b/blobs/uploads/", params={"mount": shared, "from": "gc/a"}).status_code == 201
        # Running: the CLI refuses, naming the server's pid.
        busy = gc(data)
        assert busy.returncode == 2 and str(server.proc.pid) in busy.stderr
    finally:
        assert server.stop() == 0
    orphan = plant_orphan(data, b"left by a killed push")
    gone_blobs = {json.loads(gone)["config"]["digest"], json.loads(gone)["layers"][0]["digest"]}
    files_before = blob_files(data)

    dry = gc(data, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    lines = [json.loads(line) for line in dry.stdout.splitlines()]
    unlinked = {(l["repositoryName"], l["blobDigest"]) for l in lines if l.get("action") == "unlinked"}
    removed = {l["blobDigest"] for l in lines if l.get("action") == "removed"}
    assert unlinked == {("gc/a", d) for d in gone_blobs | {stray}} | {("gc/b", shared)}
    assert removed == gone_blobs | {stray, orphan}
    assert blob_files(data) == files_before  # a dry run changes nothing
    assert lines[-1]["dryRun"] is True and lines[-1]["removed"] == len(removed)

    real = gc(data, "--json")
    assert real.returncode == 0, real.stderr
    assert [json.loads(line) for line in real.stdout.splitlines()][:-1] == [dict(l, dryRun=False) for l in lines[:-1]]
    assert blob_files(data) == files_before - removed
    log = subprocess.run([BIN, "audit", "log", "--data", data, "--json"], capture_output=True, text=True, check=True).stdout
    events = [json.loads(line) for line in log.splitlines() if '"blob.unlinked"' in line]
    assert {(e["repositoryName"], e["payload"]["blobDigest"]) for e in events} == unlinked
    assert {(e["actor"], e["origin"]) for e in events} == {("gc", "cli")}
    assert subprocess.run([BIN, "audit", "verify", "--data", data], capture_output=True).returncode == 0
    # Nothing referenced was touched: the image still pulls whole.
    server = Server(data, config=make_config()).start()
    try:
        reg = Registry(server)
        assert reg.request("GET", "/v2/gc/a/manifests/v1").content == kept
        for blob in [json.loads(kept)["config"]["digest"]] + [l["digest"] for l in json.loads(kept)["layers"]]:
            assert reg.request("GET", f"/v2/gc/a/blobs/{blob}").status_code == 200
        assert reg.request("HEAD", f"/v2/gc/a/blobs/{stray}").status_code == 404
    finally:
        assert server.stop() == 0
    again = gc(data)
    assert again.returncode == 0 and "reclaimed 0 bytes" in again.stdout


def test_the_server_collects_on_its_schedule(tmp_path):
    data = tmp_path / "data"
    server = Server(data, config=make_config(gcIntervalSeconds=1)).start()
    try:
        Registry(server).push_blob("gc/sched", b"linked and recent")
        old = plant_orphan(server.data, b"an old orphan", age_seconds=7200)
        recent = plant_orphan(server.data, b"a recent orphan")
        deadline = time.time() + 20
        while old in blob_files(server.data) and time.time() < deadline:
            time.sleep(0.2)
        files = blob_files(server.data)
        assert old not in files
        assert recent in files and digest(b"linked and recent") in files  # within the grace period
    finally:
        assert server.stop() == 0


def test_kill_9_during_pushes_loses_nothing_acknowledged_and_gc_reclaims_the_rest(tmp_path):
    data = tmp_path / "data"
    server = Server(data, config=make_config(gcIntervalSeconds=0)).start()
    acknowledged_blobs, acknowledged_manifests = [], []
    stop = threading.Event()

    def pusher(worker):
        reg = Registry(server)
        n = 0
        while not stop.is_set():
            n += 1
            name = f"kill/{worker}"
            try:
                body = reg.image_manifest(name, worker * 100_000 + n, layers=2)
                acknowledged_blobs.extend((name, d["digest"]) for d in [json.loads(body)["config"]] + json.loads(body)["layers"])
                if reg.put_manifest(name, f"t{n}", body).status_code == 201:
                    acknowledged_manifests.append((name, f"t{n}", digest(body)))
                # A chunked upload left hanging when the server dies.
                reg.request("PATCH", reg.request("POST", f"/v2/{name}/blobs/uploads/").headers["Location"], data=b"partial" * 1000)
            except (requests.ConnectionError, AssertionError, KeyError):
                return

    threads = [threading.Thread(target=pusher, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(3)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(acknowledged_manifests) > 5
    assert os.listdir(os.path.join(server.data, "blobs", "uploads")) != []  # the killed sessions' files

    server = Server(data, config=make_config(gcIntervalSeconds=0)).start()
    try:
        reg = Registry(server)
        assert os.listdir(os.path.join(server.data, "blobs", "uploads")) == []  # a restart fails them cleanly
        for name, d in acknowledged_blobs:
            assert reg.request("HEAD", f"/v2/{name}/blobs/{d}").status_code == 200, (name, d)
        for name, tag, d in acknowledged_manifests:
            r = reg.request("GET", f"/v2/{name}/manifests/{tag}")
            assert r.status_code == 200 and r.headers["Docker-Content-Digest"] == d
    finally:
        assert server.stop() == 0
    assert gc(data).returncode == 0
    # Every file left is a blob some repository holds, and every blob held has its file.
    links = set()
    server = Server(data, config=make_config(gcIntervalSeconds=0)).start()
    try:
        reg = Registry(server)
        for name in reg.request("GET", "/v2/_catalog").json()["repositories"]:
            for tag in reg.request("GET", f"/v2/{name}/tags/list").json()["tags"]:
                body = reg.request("GET", f"/v2/{name}/manifests/{tag}").json()
                links |= {body["config"]["digest"]} | {l["digest"] for l in body["layers"]}
    finally:
        assert server.stop() == 0
    assert blob_files(str(data)) == links
