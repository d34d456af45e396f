"""Bulk set-up and the check with the accelerators on and with the documented path forced (issue 12
item 5): the same account, the same findings; what an accelerator made before it failed is not made
twice. See test_accelerated_listings.py for the listings' bytes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from preflight.sandbox import Sandbox, accelerators, provision
from preflight.sandbox.state import ACCOUNT_ID
from tests.conftest import MANIFEST, ROOT
from tests.e2e.test_scenario_findings import answer

from .test_accelerated_listings import REGION, _counted, _documented, fresh_verdicts  # noqa: F401

# --- bulk resources made in moto's backends ------------------------------------------------------------


def _small_bulk(tmp_path: Path) -> Path:
    """large-account as shipped, with a bulk a few pages long (ListFunctions pages at 50)."""
    shipped = ROOT / "preflight" / "sandbox" / "scenarios" / "large-account.yaml"
    scenario = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    scenario["name"] = "small-bulk"
    scenario["bulk"] = {"buckets": 23, "networkInterfaces": 12, "securityGroups": 7, "functions": 55}
    path = tmp_path / "small-bulk.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    return path


def _bulk_state(sb: Sandbox) -> dict[str, Any]:
    """What the bulk made, as a client sees it (ids aside, which moto draws at random)."""
    ec2, s3, lam = sb.client("ec2"), sb.client("s3"), sb.client("lambda")
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["bulk"]}])["Vpcs"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    groups = ec2.get_paginator("describe_security_groups").paginate(Filters=in_vpc)
    enis = ec2.get_paginator("describe_network_interfaces").paginate(Filters=in_vpc)
    functions = lam.get_paginator("list_functions").paginate()
    buckets = s3.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": 1000})
    return {
        "buckets": [b["Name"] for p in buckets for b in p["Buckets"]],
        "owners": sorted(
            {str(sb.state.bucket_owner(b["Name"])) for b in s3.list_buckets(MaxBuckets=100)["Buckets"]}
        ),
        "groups": sorted((g["GroupName"], g["Description"]) for p in groups for g in p["SecurityGroups"]),
        "interfaces": sorted(
            (e["Status"], e["InterfaceType"], e["Description"], tuple(g["GroupName"] for g in e["Groups"]))
            for p in enis
            for e in p["NetworkInterfaces"]
        ),
        "functions": sorted(
            (f["FunctionName"], f["Runtime"], f["Handler"], f["Role"], f["CodeSize"])
            for p in functions
            for f in p["Functions"]
        ),
    }


@pytest.fixture
def small_bulk(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The scenario, and the account the accelerator makes of it."""
    path = _small_bulk(tmp_path)
    with Sandbox(path) as sb:
        return path, _bulk_state(sb)


def test_bulk_resources_are_the_same_through_the_api(
    small_bulk: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, made_fast = small_bulk
    assert len(made_fast["buckets"]) >= 23 and len(made_fast["functions"]) == 55
    in_backends = _counted(monkeypatch, provision._BulkInBackends, "run")
    _documented(monkeypatch, True)
    with Sandbox(path) as sb:
        assert _bulk_state(sb) == made_fast
    assert not in_backends, "the documented path wrote into moto's backends"


def test_bulk_made_half_in_backends_is_finished_through_the_api(
    small_bulk: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's Lambda backend wants other arguments than the accelerator passes (its own API still
    works): buckets, groups and interfaces made in the backends, the functions through the API, nothing
    twice."""
    from moto.backends import get_backend

    path, made_fast = small_bulk
    lambda_backend = type(get_backend("lambda")[ACCOUNT_ID][REGION])
    in_backends = provision._BulkInBackends.run

    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        raise TypeError("create_function() missing 1 required positional argument: 'config'")

    def run_on_another_moto(self: Any) -> None:
        with pytest.MonkeyPatch.context() as changed_moto:
            changed_moto.setattr(lambda_backend, "create_function", create_function)
            in_backends(self)

    monkeypatch.setattr(provision._BulkInBackends, "run", run_on_another_moto)
    through_api = _counted(monkeypatch, provision._BulkThroughApi, "jobs")
    with Sandbox(path) as sb:
        assert _bulk_state(sb) == made_fast
    assert through_api
    assert not accelerators.usable(provision.BULK, lambda: True), "the failed accelerator was kept"


# --- the check's findings --------------------------------------------------------------------------------


def test_the_seed_account_and_the_small_bulk_findings_are_the_same_on_the_documented_path(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for scenario in ("seed-account", str(_small_bulk(tmp_path))):
        _documented(monkeypatch, False)
        fast = cli("check", MANIFEST, "--env", "prod", "--sandbox", scenario, "--format", "json")
        _documented(monkeypatch, True)
        documented = cli("check", MANIFEST, "--env", "prod", "--sandbox", scenario, "--format", "json")
        assert fast.exit_code in (0, 1), fast.output
        assert answer(json.loads(documented.output), documented.exit_code) == answer(
            json.loads(fast.output), fast.exit_code
        )


def _in_a_process(code: str, documented: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != accelerators.ENVIRONMENT_VARIABLE}
    if documented:
        env[accelerators.ENVIRONMENT_VARIABLE] = "1"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


LAZY_OFFERINGS = """
from preflight.sandbox import motoload
motoload.load_moto_lazily()
import moto.ec2.models.instance_types as types
print(type(types.INSTANCE_TYPE_OFFERINGS["region"]).__name__, type(types.INSTANCE_TYPES).__name__)
"""
SEED_CHECK = f"""
import json
from click.testing import CliRunner
from cli import main
result = CliRunner().invoke(main, ["check", "{MANIFEST}", "--env", "prod", "--sandbox", "seed-account",
                                   "--format", "json"])
print(json.dumps([result.exit_code, json.loads(result.output)]))
"""


def test_the_environment_variable_switches_every_accelerator_off_in_a_process() -> None:
    """Read once, at import: moto's data then loads as upstream loads it, and the check answers the same."""
    assert _in_a_process(LAZY_OFFERINGS, False).stdout.split() == ["OfferingsByRegion", "DictOnFirstUse"]
    assert _in_a_process(LAZY_OFFERINGS, True).stdout.split() == ["dict", "dict"]
    fast, documented = (json.loads(_in_a_process(SEED_CHECK, d).stdout) for d in (False, True))
    assert answer(documented[1], documented[0]) == answer(fast[1], fast[0])
