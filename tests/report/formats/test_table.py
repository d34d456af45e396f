"""The terminal view at every width: one line per finding, the ones that need attention first, nothing
wider than the terminal, and after a NO_GO the commands to run next."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.cells import cell_len

from preflight.report.formats import render, render_many
from preflight.report.formats.table import render_table, render_tables
from preflight.report.nextsteps import Invocation, next_steps
from preflight.report.report import Report

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
WIDTHS = (40, 60, 80, 120, 200)
ROW = re.compile(r"^(OK|WARN|FAIL|UNKNOWN)\s+(L-\w+\s+)?\S")


def visible(text: str) -> list[str]:
    return ANSI.sub("", text).splitlines()


@pytest.mark.parametrize("wide", [False, True], ids=["compact", "wide"])
@pytest.mark.parametrize("color", [False, True], ids=["plain", "colour"])
@pytest.mark.parametrize("width", WIDTHS)
def test_nothing_is_wider_than_the_terminal(
    golden_input: Path, load_report: Callable[[Path], Report], width: int, color: bool, wide: bool
) -> None:
    report = load_report(golden_input)
    text = render_table(report, color=color, width=width, wide=wide)
    lines = visible(text)
    assert [line for line in lines if cell_len(line) > width] == []
    assert ("\x1b[" in text) == color
    assert any(line.startswith(report.verdict + " ") for line in lines)
    # Every FAIL is named with its quota code on a line of its own, at any width.
    for f in report.findings:
        if f.status == "FAIL":
            assert any(re.match(rf"FAIL +{f.quota_code} ", line) for line in lines), (f.quota_code, text)


@pytest.mark.parametrize("width", [60, 80])
def test_compact_view_is_one_line_per_finding_attention_first(
    golden_input: Path, load_report: Callable[[Path], Report], width: int
) -> None:
    report = load_report(golden_input)
    rows = [line for line in visible(render_table(report, width=width)) if ROW.match(line)]
    findings = [line for line in rows if not re.search(r": ", line)]  # the reasons below say "scope: why"
    assert len(findings) == len(report.findings)
    statuses = [line.split()[0] for line in findings]
    rank = {"FAIL": 0, "UNKNOWN": 1, "WARN": 2, "OK": 3}
    assert statuses == sorted(statuses, key=rank.__getitem__)
    assert statuses.count("FAIL") == sum(f.status == "FAIL" for f in report.findings)
    # Checks that are not quotas are reasons, each under its rule id.
    text = "\n".join(visible(render_table(report, width=width)))
    assert all(re.search(rf"{c.status} +{c.id}\b", text) for c in report.checks if c.status != "OK")
    # Below 72 columns the code gives way to the quota's name; the reasons below still name it.
    assert all(("L-" in line) == (width >= 72) for line in findings)


def test_wide_is_the_full_table(load_report: Callable[[Path], Report], golden_input: Path) -> None:
    report = load_report(golden_input)
    text = ANSI.sub("", render_table(report, width=200, wide=True))
    header = next(line for line in text.splitlines() if "status" in line)
    assert header.split() == [
        "status",
        "code",
        "quota",
        "scope",
        "limit",
        "source",
        "in",
        "use",
        "deploy",
        "after",
    ]


def test_the_summary_line_stays_one_line_at_60_columns(sample_report: Report) -> None:
    lines = visible(render_table(sample_report, width=60))
    summary = [line for line in lines if line.startswith("NO_GO ")]
    assert summary == ["NO_GO us-east-1: 1 fail, 1 unknown, 1 warn, 1 ok"]
    seed_like = sample_report.model_copy(update={"findings": sample_report.findings[:1]})
    assert [line for line in visible(render_table(seed_like, width=60)) if line.startswith("NO_GO ")] == [
        "NO_GO tap-pipeline (prod) us-east-1: 1 fail"
    ]
    wide_summary = [
        line for line in visible(render_table(sample_report, width=200)) if line.startswith("NO_GO")
    ]
    assert wide_summary == [
        "NO_GO tap-pipeline (prod) in us-east-1, account 111122223333: 1 fail, 1 unknown, 1 warn, 1 ok"
    ]


def test_several_regions_end_with_the_overall_verdict(sample_report: Report) -> None:
    other = sample_report.model_copy(update={"region": "eu-west-1"})
    text = render_tables([sample_report, other], width=80)
    assert text.endswith("Overall: NO_GO (us-east-1, eu-west-1)\n")
    assert render_many([sample_report, other], "table") == render_tables([sample_report, other])


# --- what to run next ----------------------------------------------------------------------------------


def commands(report: Report, invocation: Invocation | None = None) -> list[str]:
    return [" ".join(step.argv) for step in next_steps(report, invocation)]


def test_a_no_go_check_leads_to_plan_adapt_then_request_increases(make_report, make_finding) -> None:
    report = make_report(make_finding())
    inv = Invocation(manifest="m.yaml", region_given=True, sandbox="seed-account", limits=("L-1B52E74A=30",))
    assert commands(report, inv) == [
        "tap-preflight plan --adapt m.yaml --env prod --region us-east-1 --sandbox seed-account"
        " --limit L-1B52E74A=30 --save-plan plan.json",
        "tap-preflight request-increases --plan plan.json --sandbox seed-account",
    ]
    # Without the arguments (a report read back from JSON) the report's own manifest and environment.
    assert commands(report) == [
        "tap-preflight plan --adapt manifests/tap-pipeline.yaml --env prod --save-plan plan.json",
        "tap-preflight request-increases --plan plan.json",
    ]


def test_a_snapshot_plans_offline_but_asks_the_live_account(make_report, make_finding) -> None:
    inv = Invocation(
        manifest="m.yaml", snapshot="account.json", profile="prod", role_arn="arn:aws:iam::1:role/r"
    )
    assert commands(make_report(make_finding()), inv) == [
        "tap-preflight plan --adapt m.yaml --env prod --snapshot account.json --profile prod"
        " --role-arn arn:aws:iam::1:role/r --save-plan plan.json",
        "tap-preflight request-increases --plan plan.json --profile prod --role-arn arn:aws:iam::1:role/r",
    ]


def test_a_no_go_plan_with_a_saved_plan_only_asks_for_increases(make_report, make_finding) -> None:
    report = make_report(make_finding(), command="plan", adaptations=(), region="eu-west-1")
    inv = Invocation(manifest="m.yaml", adapt=True, save_plan="plan-{region}.json")
    assert commands(report, inv) == ["tap-preflight request-increases --plan plan-eu-west-1.json"]
    # Not saved: save it first.
    assert commands(report, Invocation(manifest="m.yaml", adapt=True))[0].endswith("--save-plan plan.json")


def test_go_has_no_next_step_and_unknown_suggests_access_or_allow_unknown(make_report, make_finding) -> None:
    ok = make_finding(status="OK", usage=1.0, headroom_after=17.0, message="fits")
    assert commands(make_report(ok)) == []
    unknown = make_finding(status="UNKNOWN", limit=None, limit_source="unknown", message="limit unknown")
    assert commands(make_report(unknown), Invocation(manifest="m.yaml")) == [
        "tap-preflight check m.yaml --env prod --allow-unknown"
    ]


def test_paths_are_quoted_and_long_commands_continue_within_the_width(make_report, make_finding) -> None:
    inv = Invocation(manifest="my manifests/tap pipeline.yaml", sandbox="seed-account")
    text = render_table(make_report(make_finding()), width=60, invocation=inv)
    tail = text[text.index("Next:") :]
    assert all(cell_len(line) <= 60 for line in tail.splitlines())
    joined = re.sub(r" \\\n\s+", " ", tail)
    assert (
        "tap-preflight plan --adapt 'my manifests/tap pipeline.yaml' --env prod --sandbox seed-account"
        in joined
    )


def test_markdown_ends_a_no_go_with_the_commands(make_report, make_finding) -> None:
    md = render(
        make_report(make_finding()), "markdown", Invocation(manifest="m.yaml", sandbox="seed-account")
    )
    section = md[md.index("#### Next steps") : md.index("<details>")]
    plan = "tap-preflight plan --adapt m.yaml --env prod --sandbox seed-account --save-plan plan.json"
    assert f"```sh\n{plan}\n```" in section
    assert "```sh\ntap-preflight request-increases --plan plan.json --sandbox seed-account\n```" in section
    go = make_report(make_finding(status="OK", message="fits"))
    assert "Next steps" not in render(go, "markdown")
