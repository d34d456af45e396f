"""Every result kind renders in every format through one interface (`render_result`).

Quota reports have their own tests; here the other results (request-increases, verify-program, rehearse,
lint) are held to the same contract: a pure function to a string for each (kind, format), the table and
JSON each command always printed, and the CI formats (SARIF, JUnit, GitHub, markdown) carrying every
failure to code scanning, test reports and annotations, at its file and line.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from preflight.formats import FORMAT_NAMES, RESULT_KINDS, render_result, result_formatter
from preflight.increases import IncreasesResult, Outcome
from preflight.program.lint import RULES, LintResult, run_lint
from preflight.program.rehearse import RehearsalResult
from preflight.program.verify import VerifyResult
from tests.conftest import ROOT

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


def test_every_result_kind_but_reports_has_a_sample_here() -> None:
    assert set(RESULT_KINDS) == {"report", *RESULTS}


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@pytest.mark.parametrize("kind", RESULT_KINDS)
def test_every_kind_and_format_maps_to_a_formatter_returning_text(
    kind: str, fmt: str, sample_report: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = sample_report if kind == "report" else RESULTS[kind]()
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
