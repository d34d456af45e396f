"""Every result kind renders in every format through one interface (`render_result`).

Quota reports have their own tests; here the other results (request-increases, verify-program, rehearse,
lint) are held to the same contract: a pure function to a string for each (kind, format), the table and
JSON each command always printed, and the CI formats (SARIF, JUnit, GitHub, markdown) carrying every
failure to code scanning, test reports and annotations, at its file and line. The rankings (`place`,
`sweep`) too: their table, JSON and markdown rank regions or accounts, and their CI formats carry each
region's or account's own report.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from preflight.program.lint import RULES, LintResult, run_lint
from preflight.program.rehearse import RehearsalResult
from preflight.program.verify import VerifyResult
from preflight.report.formats import FORMAT_NAMES, RESULT_KINDS, render_result, result_formatter
from preflight.report.results import IncreasesResult, Outcome
from tests.conftest import MANIFEST, ROOT

LINT_FIXTURES = ROOT / "tests" / "fixtures" / "lint"
PLAN = "plans/plan.json"


def _outcome(status: str, **extra: Any) -> Outcome:
    values: dict[str, Any] = dict(
        service_code="lambda",
        quota_code="L-B99A9384",
        quota_name="Concurrent executions",
        region="us-east-1",
        current=1000.0,
        required=1250.0,
        adjustable=status != "design-change",
        status=status,
        detail=f"detail of {status}",
    )
    values.update(extra)
    return Outcome(**values)


def increases_result() -> IncreasesResult:
    return IncreasesResult(
        source=PLAN,
        source_kind="plan",
        account_id="111122223333",
        region="us-east-1",
        submitted=False,
        outcomes=(
            _outcome("would-file"),
            _outcome("design-change", quota_code="L-1B52E74A", service_code="vpc"),
            _outcome("error", quota_code="L-0263D0A3", service_code="ec2"),
            _outcome("already-raised", quota_code="L-29A0C2C8", service_code="vpc"),
        ),
    )


def verify_result() -> VerifyResult:
    resources = [
        {
            "type": "aws:lambda/function:Function",
            "name": "ingest",
            "inputs": {"reservedConcurrentExecutions": 5},
        },
        {"type": "aws:kinesis/stream:Stream", "name": "events", "inputs": {}},
    ]
    return VerifyResult(resources, ["ingest: reserved concurrency 5, the plan says 10"], plan_path=PLAN)


def rehearsal_result() -> RehearsalResult:
    return RehearsalResult(
        endpoint_url="http://127.0.0.1:5000",
        deployed=[{"type": "aws:ec2/vpc:Vpc", "name": "vpc", "id": "vpc-1"}],
        failed=[
            {
                "type": "aws:ec2/vpcEndpoint:VpcEndpoint",
                "name": "s3",
                "code": "VpcEndpointLimitExceeded",
                "message": "too many endpoints",
            }
        ],
        skipped=[{"type": "aws:lambda/function:Function", "name": "ingest", "reason": "after vpc failed"}],
        plan_path=PLAN,
    )


def lint_result() -> LintResult:
    return run_lint([LINT_FIXTURES])


RESULTS = {
    "increases": increases_result,
    "verify": verify_result,
    "rehearse": rehearsal_result,
    "lint": lint_result,
}
# What each sample must bring to every CI format: a failure it holds, by the text of its message.
FAILURE_TEXT = {
    "increases": "detail of design-change",
    "verify": "reserved concurrency 5, the plan says 10",
    "rehearse": "VpcEndpointLimitExceeded",
    "lint": "CRLF line endings",
}
CI_FORMATS = ("markdown", "sarif", "junit", "github")


# --- the rankings: place (regions of one account) and sweep (accounts x regions) -----------------------

GOLDEN_INPUTS = ROOT / "tests" / "golden" / "inputs"


def _golden(name: str) -> Any:
    from preflight.report.report import Report

    return Report.model_validate_json((GOLDEN_INPUTS / name).read_text(encoding="utf-8"))


def place_result() -> Any:
    """Three regions: one adapted fit, one that does not fit (a real NO_GO report), one unreadable."""
    from preflight.commands.place import classify, rank
    from preflight.gate import GatePolicy
    from preflight.report.results import Placement, PlaceResult, RegionFit

    no_go = _golden("check-seed-account-no-go.json").model_copy(update={"region": "eu-west-1"})
    adapted = _golden("plan-seed-account-adapted.json")
    denied = RegionFit(region="ap-south-1", fit="UNKNOWN", verdict=None, detail="AccessDenied: " + "x" * 90)
    fits = [classify(no_go, GatePolicy()), classify(adapted, GatePolicy()), denied]
    return PlaceResult(Placement(accept="requested", regions=rank(fits)), (adapted, no_go))


def sweep_result() -> Any:
    """Two accounts: one NO_GO (a real report), one whose role could not be assumed."""
    from preflight.commands.sweep import Target, evaluated, overall, unreadable, unreadable_report
    from preflight.gate import GatePolicy
    from preflight.manifest import load_manifest
    from preflight.report.results import Account, SweepResult, SweepRun
    from preflight.support.errors import AwsAccessError

    policy = GatePolicy()
    report = _golden("check-seed-account-no-go.json")
    checked = evaluated(Target(Account(id=report.account_id, name="seed"), report.region), report, policy)
    denied_target = Target(Account(id="400000000004", name="a-long-account-name-" * 3), "us-east-1")
    denied = unreadable(
        denied_target, AwsAccessError("cannot assume OrganizationAccountAccessRole: " + "y" * 80)
    )
    summary = SweepResult(
        verdict=overall([checked, denied]),
        role_name="OrganizationAccountAccessRole",
        regions=("us-east-1",),
        targets=(checked, denied),
    )
    unread = unreadable_report(load_manifest(MANIFEST, "prod"), denied)
    return SweepRun(summary, (report, unread), policy)


RANKINGS = {"place": place_result, "sweep": sweep_result}
# What every CI format of a ranking carries: a FAIL of the NO_GO report (the gateway endpoints' quota).
RANKING_FAILURE = "L-1B52E74A"


def test_every_result_kind_but_reports_has_a_sample_here() -> None:
    assert set(RESULT_KINDS) == {"report", *RESULTS, *RANKINGS}


def _sample(kind: str, sample_report: Any) -> Any:
    if kind == "report":
        return sample_report
    return (RESULTS | RANKINGS)[kind]()


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@pytest.mark.parametrize("kind", RESULT_KINDS)
def test_every_kind_and_format_maps_to_a_formatter_returning_text(
    kind: str, fmt: str, sample_report: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _sample(kind, sample_report)
    out = result_formatter(kind, fmt)(result)  # type: ignore[arg-type]
    assert isinstance(out, str) and out.strip() and out.endswith("\n")
    assert "\r" not in out
    assert render_result(kind, result, fmt) == out  # type: ignore[arg-type]
    captured = capsys.readouterr()  # formatters return text, never print
    assert captured.out == "" and captured.err == ""


def test_an_unknown_kind_or_format_fails_loudly() -> None:
    with pytest.raises(AssertionError):
        result_formatter("plan-v0", "json")  # type: ignore[arg-type]
    with pytest.raises(AssertionError):
        result_formatter("lint", "yaml")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["verify", "rehearse", "lint"])
def test_the_table_and_json_are_what_each_command_always_printed(kind: str) -> None:
    result = RESULTS[kind]()
    assert render_result(kind, result, "table") == result.render_text()  # type: ignore[arg-type]
    assert render_result(kind, result, "json") == result.to_json()  # type: ignore[arg-type]
    narrow = render_result(kind, result, "table", width=40)  # type: ignore[arg-type]
    assert all(len(line) <= 40 for line in narrow.splitlines())


def test_the_increases_table_is_the_one_request_increases_printed() -> None:
    text = render_result("increases", increases_result(), "table", width=140)
    assert "needs a design change (not adjustable)" in text and "would file (dry run)" in text
    assert f"4 increase request(s) from {PLAN} (nothing changed in the account)" in " ".join(text.split())
    assert render_result("increases", increases_result(), "json") == increases_result().to_json()


@pytest.mark.parametrize("kind", list(RESULTS))
@pytest.mark.parametrize("fmt", CI_FORMATS)
def test_every_ci_format_carries_the_failures(kind: str, fmt: str) -> None:
    out = render_result(kind, RESULTS[kind](), fmt)  # type: ignore[arg-type]
    assert FAILURE_TEXT[kind] in out


@pytest.mark.parametrize("kind", list(RESULTS))
def test_sarif_is_valid_and_every_result_has_a_location(kind: str, sarif_schema: dict[str, Any]) -> None:
    doc = json.loads(render_result(kind, RESULTS[kind](), "sarif"))  # type: ignore[arg-type]
    jsonschema.Draft4Validator(sarif_schema).validate(doc)
    (run,) = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert run["results"], "a failing sample gives results"
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning")
        (location,) = result["locations"]  # code scanning refuses a result without one
        assert location["physicalLocation"]["artifactLocation"]["uri"]


def test_lint_findings_reach_code_scanning_at_their_line() -> None:
    doc = json.loads(render_result("lint", lint_result(), "sarif"))
    (run,) = doc["runs"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [r.id for r in RULES]
    located = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 1)[-1])
        for r in run["results"]
    }
    assert located == {
        ("TAP001", "crlf_program.py"),
        ("TAP002", "duplicated_alarm.py"),
        ("TAP003", "mismatched_role_policy.py"),
    }
    lines = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in run["results"]]
    assert lines == [f.line for f in lint_result().findings]


def test_rehearsal_failures_are_junit_failures_and_skips_are_skipped() -> None:
    root = ET.fromstring(render_result("rehearse", rehearsal_result(), "junit"))
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")
    (failure,) = root.iter("failure")
    assert failure.get("type") == "TAPR001" and "too many endpoints" in (failure.text or "")
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert all(case.get("file") == PLAN for case in cases.values())


def test_an_increase_that_failed_is_a_junit_error() -> None:
    root = ET.fromstring(render_result("increases", increases_result(), "junit"))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "1")


def test_github_annotations_point_at_the_file_and_line() -> None:
    lines = render_result("lint", lint_result(), "github").splitlines()
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == 3
    assert "file=" + str(LINT_FIXTURES / "duplicated_alarm.py").replace(":", "%3A") in errors[1]
    assert ",line=27::" in errors[1]
    assert not lines[-1].startswith("::")  # the summary is a plain line
    verify = render_result("verify", verify_result(), "github").splitlines()
    assert verify[0].startswith(f"::error title=TAPV001 inventory,file={PLAN}::")


def test_a_clean_result_has_no_sarif_result_and_passes_in_junit() -> None:
    clean = run_lint([LINT_FIXTURES / "clean_program.py"])
    assert json.loads(render_result("lint", clean, "sarif"))["runs"][0]["results"] == []
    root = ET.fromstring(render_result("lint", clean, "junit"))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("1", "0", "0")
    assert render_result("lint", clean, "markdown").startswith("### ✅ tap-preflight lint:")


def test_lint_rules_are_units_with_an_id_a_name_and_a_description() -> None:
    ids = [rule.id for rule in RULES]
    assert ids == sorted(set(ids)) and all(i.startswith("TAP") for i in ids)
    assert all(rule.name and len(rule.description) > len(rule.name) for rule in RULES)
    assert {f.rule for f in lint_result().findings} <= set(ids)


@pytest.mark.parametrize("fmt", ["sarif", "github", "junit", "markdown", "json"])
def test_the_lint_command_writes_every_format(cli, fmt: str) -> None:
    result = cli("lint", str(LINT_FIXTURES.relative_to(ROOT)), "--format", fmt)
    assert result.exit_code == 1  # a finding is lint's "no go"
    assert "TAP002" in result.stdout
    if fmt in ("sarif", "json"):
        json.loads(result.stdout)


def test_the_lint_command_keeps_its_plain_lines_by_default(cli) -> None:
    path = Path("tests/fixtures/lint/duplicated_alarm.py")
    for args in ((), ("--format", "table"), ("--format", "text")):
        result = cli("lint", str(path), *args)
        assert result.exit_code == 1
        assert result.stdout.startswith(f"{path}:27: TAP002 MetricAlarm created again")


# --- the rankings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(RANKINGS))
def test_a_rankings_json_is_its_own_contract(kind: str) -> None:
    result = RANKINGS[kind]()
    body = json.loads(render_result(kind, result, "json"))  # type: ignore[arg-type]
    assert render_result(kind, result, "json") == result.to_json()  # type: ignore[arg-type]
    assert body["schema"] == f"tap-preflight/{kind}/v1"


@pytest.mark.parametrize("kind", list(RANKINGS))
@pytest.mark.parametrize("fmt", ("sarif", "junit", "github"))
def test_a_rankings_ci_formats_carry_each_regions_own_report(kind: str, fmt: str) -> None:
    out = render_result(kind, RANKINGS[kind](), fmt)  # type: ignore[arg-type]
    assert RANKING_FAILURE in out
    if kind == "sweep":  # the account that could not be read is a check of its own
        assert "TAP-S001" in out


@pytest.mark.parametrize("kind", list(RANKINGS))
def test_a_rankings_sarif_is_valid_with_one_run_per_report(kind: str, sarif_schema: dict[str, Any]) -> None:
    result = RANKINGS[kind]()
    doc = json.loads(render_result(kind, result, "sarif"))  # type: ignore[arg-type]
    jsonschema.Draft4Validator(sarif_schema).validate(doc)
    assert len(doc["runs"]) == len(result.reports)


def test_the_place_ranking_in_table_and_markdown() -> None:
    table = render_result("place", place_result(), "table")
    rows = table.splitlines()
    assert rows[0].split() == ["rank", "region", "fit", "details"]
    assert [r.split()[1] for r in rows[1:4]] == ["us-east-1", "eu-west-1", "ap-south-1"]
    assert "Fits only with adaptations, best first: us-east-1." in table
    markdown = render_result("place", place_result(), "markdown")
    assert markdown.startswith("### tap-preflight place") and "❔ could not evaluate" in markdown


@pytest.mark.parametrize("kind", list(RANKINGS))
def test_a_rankings_table_fits_the_width_unless_wide(kind: str) -> None:
    result = RANKINGS[kind]()
    whole = render_result(kind, result, "table")  # type: ignore[arg-type]
    assert max(len(line) for line in whole.splitlines()) > 80, "the sample has lines to wrap"
    narrow = render_result(kind, result, "table", width=80)  # type: ignore[arg-type]
    assert all(len(line) <= 80 for line in narrow.splitlines())
    assert (
        " ".join(narrow.split()).count("AccessDenied") + " ".join(narrow.split()).count("cannot assume") == 1
    )
    wide = render_result(kind, result, "table", width=80, wide=True)  # type: ignore[arg-type]
    assert wide == whole


@pytest.mark.parametrize("kind", list(RANKINGS))
def test_a_rankings_table_adds_the_api_calls_with_stats(kind: str) -> None:
    result = RANKINGS[kind]()
    counted = result.reports[0].model_copy(
        update={"stats": result.reports[0].stats.model_copy(update={"api_calls": {"ec2:DescribeVpcs": 3}})}
    )
    import dataclasses

    result = dataclasses.replace(result, reports=(counted, *result.reports[1:]))
    plain = render_result(kind, result, "table")  # type: ignore[arg-type]
    with_stats = render_result(kind, result, "table", stats=True)  # type: ignore[arg-type]
    assert "ec2:DescribeVpcs" not in plain
    assert with_stats.startswith(plain) and "   3  ec2:DescribeVpcs" in with_stats
