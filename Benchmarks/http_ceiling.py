#!/usr/bin/env python3
"""HTTP at the server's own ceiling (SPEC §5, issue 18): ECR ListImages (maxResults 100, signed)
and OCI tags/list (n=100) against the same server's GET /healthz, with the native `http-paging`
client on keep-alive connections, modes alternating round by round over the 1M-entry paging
fixture; and ECR ListImages against moto's server (10k entries: moto cannot hold a million).

Prints one JSON line per goal (the `make bench-check` format) on stdout; rounds on stderr.
REGLEDGER_BIN and HTTP_PAGING_BIN name the release binaries (bench-check passes them).
REGLEDGER_HTTP_QUICK=1: the 10k fixture, one short round (a smoke run).
"""
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_paging import KEY, SECRET, load, moto_endpoint, serve_regledger  # noqa: E402

QUICK = os.environ.get("REGLEDGER_HTTP_QUICK") == "1"
ROUNDS, SECONDS, CONNECTIONS = (1, 2, 8) if QUICK else (3, 5, 16)


def say(line):
    print("http_ceiling: " + line, file=sys.stderr, flush=True)


def report(goal, value, target, met):
    print(json.dumps({"goal": goal, "value": round(value, 2), "target": target, "met": met}), flush=True)


def stop(proc, seconds):
    """SIGTERM, then SIGKILL if the process is still there after `seconds` (moto, busy writing
    10,000-entry answers to connections the client left, can outlast a short wait)."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run(client, url, mode):
    out = subprocess.run([client, "--endpoint", url, "--access-key", KEY, "--secret", SECRET, "--mode", mode,
                          "--max-results", "100", "--seconds", str(SECONDS), "--connections", str(CONNECTIONS)],
                         check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    if result["errors"]:
        raise SystemExit(f"errors in {mode}: {result['errors']}")
    return result


def main():
    regledger, client = os.environ["REGLEDGER_BIN"], os.environ["HTTP_PAGING_BIN"]
    entries = 10_000 if QUICK else 1_000_000
    data = subprocess.run([client, "--prepare-fixture", str(entries)], check=True, capture_output=True, text=True).stdout.strip()
    config = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"registryId": "000000000000", "region": "us-east-1",
               "credentials": [{"accessKeyId": KEY, "secretAccessKey": SECRET, "principal": "bench"}]}, config)
    config.close()
    proc, port = serve_regledger(regledger, data, config.name)
    url = f"http://127.0.0.1:{port}"
    rates = {"healthz": [], "ecr": [], "oci": []}
    latency = {}
    try:
        for mode in rates:  # warm-up: connections, caches, the map's pages
            run(client, url, mode)
        for r in range(ROUNDS):
            for mode in rates:
                result = run(client, url, mode)
                rates[mode].append(result["pagesPerSecond"])
                latency[mode] = (result["p50ms"], result["p99ms"])
            say(f"round {r + 1}: " + ", ".join(f"{m} {v[-1]:,.0f}/s" for m, v in rates.items()))
    finally:
        stop(proc, 60)
        os.unlink(config.name)
    m = {mode: statistics.median(v) for mode, v in rates.items()}
    say(f"medians over {entries:,} entries, {CONNECTIONS} connections: " + ", ".join(f"{k} {v:,.0f}/s" for k, v in m.items())
        + "; last round p50/p99 ms: " + ", ".join(f"{k} {a:.2f}/{b:.2f}" for k, (a, b) in latency.items()))
    ecr_pct, oci_pct = m["ecr"] / m["healthz"] * 100, m["oci"] / m["healthz"] * 100
    report("http_ecr_vs_healthz_pct", ecr_pct, ">=50", ecr_pct >= 50)
    report("http_oci_vs_healthz_pct", oci_pct, ">=70", oci_pct >= 70)
    try:
        import moto  # noqa: F401
    except ImportError:
        say("http_ecr_vs_moto_x: moto is not installed (make bench-http installs it)")
        return
    proc, moto_url = moto_endpoint(10_000)
    try:
        moto_rate = load(client, moto_url, 100, SECONDS, 4)["pagesPerSecond"]
    finally:
        stop(proc, 30)
    say(f"moto (10,000 entries, answers every ListImages with all of them): {moto_rate:,.1f} pages/s")
    report("http_ecr_vs_moto_x", m["ecr"] / moto_rate, ">=50", m["ecr"] / moto_rate >= 50)


if __name__ == "__main__":
    main()
