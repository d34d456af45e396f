"""`place`: the deployment planned in several regions of one account, ranked, one verdict per region."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preflight.commands.place import classify, placement_exit_code, rank
from preflight.gate import GatePolicy
from preflight.report.results import Placement, RegionFit
from tests.conftest import MANIFEST

SCENARIO = str(Path(__file__).resolve().parents[1] / "fixtures" / "place-three-regions.yaml")


@pytest.fixture(scope="module")
def ranked(tmp_path_factory) -> tuple[int, dict, str]:
    """One run over the account's three enabled regions (the scenario's stacks live in the manifest's
    region, us-east-1, the sandbox's home)."""
    from click.testing import CliRunner

    from cli import main

    md = tmp_path_factory.mktemp("place") / "place.md"
    result = CliRunner().invoke(
        main,
        ["place", MANIFEST, "--env", "prod", "--sandbox", SCENARIO, "--all-regions", "--format", "json",
         "--report", f"markdown={md}"],
    )  # fmt: skip
    return result.exit_code, json.loads(result.output), md.read_text()


def test_regions_ranked_fits_then_adapted_then_not(ranked) -> None:
    code, body, _ = ranked
    assert body["schema"] == "tap-preflight/place/v1"
    assert [(r["region"], r["fit"]) for r in body["regions"]] == [
        ("eu-central-1", "FITS"),
        ("us-east-1", "FITS_ADAPTED"),
        ("eu-west-1", "DOES_NOT_FIT"),
    ]
    adapted, blocked = body["regions"][1], body["regions"][2]
    assert "Lambda networking: vpc-with-endpoints -> no-vpc" in adapted["adaptations"]
    assert blocked["increases"] == ["vpc/L-F678F1CE VPCs per Region: 1 -> 2"]
    assert code == 0  # eu-central-1 fits as requested


def test_markdown_is_one_table_with_one_row_per_region(ranked) -> None:
    _, _, md = ranked
    rows = [line for line in md.splitlines() if line.startswith("| ") and "`" in line]
    assert [row.split("|")[2].strip() for row in rows] == ["`eu-central-1`", "`us-east-1`", "`eu-west-1`"]
    assert "Fits as requested in: eu-central-1." in md


def test_none_fits_as_requested_exits_1_unless_adapted_fits_are_accepted(cli) -> None:
    args = ("place", MANIFEST, "--env", "prod", "--sandbox", SCENARIO, "--region", "us-east-1",
            "--region", "eu-west-1")  # fmt: skip
    strict = cli(*args)
    assert strict.exit_code == 1, strict.output
    assert "Fits only with adaptations, best first: us-east-1." in strict.output
    assert cli(*args, "--accept", "adapted").exit_code == 0


def test_enabled_regions_come_from_describe_regions(sandbox) -> None:
    from preflight.account.sources import LiveAccount, enabled_regions

    sb = sandbox("fresh-account")  # names no regions: moto's list, opt-in regions left out
    source = LiveAccount(endpoint_url=sb.endpoint_url, credentials=("testing", "testing"))
    regions = enabled_regions(source, "us-east-1")
    assert "us-east-1" in regions and "eu-central-1" in regions
    assert "ap-east-1" not in regions  # an opt-in region the account has not opted in to
    assert list(regions) == sorted(regions)
    assert sb.call_log.mutating_calls() == []


def test_all_regions_refused_with_a_snapshot(cli, tmp_path) -> None:
    snap = tmp_path / "s.json"
    snap.write_text("{}")
    result = cli("place", MANIFEST, "--snapshot", str(snap), "--all-regions")
    assert result.exit_code == 2


def _fit(region: str, fit: str, **kw) -> RegionFit:
    return RegionFit(region=region, fit=fit, verdict=None, **kw)  # type: ignore[arg-type]


def test_could_not_evaluate_exits_3_only_when_nothing_fits() -> None:
    policy = GatePolicy()
    unknown, no = _fit("a-1", "UNKNOWN"), _fit("b-1", "DOES_NOT_FIT")
    assert placement_exit_code(Placement(accept="requested", regions=(no, unknown)), policy) == 3
    assert placement_exit_code(Placement(accept="requested", regions=(no,)), policy) == 1
    fits = _fit("c-1", "FITS")
    assert placement_exit_code(Placement(accept="requested", regions=(unknown, fits)), policy) == 0


def test_adapted_fits_ranked_by_degradation_and_misses_by_increases() -> None:
    many = _fit("a-1", "FITS_ADAPTED", adaptations=("x", "y"))
    few = _fit("z-1", "FITS_ADAPTED", adaptations=("x",))
    near = _fit("b-1", "DOES_NOT_FIT", increases=("one",))
    far = _fit("a-2", "DOES_NOT_FIT", increases=("one", "two"))
    assert [f.region for f in rank([far, many, near, few])] == ["z-1", "a-1", "b-1", "a-2"]


def test_an_unreadable_quota_is_could_not_evaluate() -> None:
    from preflight.commands.run import build_report
    from preflight.manifest import load_manifest
    from preflight.quotas.limits import LimitReading
    from tests.conftest import synthetic_state

    manifest = load_manifest(MANIFEST, "prod")
    state = synthetic_state()
    blind = state.model_copy(
        update={
            "limits": {**state.limits, "L-61103206": LimitReading(value=None, source="unknown", detail="x")}
        }
    )
    report = build_report(manifest, manifest.requested(blind.region, blind.azs), blind, GatePolicy())
    fit = classify(report, GatePolicy())
    assert fit.fit == "UNKNOWN" and "L-61103206" in fit.detail
    assert classify(report, GatePolicy.from_flags((), allow_unknown=True)).fit != "UNKNOWN"


def test_machine_formats_without_any_readable_region_are_exit_3() -> None:
    from preflight.report.formats import render_result
    from preflight.report.results import PlaceResult
    from preflight.support.errors import EnvironmentProblem

    placement = Placement(accept="requested", regions=(_fit("a-1", "UNKNOWN", detail="AccessDenied"),))
    assert "AccessDenied" in render_result("place", PlaceResult(placement), "table")
    with pytest.raises(EnvironmentProblem, match="a-1: AccessDenied") as caught:
        render_result("place", PlaceResult(placement), "sarif")
    assert caught.value.exit_code == 3
