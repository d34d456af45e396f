"""Benchmark: a full `check` of the shipped manifest with 50 ms latency on every AWS request.

The emulated account runs in its own process (`python -m preflight.sandbox --latency-ms 50`), as a
remote AWS would. Printed: the wall time of reading the account and evaluating (in-process, first
read of the process, so botocore's model parsing is included), the wall time of the whole CLI
process (interpreter start, imports, reading, rendering), and the API calls per operation.
Not a timed test. Run: `make bench` or `.venv/bin/python bench/bench_check.py`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LATENCY_MS = 50
RUNS = 5


def start_sandbox() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "preflight.sandbox",
            "--scenario",
            "seed-account",
            "--latency-ms",
            f"{LATENCY_MS}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("export AWS_ENDPOINT_URL="):
            return proc, line.split("=", 1)[1].strip()
    raise RuntimeError("the sandbox did not start")


def main() -> None:
    proc, endpoint = start_sandbox()
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    try:
        in_process = subprocess.run(
            [sys.executable, "-c", _IN_PROCESS], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        ).stdout
        print(in_process, end="")
        walls = []
        for _ in range(RUNS):
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "cli", "check", "manifests/tap-pipeline.yaml", "--env", "prod",
                 "--format", "json"],
                cwd=ROOT, env=env, capture_output=True, text=True,
            )  # fmt: skip
            walls.append(time.perf_counter() - start)
            assert done.returncode == 1, done.stderr  # the seed's account is NO_GO
        print(f"CLI process wall (python start to exit): best {min(walls):.3f}s, "
              f"median {statistics.median(walls):.3f}s over {RUNS} runs")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=10)


_IN_PROCESS = f"""
import time
from preflight.gate import GatePolicy
from preflight.manifest import load_manifest
from preflight.runner import LiveAccount, run_check
import preflight.account, preflight.aws, preflight.usage  # imports are process start-up, timed below
manifest = load_manifest("manifests/tap-pipeline.yaml", "prod")
times = []
for i in range({RUNS}):
    start = time.perf_counter()
    report = run_check(manifest, LiveAccount(), "us-east-1", GatePolicy())
    times.append(time.perf_counter() - start)
    if i == 0:
        calls = report.stats.api_calls
print(f"latency {LATENCY_MS} ms per request; verdict {{report.verdict}}")
print(f"check (read + evaluate), first in process: {{times[0]:.3f}}s; "
      f"later runs: best {{min(times[1:]):.3f}}s")
print(f"{{sum(calls.values())}} API calls:")
for op, n in sorted(calls.items()):
    print(f"  {{n:3d}}  {{op}}")
"""


if __name__ == "__main__":
    main()
