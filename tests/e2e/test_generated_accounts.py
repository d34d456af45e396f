"""Generated accounts: the gate's verdict against what a deployment into the same account does.

Each case builds an account (quotas, other stacks' usage, sometimes limits only the service API
reports, in about half of them the stack partly deployed with other reservations and shard counts),
runs `plan --adapt`, then rehearses into that account as a redeploy (`rehearse(update=True)`: the
stack's own functions and stream updated in place, removed ones deleted last): the plan when the
verdict is GO, the requested deployment when it is NO_GO.
- GO (or GO with adaptations): the rehearsal deploys everything. A failure is a false GO.
- NO_GO: the requested deployment's rehearsal fails on a quota the findings name as FAIL.

`make test` runs the fixed seeds below (the same everywhere); `make fuzz` runs FUZZ_COUNT cases from a
fresh seed it prints. The count that ran is printed; a failure prints the seed that reproduces it.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

from preflight.account.sources import LiveAccount
from preflight.commands.run import run_plan
from preflight.gate import GatePolicy
from preflight.manifest import load_manifest
from preflight.program.rehearse import rehearse
from preflight.sandbox import Sandbox
from preflight.sandbox.scenario import parse_scenario
from preflight.support.sourcefile import LineMap
from tests.conftest import MANIFEST, ROOT

FIXED_SEEDS = range(1000, 1000 + int(os.environ.get("GENERATED_COUNT", "50")))
FUZZ = os.environ.get("FUZZ_SEED")

# The stack's own resources (manifests/tap-pipeline.yaml, environment prod) and the tags that make
# them its own; the removed function is one an earlier version had.
STACK_TAGS = {"tap:project": "tap-pipeline", "tap:environment": "prod"}
STACK_FUNCTIONS = [f"pipeline-{n}-prod" for n in ("ingest", "transform", "enrich", "aggregate", "archive")]
REMOVED_FUNCTION = "pipeline-legacy-prod"
STACK_STREAM = "pipeline-events-prod"
UNRESERVED_FLOOR = 100  # AWS keeps this much of the account's concurrency unreserved

# The quota a deployment error is AWS's answer for (several where the code is shared).
ERROR_QUOTAS: dict[str, set[str]] = {
    "VpcLimitExceeded": {"L-F678F1CE"},
    "InternetGatewayLimitExceeded": {"L-A4707A72", "L-F678F1CE"},
    "AddressLimitExceeded": {"L-0263D0A3"},
    "NatGatewayLimitExceeded": {"L-FE5A380F"},
    "SubnetLimitExceeded": {"L-407747CB"},
    "SecurityGroupLimitExceeded": {"L-E79EC296"},
    "RulesPerSecurityGroupLimitExceeded": {"L-0EA8095F"},
    "VpcEndpointLimitExceeded": {"L-1B52E74A", "L-29B6F2EB"},
    "NetworkInterfaceLimitExceeded": {"L-DF5E4CA3"},
    "ENILimitReachedException": {"L-9FEE3D26", "L-DF5E4CA3"},
    "InvalidParameterValueException": {"L-B99A9384"},
    "LimitExceededException": {"L-0918CF54"},
    "TopicLimitExceeded": {"L-61103206"},
    "LimitExceeded": {"L-FE177D64", "L-0DA4ABF3"},
}


def generate(seed: int) -> dict[str, Any]:
    """A scenario (as the YAML would hold it) drawn from `seed`, near the pipeline's needs."""
    rng = random.Random(seed)
    quotas: list[dict[str, Any]] = []
    vpcs: list[dict[str, Any]] = []

    def quota(code: str, value: int, **extra: Any) -> None:
        quotas.append({"code": code, "value": value, **extra})

    gateway_limit = rng.choice([1, 2, 3, 4, 20])
    gateway_used = rng.randint(0, min(gateway_limit, 4))
    quota("L-1B52E74A", gateway_limit)
    other: dict[str, Any] = {"name": "other-stack", "subnets": [{"az": "a"}, {"az": "b"}]}
    if gateway_used:
        other["gatewayEndpoints"] = [{"service": "s3", "count": gateway_used}]
    vpcs.append(other)
    quota("L-F678F1CE", rng.choice([3, 4, 5]))  # default VPC + the other stack's + maybe the stack's own
    quota("L-29B6F2EB", rng.choice([1, 2, 50]))
    quota("L-DF5E4CA3", rng.choice([6, 8, 10, 5000]))
    quota("L-407747CB", rng.choice([3, 4, 200]))
    limit = rng.choice([200, 400, 1000])
    quota("L-B99A9384", limit)
    functions = []
    held = rng.randint(0, max(0, limit - 150)) // 50 * 50
    if held:
        functions.append({"name": "other-worker", "count": held // 50, "reservedConcurrency": 50})
    shard_limit = rng.choice([6, 8, 20, 500])
    quota("L-0918CF54", shard_limit, listed=rng.random() < 0.5)  # sometimes only DescribeLimits says so
    streams = []
    shards_used = rng.randint(0, min(shard_limit, 8))
    if shards_used:
        streams.append({"name": "other-events", "shards": shards_used})
    topics_limit = rng.choice([1, 2, 100000])
    quota("L-61103206", topics_limit)
    topics = [{"name": "other-alerts"}] if rng.random() < 0.5 else []
    if rng.random() < 0.5:  # the stack partly deployed: the rehearsal then updates it in place
        own_functions, own_stream = deployed_part(
            rng, limit - UNRESERVED_FLOOR - held, shard_limit - shards_used
        )
        functions.extend(own_functions)
        streams.extend(own_stream)
    return {
        "name": f"generated-{seed}",
        "quotas": quotas,
        "vpcs": vpcs,
        "functions": functions,
        "streams": streams,
        "topics": topics,
    }


def deployed_part(rng: random.Random, reservable: int, shards_free: int) -> tuple[list[dict[str, Any]], list]:
    """A random part of the stack's functions and stream, as deployed earlier with other settings.

    Tagged as this stack's own (as the `redeploy` scenario shows), within what the account allows
    (AWS refuses reservations below the floor and shards over the limit). Sometimes one function the
    plan no longer has: the redeploy deletes it only at the end, so it holds its reservation meanwhile.
    """
    functions: list[dict[str, Any]] = []
    for name in [*rng.sample(STACK_FUNCTIONS, rng.randint(0, len(STACK_FUNCTIONS))), *(
        [REMOVED_FUNCTION] if rng.random() < 0.3 else []
    )]:  # fmt: skip
        reserved = rng.choice([None, 0, 10, 50, 100, 200, 400])
        if reserved is not None and reserved > reservable:
            reserved = None
        reservable -= reserved or 0
        functions.append({"name": name, "reservedConcurrency": reserved, "tags": STACK_TAGS})
    streams: list[dict[str, Any]] = []
    if shards_free >= 1 and rng.random() < 0.7:
        streams.append(
            {"name": STACK_STREAM, "shards": rng.randint(1, min(shards_free, 16)), "tags": STACK_TAGS}
        )
    return functions, streams


def run_case(seed: int, sb: Sandbox) -> tuple[str, bool]:
    """One generated account: plan, rehearse, compare. Returns the verdict and whether the stack was
    partly deployed; fails with the seed. The rehearsal is a redeploy (update mode): where the stack
    is partly there it updates it in place, elsewhere it creates, as `pulumi up` does.

    The account is made anew in the running sandbox `sb` (`Sandbox.reset`: the same as a new
    Sandbox, without a new server).
    """
    data = generate(seed)
    sb.reset(parse_scenario(data, LineMap(file=f"generated-{seed}"), None))
    manifest = load_manifest(MANIFEST, "prod")
    source = LiveAccount(endpoint_url=sb.endpoint_url, credentials=("testing", "testing"))
    report, plan = run_plan(manifest, source, "us-east-1", GatePolicy())
    if plan.verdict == "NO_GO":
        requested = manifest.requested("us-east-1", plan.deployment.vpc.azs)
        plan = plan.model_copy(update={"deployment": requested})
    result = rehearse(plan, endpoint_url=sb.endpoint_url, base_dir=Path(ROOT / "manifests"), update=True)
    partly = any(f.get("tags") for f in [*data["functions"], *data["streams"]])
    where = f"seed {seed}: {data}"
    if report.verdict != "NO_GO":
        assert result.complete, f"false GO ({report.verdict}), {where}\n{result.render_text()}"
        return report.verdict, partly
    assert result.failed, f"NO_GO but the requested deployment deploys, {where}"
    failed = {f.quota_code for f in report.findings if f.status == "FAIL"}
    code = result.failed[0]["code"]
    assert ERROR_QUOTAS.get(code, set()) & failed, (
        f"NO_GO names {sorted(failed)} but the deployment failed on {code}: {result.failed[0]}, {where}"
    )
    return report.verdict, partly


def test_generated_accounts(capsys: pytest.CaptureFixture[str]) -> None:
    """The fixed seeds in `make test`; with FUZZ_SEED (`make fuzz`), FUZZ_COUNT accounts from that seed."""
    if FUZZ is None:
        seeds, where = list(FIXED_SEEDS), "fixed seeds"
    else:
        start = int(FUZZ)
        seeds = list(range(start, start + int(os.environ.get("FUZZ_COUNT", "200"))))
        where = f"fuzz seed {start}"
    with Sandbox() as sb:
        cases = [run_case(seed, sb) for seed in seeds]
    verdicts = [verdict for verdict, _ in cases]
    partly = sum(1 for _, p in cases if p)
    partly_go = sum(1 for verdict, p in cases if p and verdict != "NO_GO")
    with capsys.disabled():
        print(f"\n{len(verdicts)} generated accounts ({where}): {verdicts.count('NO_GO')} NO_GO, "
              f"{len(verdicts) - verdicts.count('NO_GO')} GO, 0 false GO; "
              f"{partly} with the stack partly deployed ({partly_go} of them GO)")  # fmt: skip
    assert len(verdicts) == len(seeds) >= 1
    assert {"NO_GO"} < set(verdicts) or len(verdicts) < 10  # both outcomes are exercised
    assert 0 < partly < len(cases) or len(cases) < 10  # redeploys and first deploys both run
