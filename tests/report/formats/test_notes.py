"""A plan's notes (what it deploys as requested but serves nothing, with its cost) in every format.

A note is information, not a finding: each format shows it, none counts it as a failure, an error or a
warning, and the verdict and exit code never depend on it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from preflight.deployment import Impact, Note
from preflight.report.formats import FORMAT_NAMES, render
from preflight.report.formats.github import render_github
from preflight.report.formats.junit import render_junit
from preflight.report.formats.markdown import render_markdown
from preflight.report.formats.sarif import render_sarif
from preflight.report.report import Finding, Report
from preflight.report.truncate import truncate_markdown

IDLE_VPC = Note(
    id="vpc-idle",
    title="The VPC and its subnets serve nothing",
    reason="no function runs in the VPC (Lambda networking: no-vpc)",
    paths=("vpc",),
    impact=Impact(cost="none in money: it holds 1 of VPCs per Region", security="none", performance="none"),
)
UNUSED_ENDPOINT = Note(
    id="endpoint-sqs-unused",
    title="The sqs interface endpoint serves nothing",
    reason="no VPC-attached function uses sqs",
    paths=("endpoints[2]",),
    impact=Impact(
        cost="about 14.60 USD a month", monthly_cost_delta_usd=14.6, security="none", performance="none"
    ),
)


@pytest.fixture
def noted(make_finding: Callable[..., Finding], make_report: Callable[..., Report]) -> Report:
    """A GO plan: one OK quota, no adaptation, two notes."""
    ok = make_finding(status="OK", usage=1.0, headroom_after=17.0, utilization_after=0.15, message="fits")
    return make_report(ok, command="plan", verdict="GO", adaptations=(), notes=(IDLE_VPC, UNUSED_ENDPOINT))


def test_every_format_shows_every_note(noted: Report) -> None:
    for fmt in FORMAT_NAMES:
        out = render(noted, fmt)  # type: ignore[arg-type]
        for note in noted.notes:
            assert note.id in out, (fmt, note.id)
            assert note.title in out, (fmt, note.id)


def test_markdown_has_a_notes_section_with_reason_and_cost(noted: Report) -> None:
    md = render_markdown(noted)
    head, _, rest = md.partition("\n#### Notes\n")
    assert rest, md
    section = rest.split("<details>", 1)[0]  # before the fold a too-long comment is cut at first
    assert "- **The VPC and its subnets serve nothing** (`vpc-idle`) (`vpc`): no function runs" in section
    assert "cost: about 14.60 USD a month" in section
    assert "✅" in head.splitlines()[0]  # the verdict line is untouched: still GO


def test_markdown_without_notes_has_no_notes_section(noted: Report) -> None:
    assert "#### Notes" not in render_markdown(noted.model_copy(update={"notes": ()}))


def test_markdown_notes_survive_a_comment_cut_of_the_findings_fold(noted: Report) -> None:
    md = render_markdown(noted)
    limit = len(md.split("<details>", 1)[0].encode()) + 400  # the fold does not fit, the notes do
    cut = truncate_markdown(md + "x\n" * 5000, where="the full report", limit=limit)
    assert "**Truncated:**" in cut and "`endpoint-sqs-unused`" in cut


def test_github_notes_are_notices(noted: Report) -> None:
    lines = render_github(noted).splitlines()
    notes = [line for line in lines if line.startswith("::") and "title=note " in line]
    assert len(notes) == 2
    assert all(line.startswith("::notice ") for line in notes)
    assert not any(line.startswith(("::error", "::warning")) for line in lines)
    assert "title=note vpc-idle%3A The VPC and its subnets serve nothing" in notes[0]
    assert "file=manifests/tap-pipeline.yaml" in notes[0]
    assert "cost: about 14.60 USD a month" in notes[1]


def test_junit_notes_are_properties_and_output_never_failures(noted: Report) -> None:
    root = ET.fromstring(render_junit(noted, strict=True))  # even --strict: a note is not a failure
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "0", "0")
    assert not list(root.iter("failure")) and not list(root.iter("error"))
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["note vpc-idle"] == f"{IDLE_VPC.title}: {IDLE_VPC.reason}"
    assert props["note endpoint-sqs-unused"].startswith(UNUSED_ENDPOINT.title)
    out = suite.find("system-out")
    assert out is not None and out.text is not None
    assert "NOTE vpc-idle (vpc): " in out.text and "cost: about 14.60 USD a month" in out.text
    assert list(suite)[-1] is out  # after the test cases, as the JUnit schema orders a suite


def test_junit_without_notes_has_no_suite_output(noted: Report) -> None:
    root = ET.fromstring(render_junit(noted.model_copy(update={"notes": ()})))
    assert root.find("testsuite/system-out") is None


def test_sarif_notes_are_note_level_results(noted: Report, sarif_schema: dict[str, Any]) -> None:
    doc = json.loads(render_sarif(noted))
    jsonschema.Draft4Validator(sarif_schema).validate(doc)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["vpc-idle", "endpoint-sqs-unused"]  # the OK quota gives none
    for result in results:
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
        assert result["level"] == rule["defaultConfiguration"]["level"] == "note"
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
            "manifests/tap-pipeline.yaml"
        )
    assert results[1]["properties"]["monthly_cost_delta_usd"] == 14.6
    assert "Cost: about 14.60 USD a month." in results[1]["message"]["text"]
    assert run["properties"]["verdict"] == "GO"
    fingerprints = {r["partialFingerprints"]["tapPreflightNote/v1"] for r in results}
    assert len(fingerprints) == 2


def test_json_keeps_notes(noted: Report) -> None:
    assert [n["id"] for n in json.loads(noted.to_json())["notes"]] == ["vpc-idle", "endpoint-sqs-unused"]
