"""Benchmark: plan a manifest with 1,000 functions and 50 endpoints against a tight account.

Not a timed test: it prints the wall time of `planner.plan` (best and median of several runs) so the
README can quote it. Run: `make bench` or `.venv/bin/python bench/bench_plan.py`.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from preflight.gate import GatePolicy  # noqa: E402
from preflight.manifest import load_manifest  # noqa: E402
from preflight.plan.planner import plan_manifest  # noqa: E402
from tests.conftest import synthetic_state  # noqa: E402

FUNCTIONS = 1000
ENDPOINTS = 50


def big_manifest(directory: Path) -> str:
    doc = yaml.safe_load((ROOT / "manifests" / "tap-pipeline.yaml").read_text())
    services = ["s3", "dynamodb", "kinesis-streams"]
    doc["endpoints"] = [
        {
            "name": f"ep{i}",
            "service": services[i % 3],
            "type": "interface" if services[i % 3] == "kinesis-streams" or i % 2 else "gateway",
            "optional": True,
            **({"securityGroup": "endpoints"} if services[i % 3] == "kinesis-streams" or i % 2 else {}),
        }
        for i in range(ENDPOINTS)
    ]
    doc["functions"] = [
        {
            "name": f"fn{i}",
            "source": "../handlers/ingest.py",
            "handler": "ingest.handler",
            "reservedConcurrency": 20 + i % 7,
            "minReservedConcurrency": 1,
            "weight": 1 + i % 3,
            "uses": [services[i % 3]],
        }
        for i in range(FUNCTIONS)
    ]
    doc["alarms"] = [{**a, "function": "fn0"} if a.get("function") else a for a in doc["alarms"]]
    doc["lambda"]["networking"]["preference"] = ["vpc-with-endpoints", "vpc-with-nat", "no-vpc"]
    doc["environments"] = {"prod": {}}
    path = directory / f".bench-plan-{os.getpid()}.yaml"  # beside the shipped one: sources resolve
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def main() -> None:
    path = Path(big_manifest(ROOT / "manifests"))
    try:
        manifest = load_manifest(str(path), "prod")
    finally:
        path.unlink()
    # Room for some endpoints but not all; a NAT fits; concurrency must be shared.
    state = synthetic_state(
        limits={"L-1B52E74A": 20, "L-29B6F2EB": 20, "L-B99A9384": 20000},
        usage={"L-1B52E74A": {"region": 5}, "L-B99A9384": {"region": 2000}},
    )
    times = []
    for _ in range(7):
        start = time.perf_counter()
        result = plan_manifest(manifest, state, GatePolicy())
        times.append(time.perf_counter() - start)
    d = result.adapted
    print(
        f"plan: {FUNCTIONS} functions, {ENDPOINTS} endpoints -> {result.verdict}, networking {d.networking}, "
        f"{len(d.endpoints)} endpoints kept, {len(result.adaptations)} adaptations, "
        f"{sum(f.reserved_concurrency or 0 for f in d.functions)} concurrency reserved"
    )
    print(
        f"plan wall time: best {min(times):.3f}s, "
        f"median {statistics.median(times):.3f}s over {len(times)} runs"
    )


if __name__ == "__main__":
    main()
