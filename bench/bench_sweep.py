"""Benchmark: `sweep` of an organisation with 50 ms latency on every AWS request, and how it grows.

The emulated organisation runs in its own process (`python -m preflight.sandbox --scenario FILE
--latency-ms 50`), as a remote AWS would. Its accounts are made in that process straight into the
emulator's state (preflight/sandbox/organization.py: a second or two for 200), so what is timed is
the sweep: listing the organisation, one AssumeRole and one check per account and region, at the
sweep's default concurrency. The requests are counted by the emulator (every request it received,
retries included), not by the client.

Printed: the 50-account organisation of the `organization` scenario (varied states and usage, one
account denying AssumeRole), then generated organisations of 10, 50 and 200 accounts: wall time,
requests, and both per target. Not a timed test. Run: `make bench` or
`.venv/bin/python bench/bench_sweep.py [--sizes 10,50,200] [--latency-ms 50]`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LATENCY_MS = 50
SIZES = (10, 50, 200)


def generated_scenario(accounts: int) -> str:
    """An organisation of `accounts` accounts (the management account and accounts-1 members): most
    with room, some busy, some not fitting, a few suspended, one denying AssumeRole."""
    members = accounts - 1
    busy, full, suspended, denied = members // 8, members // 10, members // 20, 1
    dev = members - busy - full - suspended - denied
    groups = [
        {"name": "dev", "count": dev},
        {"name": "busy", "count": busy, "reservedConcurrency": 300},
        {"name": "full", "count": full, "reservedConcurrency": 450},
        {"name": "frozen", "count": suspended, "state": "SUSPENDED"},
        {"name": "locked", "count": denied, "denyAccess": True},
    ]
    body = {
        "name": f"org-{accounts}",
        "organization": {"accounts": [g for g in groups if g["count"] > 0]},
    }
    return json.dumps(body)  # JSON is YAML


def start_sandbox(scenario: str, latency_ms: int) -> tuple[subprocess.Popen[str], str, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "preflight.sandbox", "--scenario", scenario, "--latency-ms", str(latency_ms)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("export AWS_ENDPOINT_URL="):
            return proc, line.split("=", 1)[1].strip(), time.perf_counter() - started
    raise RuntimeError("the sandbox did not start")


def _control(endpoint: str, path: str, method: str = "GET") -> dict:
    request = urllib.request.Request(f"{endpoint}/_sandbox/{path}", method=method)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def run(scenario: str, latency_ms: int) -> dict:
    from preflight.account.sources import LiveAccount
    from preflight.commands.sweep import DEFAULT_ROLE, DEFAULT_WORKERS, sweep
    from preflight.gate import GatePolicy
    from preflight.manifest import load_manifest

    proc, endpoint, setup_s = start_sandbox(scenario, latency_ms)
    try:
        manifest = load_manifest(str(ROOT / "manifests" / "tap-pipeline.yaml"), "prod")
        base = LiveAccount(endpoint_url=endpoint, credentials=("testing", "testing"))
        _control(endpoint, "calls/reset", "POST")
        start = time.perf_counter()
        result, _ = sweep(manifest, base, GatePolicy(), regions=("us-east-1",), role_name=DEFAULT_ROLE)
        wall = time.perf_counter() - start
        calls = _control(endpoint, "calls")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # still joining request threads: the figures are taken
            proc.kill()
            proc.wait()
    return {
        "targets": len(result.targets),
        "skipped": len(result.skipped),
        "counts": result.counts(),
        "wall_s": wall,
        "requests": calls["total"],
        "by_operation": calls["counts"],
        "setup_s": setup_s,
        "workers": DEFAULT_WORKERS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="sizes, comma-separated")
    parser.add_argument("--latency-ms", type=int, default=LATENCY_MS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    print(f"sweep benchmark: {args.latency_ms} ms latency per request, region us-east-1")
    headline = run("organization", args.latency_ms)
    counts = headline["counts"]
    print(
        f"organization scenario (50 accounts, {headline['targets']} active, {headline['skipped']} skipped): "
        f"wall {headline['wall_s']:.2f}s, {headline['requests']} requests "
        f"({counts['GO']} GO, {counts['NO_GO']} NO_GO, {counts['UNKNOWN']} UNKNOWN; "
        f"{headline['workers']} targets at a time; emulator set-up {headline['setup_s']:.2f}s, not timed)"
    )
    top = sorted(headline["by_operation"].items(), key=lambda kv: -kv[1])[:8]
    print("  most requested: " + ", ".join(f"{op} {n}" for op, n in top))
    print()
    header = ("accounts", "targets", "wall s", "requests", "s/target", "req/target")
    print("  ".join(f"{h:>{w}}" for h, w in zip(header, (8, 7, 7, 8, 8, 10), strict=True)))
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = Path(tmp) / f"org-{size}.yaml"
            path.write_text(generated_scenario(size))
            row = run(str(path), args.latency_ms)
            n = max(1, row["targets"])
            print(
                f"{size:>8}  {row['targets']:>7}  {row['wall_s']:>7.2f}  {row['requests']:>8}  "
                f"{row['wall_s'] / n:>8.3f}  {row['requests'] / n:>10.1f}"
            )


if __name__ == "__main__":
    main()
