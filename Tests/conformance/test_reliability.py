"""Durability and load: SIGKILL during sustained group-committed writes loses nothing
acknowledged; a mixed load of writers and pagers runs without errors or lost writes, with
flat memory."""
import json
import pathlib
import random
import signal
import subprocess
import threading
import time

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import BIN, Server, ecr_client, make_config, manifest


def regledger(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)


def listed_tags(client, repository):
    tags = set()
    for page in client.get_paginator("list_images").paginate(repositoryName=repository, filter={"tagStatus": "TAGGED"}):
        tags |= {i["imageTag"] for i in page["imageIds"]}
    return tags


def test_sigkill_during_writes_loses_nothing_acknowledged(tmp_path):
    data = tmp_path / "data"
    acknowledged_file = tmp_path / "acknowledged.txt"
    rng = random.Random(7)
    acknowledged = []
    counter = iter(range(10_000_000))
    lock = threading.Lock()
    rounds = 5
    for round_number in range(rounds):
        server = Server(data, config=make_config()).start()
        client = ecr_client(server)
        if round_number == 0:
            client.create_repository(repositoryName="crash/web")
        stop = threading.Event()

        def writer():
            while not stop.is_set():
                with lock:
                    n = next(counter)
                tag = f"c{n}"
                try:
                    client.put_image(repositoryName="crash/web", imageManifest=manifest(n), imageTag=tag)
                except Exception:
                    return  # the server died under us: this one was never acknowledged
                with lock:
                    acknowledged.append(tag)
                    with open(acknowledged_file, "a") as f:  # recorded only after the answer came back
                        f.write(tag + "\n")

        threads = [threading.Thread(target=writer) for _ in range(16)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.3, 1.2))
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(30)
        stop.set()
        for t in threads:
            t.join(30)
        server.stderr_file.close()

        # The store verifies (chain, manifests, projections equal a replay) with the server dead.
        verify = regledger("audit", "verify", "--data", str(data))
        assert verify.returncode == 0, verify.stdout + verify.stderr

    assert len(acknowledged) > 100
    again = Server(data, config=make_config()).start()
    try:
        client = ecr_client(again)
        present = listed_tags(client, "crash/web")
        recorded = set(acknowledged_file.read_text().split())
        assert recorded == set(acknowledged)
        assert recorded <= present, f"lost {len(recorded - present)} acknowledged pushes"
        client.put_image(repositoryName="crash/web", imageManifest=manifest(99_999_999), imageTag="after-crashes")
        assert "after-crashes" in listed_tags(client, "crash/web")
    finally:
        assert again.stop() == 0
    rebuilt = regledger("rebuild", "--data", str(data))
    assert rebuilt.returncode == 0, rebuilt.stderr


def rss_anon_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon"):
            return int(line.split()[1])
    return 0


def test_mixed_load_of_writers_and_pagers(tmp_path):
    server = Server(tmp_path / "data", config=make_config()).start()
    try:
        client = ecr_client(server)
        client.create_repository(repositoryName="load/mixed")
        for i in range(300):
            client.put_image(repositoryName="load/mixed", imageManifest=manifest(i), imageTag=f"seed{i}")
        errors, written, pages = [], [], [0]
        write_latency, page_latency = [], []
        lock = threading.Lock()
        stop = threading.Event()
        counter = iter(range(1_000, 10_000_000))

        def writer():
            while not stop.is_set():
                with lock:
                    n = next(counter)
                try:
                    started = time.perf_counter()
                    client.put_image(repositoryName="load/mixed", imageManifest=manifest(n), imageTag=f"w{n}")
                    with lock:
                        written.append(f"w{n}")
                        write_latency.append(time.perf_counter() - started)
                except Exception as e:  # noqa: BLE001 - any failure is a finding
                    errors.append(repr(e))

        def pager():
            while not stop.is_set():
                try:
                    token = None
                    while not stop.is_set():
                        args = {"repositoryName": "load/mixed", "maxResults": 100} | ({"nextToken": token} if token else {})
                        started = time.perf_counter()
                        page = client.list_images(**args)
                        with lock:
                            pages[0] += 1
                            page_latency.append(time.perf_counter() - started)
                        token = page.get("nextToken")
                        if not token:
                            break
                except Exception as e:  # noqa: BLE001
                    errors.append(repr(e))

        threads = [threading.Thread(target=writer) for _ in range(12)] + [threading.Thread(target=pager) for _ in range(12)]
        memory_start = None
        for t in threads:
            t.start()
        time.sleep(1.0)
        memory_start = rss_anon_kib(server.proc.pid)
        time.sleep(5.0)
        memory_end = rss_anon_kib(server.proc.pid)
        stop.set()
        for t in threads:
            t.join(60)

        assert errors == []
        assert len(written) > 200 and pages[0] > 200
        assert set(written) <= listed_tags(client, "load/mixed")
        assert memory_end < memory_start + 32 * 1024, (memory_start, memory_end)  # flat: no growth with requests served
        metrics = requests.get(server.url + "/metrics", auth=(make_config()["credentials"][0]["accessKeyId"],
                                                              make_config()["credentials"][0]["secretAccessKey"])).text
        assert 'status="500"' not in metrics
        def p99(values):
            return round(sorted(values)[int(len(values) * 0.99)] * 1000, 2)
        print(json.dumps({"seconds": 6, "writes": len(written), "pages": pages[0], "write_p99_ms": p99(write_latency),
                          "page_p99_ms": p99(page_latency), "rss_anon_kib": [memory_start, memory_end]}))
    finally:
        assert server.stop() == 0
    assert "MDB_READERS_FULL" not in server.stderr() and "readers" not in server.stderr().lower()
