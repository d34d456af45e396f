"""The action's helpers (preflight/commands/ci.py): the PR comment under GitHub's limit, the SARIF
category."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preflight.commands.ci import categorize_sarif, comment_body, main, marker
from preflight.report.truncate import COMMENT_LIMIT


def big_report(sections: int) -> str:
    """A markdown report like a 1,000-function plan's: a verdict, then folded tables with code."""
    parts = ["## GO_WITH_ADAPTATIONS tap-pipeline (prod)\n"]
    for i in range(sections):
        parts.append(
            f"<details><summary>function f{i}</summary>\n\n```text\n"
            + "\n".join(f"row {i}.{j}: reserved 10, weight 1 — ok" for j in range(20))
            + "\n```\n\n</details>\n"
        )
    return "\n".join(parts)


def test_a_short_report_is_the_comment_after_its_marker() -> None:
    body = comment_body("## GO\n", key="prod:manifests/tap-pipeline.yaml")
    assert body == "<!-- tap-preflight:prod:manifests/tap-pipeline.yaml -->\n## GO\n"


def test_a_long_report_is_cut_under_the_limit_and_links_the_full_one() -> None:
    report = big_report(300)
    assert len(report) > 91_000
    body = comment_body(report, key="prod", link="https://example.test/artifacts/9")
    assert len(body.encode("utf-8")) <= COMMENT_LIMIT
    assert body.startswith(marker("prod") + "\n## GO_WITH_ADAPTATIONS")
    assert body.rstrip().endswith("see [the full report](https://example.test/artifacts/9).")
    kept = body.split("\n\n---\n**Truncated:**")[0]
    assert kept.count("```") % 2 == 0, "a cut code block is closed"
    assert kept.count("<details") == kept.count("</details>"), "a cut fold is closed"
    assert f"{len(report):,} characters" in body


def test_the_limit_counts_bytes_not_only_characters() -> None:
    report = "é" * 40_000  # 40,000 characters, 80,000 bytes
    body = comment_body(report, key="prod", limit=COMMENT_LIMIT)
    assert len(body.encode("utf-8")) <= COMMENT_LIMIT and "**Truncated:**" in body
    assert "the full report in this run's artifacts" in body


def test_a_key_cannot_break_out_of_the_marker() -> None:
    with pytest.raises(ValueError):
        marker("prod --> <script>")


def test_sarif_runs_get_the_category_upload_sarif_would_give(tmp_path: Path) -> None:
    path = tmp_path / "us-east-1.sarif"
    runs = [{"tool": {"driver": {"name": "tap-preflight"}}}, {"automationDetails": {"id": "kept/"}}]
    path.write_text(json.dumps({"version": "2.1.0", "runs": runs}))
    assert categorize_sarif(path, "tap-preflight/prod/us-east-1") == 1
    ids = [r["automationDetails"]["id"] for r in json.loads(path.read_text())["runs"]]
    assert ids == ["tap-preflight/prod/us-east-1/", "kept/"]


def test_the_command_line_writes_the_body(tmp_path: Path) -> None:
    report, body = tmp_path / "report.md", tmp_path / "body.md"
    report.write_text(big_report(300))
    assert main(["comment", "--key", "prod", "--link", "https://x.test/a", str(report), str(body)]) == 0
    text = body.read_text()
    assert len(text.encode("utf-8")) <= COMMENT_LIMIT and "https://x.test/a" in text
