"""CI views that tell the truth at scale: a SARIF category per region, annotations capped with an
"N more" line, markdown under a pull-request comment's limit."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from preflight.report.formats import FULL_REPORT, render_many
from preflight.report.formats.github import ANNOTATION_CAP, render_github
from preflight.report.report import Report
from preflight.report.truncate import COMMENT_LIMIT, truncate_markdown


def test_sarif_has_one_run_per_region_each_with_its_own_category(
    sample_report: Report, sarif_schema: dict[str, Any]
) -> None:
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]
    reports = [sample_report.model_copy(update={"region": r}) for r in regions]
    doc = json.loads(render_many(reports, "sarif"))
    jsonschema.Draft4Validator(sarif_schema).validate(doc)
    ids = [run["automationDetails"]["id"] for run in doc["runs"]]
    # Code scanning refuses two runs of one tool in one upload with the same category.
    assert ids == [f"tap-preflight/prod/{r}/" for r in regions]
    assert [run["properties"]["region"] for run in doc["runs"]] == regions


def test_sarif_category_follows_the_environment(sample_report: Report) -> None:
    staging = sample_report.model_copy(update={"environment": "staging"})
    doc = json.loads(render_many([staging], "sarif"))
    assert doc["runs"][0]["automationDetails"]["id"] == "tap-preflight/staging/us-east-1/"


def _many_warns(make_finding, make_report, n: int) -> Report:
    findings = [
        make_finding(quota_code=f"L-{i:08X}", status="WARN" if i % 3 else "FAIL", message=f"finding {i}")
        for i in range(n)
    ]
    return make_report(*findings)


def test_annotations_are_capped_with_a_final_n_more_line(make_finding, make_report) -> None:
    report = _many_warns(make_finding, make_report, 120)
    lines = render_github(report).splitlines()
    commands = [line for line in lines if line.startswith("::")]
    assert len(commands) == ANNOTATION_CAP == 50
    assert commands[-1].startswith("::notice title=tap-preflight%3A 71 more::71 more annotations not shown")
    # The errors (FAIL) come before the warnings, so what is cut is the least important.
    kinds = [c.split(" ", 1)[0] for c in commands[:-1]]
    assert kinds == sorted(kinds, key=lambda k: {"::error": 0, "::warning": 1}[k])
    assert kinds.count("::error") == 40  # every FAIL (i % 3 == 0) is kept
    assert lines[-1].startswith("tap-preflight: NO_GO")  # the verdict line is never cut


def test_annotations_under_the_cap_are_not_touched(make_finding, make_report) -> None:
    report = _many_warns(make_finding, make_report, 10)
    text = render_github(report)
    assert "more annotations" not in text
    assert text.count("\n::") + text.startswith("::") == 10


def test_markdown_stays_under_the_comment_limit_and_says_where_the_rest_is(make_finding, make_report) -> None:
    report = _many_warns(make_finding, make_report, 1500)
    whole = render_many([report], "markdown")
    assert len(whole.encode()) <= COMMENT_LIMIT
    assert "**Truncated:**" in whole and FULL_REPORT in whole
    assert whole.startswith("### ")  # the verdict heads it still
    assert whole.count("<details") == whole.count("</details>")
    assert whole.count("```") % 2 == 0


def test_small_markdown_is_not_cut(sample_report: Report) -> None:
    text = render_many([sample_report], "markdown")
    assert "Truncated" not in text
    assert truncate_markdown(text, where="x") == text
