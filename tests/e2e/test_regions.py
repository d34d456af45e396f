"""Several regions in one run: one verdict per region and an overall one, in every format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema

from preflight.deployment import Plan
from tests.conftest import MANIFEST

REGIONS = ("--region", "us-east-1", "--region", "eu-central-1")
SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json").read_text())


def test_one_verdict_per_region_and_an_overall_one(cli, tmp_path) -> None:
    sarif, junit = tmp_path / "r.sarif", tmp_path / "r.xml"
    result = cli(
        "check", MANIFEST, "--sandbox", "seed-account", *REGIONS, "--format", "json",
        "--report", f"sarif={sarif}", "--report", f"junit={junit}",
    )  # fmt: skip
    assert result.exit_code == 1  # us-east-1 holds the seed's full quotas; eu-central-1 is empty
    body = json.loads(result.output)
    assert body["schema"] == "tap-preflight/report-set/v1" and body["verdict"] == "NO_GO"
    assert [(r["region"], r["verdict"]) for r in body["reports"]] == [
        ("us-east-1", "NO_GO"),
        ("eu-central-1", "GO"),
    ]
    log = json.loads(sarif.read_text())
    jsonschema.validate(log, SCHEMA)
    assert len(log["runs"]) == 2
    root = ET.parse(junit).getroot()
    suites = root.findall("testsuite")
    assert len(suites) == 2
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites)
    assert int(root.get("failures")) == 2


def test_all_regions_go_exits_0(cli) -> None:
    result = cli("check", MANIFEST, "--sandbox", "fresh-account", *REGIONS)
    assert result.exit_code == 0 and "Overall: GO (us-east-1, eu-central-1)" in result.output


def test_plan_writes_one_plan_per_region(cli, tmp_path) -> None:
    pattern = str(tmp_path / "plan-{region}.json")
    result = cli("plan", "--adapt", MANIFEST, "--sandbox", "seed-account", *REGIONS, "--save-plan", pattern)
    assert result.exit_code == 0, result.output
    plans = {
        r: Plan.model_validate_json(Path(pattern.replace("{region}", r)).read_text()) for r in REGIONS[1::2]
    }
    assert plans["us-east-1"].verdict == "GO_WITH_ADAPTATIONS" and plans["eu-central-1"].verdict == "GO"
    no_placeholder = cli(
        "plan", "--adapt", MANIFEST, "--sandbox", "seed-account", *REGIONS, "--save-plan", "p.json"
    )
    assert no_placeholder.exit_code == 2 and "{region}" in no_placeholder.output


def test_a_known_no_go_outranks_could_not_evaluate() -> None:
    from preflight.commands.run import build_report
    from preflight.gate import GatePolicy, exit_code, exit_code_of_regions, overall_verdict
    from preflight.manifest import load_manifest
    from preflight.quotas.limits import LimitReading
    from tests.conftest import synthetic_state

    manifest = load_manifest(MANIFEST, "prod")
    policy = GatePolicy()

    def report(state):
        return build_report(manifest, manifest.requested(state.region, state.azs), state, policy)

    no_go = report(synthetic_state(limits={"L-F678F1CE": 0}))
    fine = synthetic_state(region="eu-west-1", azs=("eu-west-1a", "eu-west-1b"))
    unknown = LimitReading(value=None, source="unknown", detail="denied")
    blind = report(fine.model_copy(update={"limits": {**fine.limits, "L-61103206": unknown}}))
    assert (exit_code(no_go, policy), exit_code(blind, policy)) == (1, 3)
    assert exit_code_of_regions([blind, no_go], policy) == exit_code_of_regions([no_go, blind], policy) == 1
    assert overall_verdict([report(fine), no_go]) == "NO_GO"
