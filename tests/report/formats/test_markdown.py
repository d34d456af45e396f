"""Markdown for a PR comment: verdict first, the full table folded, cells that cannot break the table."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from preflight.deployment import Adaptation, Change, Impact
from preflight.report.formats.markdown import code, render_markdown, text
from preflight.report.report import Report

UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def table_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("|")]


def test_verdict_first_and_details_folded(golden_input: Path, load_report: Callable[[Path], Report]) -> None:
    report = load_report(golden_input)
    md = render_markdown(report)
    first = md.splitlines()[0]
    assert first.startswith("#") and report.verdict in first
    assert "<details>" in md and "</details>" in md and "<summary>" in md
    assert md.index("<details>") > md.index(first)
    # Every table row has as many cell separators as its header.
    rows = table_rows(md)
    for row in rows:
        # increase requests: 4 cells; checks that are not quotas: 5; findings: 8
        assert len(UNESCAPED_PIPE.findall(row)) in {5, 6, 9}, row


@pytest.mark.parametrize("verdict", ["GO", "GO_WITH_ADAPTATIONS", "NO_GO"])
def test_every_verdict_heads_the_comment(verdict: str, sample_report: Report) -> None:
    md = render_markdown(sample_report.model_copy(update={"verdict": verdict}))
    assert verdict in md.splitlines()[0]


def test_sections(sample_report: Report) -> None:
    md = render_markdown(sample_report)
    attention = md.index("Quotas that need attention")
    adaptations = md.index("#### Adaptations")
    increases = md.index("#### Quota increases")
    details = md.index("<details>")
    assert attention < adaptations < increases < details
    assert "`endpoints[0]` (line 35): `s3` → `none`" in md
    assert "cost: none" in md and "security: public endpoints" in md and "performance: negligible" in md
    head = md[:details]
    assert "Topics per Account" not in head  # OK findings only in the folded table
    assert "Topics per Account" in md[details:]


def test_no_adaptations_section_without_adaptations(sample_report: Report) -> None:
    for adaptations in (None, ()):
        md = render_markdown(sample_report.model_copy(update={"adaptations": adaptations}))
        assert "Adaptations" not in md


def test_cells_escape_pipes_html_and_line_breaks(make_finding, make_report) -> None:
    report = make_report(make_finding(message="a|b <script>x</script> & c\r\nd", scope="sg:x|y:ingress"))
    md = render_markdown(report)
    for row in table_rows(md):
        assert len(UNESCAPED_PIPE.findall(row)) == 9, row
    assert "a\\|b &lt;script&gt;x&lt;/script&gt; &amp; c<br>d" in md
    assert "<script>" not in md
    assert "\r" not in md


def test_adaptation_values_with_pipes_and_backticks(make_finding, make_report) -> None:
    adaptation = Adaptation(
        id="odd",
        title="Odd | title",
        quota_code=None,
        quota_name=None,
        reason="because",
        changes=(Change(path="x", before="a`b", after=["p|q", 1, None]),),
        impact=Impact(cost="c", security="s", performance="p", monthly_cost_delta_usd=32.4),
    )
    md = render_markdown(make_report(make_finding(), adaptations=(adaptation,)))
    assert "**Odd \\| title**" in md
    assert "``a`b`` → `[p|q, 1, none]`" in md
    assert "+$32.40/month" in md


def test_code_span_helper() -> None:
    assert code("plain") == "`plain`"
    assert code("a`b") == "``a`b``"
    assert code("`x") == "`` `x ``"
    assert code("a|b", cell=True) == "`a\\|b`"
    assert text("[link](x) *em*") == "\\[link\\](x) \\*em\\*"
