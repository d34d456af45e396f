"""GitHub workflow commands: one per finding needing attention and per adaptation, escaped as the toolkit."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from preflight.deployment import ManifestRef
from preflight.report.formats.github import escape_data, escape_property, render_github
from preflight.report.report import Report

COMMAND = re.compile(r"^::(?P<name>[a-z]+)(?: (?P<props>[^:]*))?::(?P<message>.*)$")


def unescape_data(value: str) -> str:
    # The runner's reverse mapping; %25 last so an escaped "%0A" stays literal.
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(value: str) -> str:
    return unescape_data(value.replace("%3A", ":").replace("%2C", ","))


def parse(output: str) -> tuple[list[tuple[str, dict[str, str], str]], list[str]]:
    """Commands (name, properties, message) as the runner reads them, and the plain lines."""
    commands, plain = [], []
    assert output.endswith("\n")
    for line in output[:-1].split("\n"):
        match = COMMAND.match(line)
        if not match:
            assert not line.startswith("::")
            plain.append(line)
            continue
        props: dict[str, str] = {}
        for pair in (match["props"] or "").split(","):
            if pair:
                key, _, value = pair.partition("=")
                props[key] = unescape_property(value)
        commands.append((match["name"], props, unescape_data(match["message"])))
    return commands, plain


def test_escaping_matches_the_actions_toolkit() -> None:
    assert escape_data("100%\r\n: ,") == "100%25%0D%0A: ,"
    assert escape_property("100%\r\n: ,") == "100%25%0D%0A%3A %2C"
    assert escape_property("%3A") == "%253A"  # already-escaped text is escaped again, not passed through


def test_one_command_per_finding_and_adaptation(sample_report: Report) -> None:
    commands, plain = parse(render_github(sample_report))
    assert [name for name, _, _ in commands] == ["error", "error", "warning", "notice"]
    fail, unknown, warn, notice = (props for _, props, _ in commands)
    assert fail == {
        "title": "FAIL Gateway VPC endpoints per Region (region)",
        "file": "manifests/tap-pipeline.yaml",
        "line": "35",
    }
    assert "line" not in unknown  # no manifest line known: the annotation goes on the file
    assert unknown["file"] == "manifests/tap-pipeline.yaml"
    assert warn["line"] == "16"
    assert notice["line"] == "35" and notice["title"].startswith("adaptation drop-gateway-endpoints")
    assert plain == [
        "tap-preflight: NO_GO for tap-pipeline (prod) in us-east-1: 1 fail, 1 unknown, 1 warn, 1 ok"
    ]


def test_every_special_character_is_escaped(make_finding, make_report) -> None:
    nasty = "100% used\r\nline two: a,b\rend\n::error::injected"
    scope = "sg:web,api:ingress%\r\nx"
    report = make_report(
        make_finding(message=nasty, scope=scope),
        manifest=ManifestRef(path="C:/work,dir/m%.yaml", name="m", sha256="0"),
    )
    output = render_github(report)
    first = output.split("\n")[0]
    # Raw: the message part is escaped data, the properties escaped properties.
    assert "100%25 used%0D%0Aline two: a,b%0Dend%0A::error::injected" in first
    assert "title=FAIL Gateway VPC endpoints per Region (sg web%2Capi ingress%25%0D%0Ax)" in first
    assert "file=C%3A/work%2Cdir/m%25.yaml" in first
    assert "\r" not in output
    commands, plain = parse(output)
    assert len(commands) == 1 and len(plain) == 1
    name, props, message = commands[0]
    assert name == "error"
    assert message.startswith(nasty + "\n")
    assert props["file"] == "C:/work,dir/m%.yaml"
    assert props["title"] == "FAIL Gateway VPC endpoints per Region (sg web,api ingress%\r\nx)"
    assert "scope sg web,api ingress%\r\nx: limit 20" in message


def test_golden_inputs_annotate_what_needs_attention(
    golden_input: Path, load_report: Callable[[Path], Report]
) -> None:
    report = load_report(golden_input)
    commands, plain = parse(render_github(report))
    expected = [
        {"FAIL": "error", "UNKNOWN": "error", "WARN": "warning"}[f.status]
        for status in ("FAIL", "UNKNOWN", "WARN")
        for f in report.findings
        if f.status == status
    ]
    # Then the checks that are not quotas (names taken, services not offered), worst first.
    expected += [
        {"FAIL": "error", "UNKNOWN": "error", "WARN": "warning"}[c.status]
        for status in ("FAIL", "UNKNOWN", "WARN")
        for c in report.checks
        if c.status == status
    ]
    expected += ["notice"] * len(report.adaptations or ())
    expected += ["notice"] * len(report.notes)  # a plan's notes: information, never an error or warning
    assert [name for name, _, _ in commands] == expected
    assert all(props["file"] == report.manifest.path for _, props, _ in commands)
    assert len(plain) == 1 and report.verdict in plain[0]


# Whatever the text, the runner reads back exactly one command per finding and the original text.
@settings(max_examples=200, deadline=None)
@given(message=st.text(), scope=st.text(min_size=1), path=st.text(min_size=1))
def test_no_text_can_break_out_of_its_command(make_finding, make_report, message, scope, path) -> None:
    report = make_report(
        make_finding(message=message, scope=scope),
        manifest=ManifestRef(path=path, name="m", sha256="0"),
    )
    commands, plain = parse(render_github(report))
    assert len(commands) == 1 and len(plain) == 1
    _, props, text = commands[0]
    assert props["file"] == path
    assert text.split("\n")[0] == message.split("\n")[0]
    assert text.startswith(message + "\n")
