#!/usr/bin/env python3
"""HTTP ListImages paging: `regledger serve` over loopback vs moto's ECR server, in one run.

    python3 Benchmarks/http_paging.py [--quick] [--seconds 10] [--connections 4]

Builds (release) `regledger` and the `http-paging` load client, builds or reuses the cached
paging fixtures (10k and 1M entries; --quick: 10k only), serves each with `regledger serve`
(SigV4 on, log level warning), and walks ListImages with maxResults 100 and 1000 over keep-alive
connections for --seconds each. Then seeds moto's server with the same 10k-entry repository and
runs the same client against it. Prints pages/s, entries/s, p50/p99 per run, the ratios, and
the server's resident memory outside LMDB's mapped file (RssAnon). moto ignores maxResults and
answers every ListImages with all entries in one page.
"""
import argparse
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
KEY, SECRET = "AKIABENCHMARK0000000", "benchmark-secret-0000000000000000000000"


def build():
    subprocess.run(["swift", "build", "-c", "release", "--product", "regledger"], cwd=ROOT, check=True)
    subprocess.run(["swift", "build", "-c", "release", "--product", "http-paging"], cwd=HERE, check=True)
    bin_root = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    bin_bench = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=HERE, check=True,
                               capture_output=True, text=True).stdout.strip()
    return pathlib.Path(bin_root) / "regledger", pathlib.Path(bin_bench) / "http-paging"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    fields = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS", "RssAnon", "RssFile")):
            name, value = line.split(":")
            fields[name] = int(value.split()[0])
    return fields


def load(client, endpoint, max_results, seconds, connections):
    out = subprocess.run([str(client), "--endpoint", endpoint, "--access-key", KEY, "--secret", SECRET,
                          "--max-results", str(max_results), "--seconds", str(seconds), "--connections", str(connections)],
                         check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    if result["errors"]:
        raise SystemExit(f"errors against {endpoint}: {result['errors']}")
    return result


def serve_regledger(regledger, data, config):
    proc = subprocess.Popen([str(regledger), "serve", "--data", data, "--port", "0", "--config", config],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, "LOG_LEVEL": "warning"})
    for line in proc.stdout:
        if " at http://127.0.0.1:" in line:
            return proc, int(line.split("http://127.0.0.1:")[1].split()[0])
    raise SystemExit("regledger serve did not start")


def moto_endpoint(entries):
    import boto3
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    client = boto3.client("ecr", region_name="us-east-1", endpoint_url=url, aws_access_key_id=KEY, aws_secret_access_key=SECRET)
    for _ in range(100):
        try:
            client.describe_repositories()
            break
        except Exception:
            time.sleep(0.2)
    client.create_repository(repositoryName="bench/paging")

    def push(i):
        digest = "sha256:" + format(i, "064x")
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest, "size": 100},
                               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": 1000}]},
                              separators=(",", ":"))
        args = {"repositoryName": "bench/paging", "imageManifest": manifest}
        if i % 10 != 9:
            args["imageTag"] = f"t{i}"
        client.put_image(**args)

    started = time.time()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(push, range(entries)))
    print(f"seeded moto with {entries} images in {time.time() - started:.0f} s", file=sys.stderr)
    return proc, url


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10k entries only, 3 s per run")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    seconds = 3 if args.quick else args.seconds
    sizes = [10_000] if args.quick else [10_000, 1_000_000]

    regledger, client = build()
    config = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"registryId": "000000000000", "region": "us-east-1",
               "credentials": [{"accessKeyId": KEY, "secretAccessKey": SECRET, "principal": "bench"}]}, config)
    config.close()

    rows = []
    for entries in sizes:
        data = subprocess.run([str(client), "--prepare-fixture", str(entries)], check=True, capture_output=True, text=True).stdout.strip()
        proc, port = serve_regledger(regledger, data, config.name)
        try:
            for max_results in (100, 1000):
                result = load(client, f"http://127.0.0.1:{port}", max_results, seconds, args.connections)
                result["memory"] = rss_kib(proc.pid)
                rows.append(("regledger", entries, result))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)

    proc, url = moto_endpoint(10_000)
    try:
        rows.append(("moto", 10_000, load(client, url, 100, seconds, args.connections)))
    finally:
        proc.terminate()
        proc.wait(30)

    print("| server | entries | maxResults | pages/s | entries/s | p50 ms | p99 ms | server RssAnon MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for server, entries, r in rows:
        memory = f"{r['memory']['RssAnon'] / 1024:.0f}" if "memory" in r else "—"
        print(f"| {server} | {entries:,} | {r['maxResults']} | {r['pagesPerSecond']:,.0f} | {r['entriesPerSecond']:,.0f} | "
              f"{r['p50ms']:.2f} | {r['p99ms']:.2f} | {memory} |")
    moto = next(r for s, _, r in rows if s == "moto")
    for server, entries, r in rows:
        if server == "regledger" and r["maxResults"] == 100:
            print(f"ratio pages/s regledger ({entries:,} entries, maxResults 100) / moto (10,000 entries): "
                  f"{r['pagesPerSecond'] / moto['pagesPerSecond']:,.0f}x")
    print(json.dumps([{"server": s, "entries": e, **r} for s, e, r in rows]), file=sys.stderr)


if __name__ == "__main__":
    main()
