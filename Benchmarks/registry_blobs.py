"""Registry API blob throughput (SPEC §5, §8): push and pull of a 256 MiB blob over loopback with
curl, against the disk's sequential write rate (`dd … conv=fdatasync`, same disk) and Debian's
`docker-registry` (distribution 2.8) in the same run, ours and the peer alternating.

Prints one JSON line per goal (the `make bench-check` format) on stdout and the rounds on stderr.
REGLEDGER_BIN names the (release) binary; the blob, both stores and dd's file live under TMPDIR.
"""
import hashlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

SIZE = int(os.environ.get("REGLEDGER_BLOB_MB", "256")) << 20
ROUNDS = int(os.environ.get("REGLEDGER_BLOB_ROUNDS", "3"))
KEY, SECRET = "AKIABENCHBLOBS000000", "bench-blob-secret"


def say(line):
    print("registry_blobs: " + line, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, auth=None):
    for _ in range(300):
        try:
            subprocess.run(["curl", "-sf", "-o", "/dev/null"] + (["-u", auth] if auth else []) + [url], check=True, timeout=2)
            return
        except subprocess.CalledProcessError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def report(goal, value, target, met):
    print(json.dumps({"goal": goal, "value": round(value, 2), "target": target, "met": met}), flush=True)


def dd_rate(src, dest):
    out = subprocess.run(["dd", f"if={src}", f"of={dest}", "bs=4M", "conv=fdatasync"], capture_output=True, text=True, check=True).stderr
    os.unlink(dest)
    seconds = float(re.search(r"copied, ([0-9.]+) s", out).group(1))
    return SIZE / seconds


def curl(args):
    """Runs curl; returns (HTTP status, headers text, seconds)."""
    out = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "-w", "%{http_code} %{time_total}"] + args,
                         capture_output=True, text=True, check=True).stdout
    headers, _, last = out.rpartition("\n")
    status, seconds = last.split()
    return int(status), headers, float(seconds)


def push(base, auth, name, blob, digest):
    """POST a session, PUT the whole blob with ?digest= (what both registries take); bytes/s of the PUT."""
    status, headers, _ = curl((["-u", auth] if auth else []) + ["-X", "POST", f"{base}/v2/{name}/blobs/uploads/"])
    assert status == 202, status
    location = re.search(r"(?im)^location: (\S+)", headers).group(1)
    location = location if location.startswith("http") else base + location
    separator = "&" if "?" in location else "?"
    status, _, seconds = curl((["-u", auth] if auth else []) + ["-X", "PUT", "-H", "Content-Type: application/octet-stream",
                                                              "-T", blob, f"{location}{separator}digest={digest}"])
    assert status == 201, status
    return SIZE / seconds


def pull(base, auth, name, digest):
    status, _, seconds = curl((["-u", auth] if auth else []) + [f"{base}/v2/{name}/blobs/{digest}"])
    assert status == 200, status
    return SIZE / seconds


def main():
    binary = os.environ.get("REGLEDGER_BIN", "regledger")
    work = tempfile.mkdtemp(prefix="regledger-blobs-")
    procs = []
    try:
        blob = os.path.join(work, "blob")
        with open(blob, "wb") as f:
            for _ in range(SIZE >> 20):
                f.write(os.urandom(1 << 20))
        h = hashlib.sha256()
        with open(blob, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
        digest = "sha256:" + h.hexdigest()

        ours_port, theirs_port = free_port(), free_port()
        config = os.path.join(work, "config.json")
        with open(config, "w") as f:
            json.dump({"registryId": "123456789012", "region": "us-east-1",
                       "credentials": [{"accessKeyId": KEY, "secretAccessKey": SECRET, "principal": "bench"}],
                       "tokens": [{"token": "bench-token-000000000000", "user": "bench", "scopes": ["repo:read"]}]}, f)
        procs.append(subprocess.Popen([binary, "serve", "--data", os.path.join(work, "ours"), "--port", str(ours_port), "--config", config],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, LOG_LEVEL="warning")))
        registry_config = os.path.join(work, "distribution.yml")
        with open(registry_config, "w") as f:
            f.write(f"version: 0.1\nlog: {{level: error}}\nstorage:\n  filesystem: {{rootdirectory: {work}/theirs}}\n"
                    f"http: {{addr: \"127.0.0.1:{theirs_port}\"}}\n")
        procs.append(subprocess.Popen(["docker-registry", "serve", registry_config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ours, theirs = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{theirs_port}"
        wait_for(ours + "/v2/", f"{KEY}:{SECRET}")
        wait_for(theirs + "/v2/")

        rates = {"dd": [], "ours push": [], "theirs push": [], "ours pull": [], "theirs pull": []}
        for r in range(ROUNDS):
            rates["dd"].append(dd_rate(blob, os.path.join(work, "dd.out")))
            rates["ours push"].append(push(ours, f"{KEY}:{SECRET}", f"bench/r{r}", blob, digest))
            rates["theirs push"].append(push(theirs, None, f"bench/r{r}", blob, digest))
            pull(ours, f"{KEY}:{SECRET}", f"bench/r{r}", digest)  # into the page cache
            pull(theirs, None, f"bench/r{r}", digest)
            rates["ours pull"].append(pull(ours, f"{KEY}:{SECRET}", f"bench/r{r}", digest))
            rates["theirs pull"].append(pull(theirs, None, f"bench/r{r}", digest))
            say("round %d: " % (r + 1) + ", ".join(f"{k} {v[-1] / 1e6:.0f} MB/s" for k, v in rates.items()))
        m = {k: statistics.median(v) for k, v in rates.items()}
        say("medians: " + ", ".join(f"{k} {v / 1e6:.0f} MB/s" for k, v in m.items()))
        push_pct = m["ours push"] / m["dd"] * 100
        report("registry_push_vs_dd_pct", push_pct, ">=50", push_pct >= 50)
        report("registry_pull_gb_s", m["ours pull"] / 1e9, ">=1", m["ours pull"] >= 1e9)
        versus = min(m["ours push"] / m["theirs push"], m["ours pull"] / m["theirs pull"])
        say(f"vs distribution: push {m['ours push'] / m['theirs push']:.2f}x, pull {m['ours pull'] / m['theirs pull']:.2f}x")
        report("registry_vs_distribution_x", versus, ">=1", versus >= 1)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
