"""SUPPRESSED (an accepted WARN or UNKNOWN) in the gate and in every format; a FAIL never is."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import jsonschema

from preflight.gate import GatePolicy, exit_code, verdict_for
from preflight.report.formats import render
from preflight.skips import Skip, suppress


def test_suppress_takes_warn_and_unknown_never_fail(make_finding: Any) -> None:
    warn = make_finding(quota_code="L-F678F1CE", status="WARN", scope="region")
    unknown = make_finding(quota_code="L-B99A9384", status="UNKNOWN", scope="region")
    fail = make_finding(quota_code="L-1B52E74A", status="FAIL", scope="region")
    other_scope = make_finding(quota_code="L-407747CB", status="WARN", scope="vpc:pipeline-vpc-prod")
    skips = (
        Skip("L-F678F1CE", reason="r1"),
        Skip("L-B99A9384", scope="region", reason="r2"),
        Skip("L-1B52E74A", reason="r3"),
        Skip("L-407747CB", scope="vpc:other", reason="r4"),
    )
    out = suppress([warn, unknown, fail, other_scope], skips)
    assert [f.status for f in out] == ["SUPPRESSED", "SUPPRESSED", "FAIL", "WARN"]
    assert out[0].suppression.status == "WARN" and out[0].suppression.reason == "r1"
    assert out[1].suppression.status == "UNKNOWN"
    # The gate agrees: the FAIL alone decides; with it gone, the suppressed UNKNOWN no longer blocks.
    policy = GatePolicy.from_flags(["warn"], skips=skips)
    assert verdict_for([warn, unknown, fail, other_scope], policy) == "NO_GO"
    assert verdict_for([warn, unknown], policy) == "GO"
    assert verdict_for([warn, unknown], GatePolicy.from_flags(["warn"])) == "NO_GO"


def test_suppressed_is_shown_in_every_format(
    make_finding: Any, make_report: Any, sarif_schema: dict[str, Any]
) -> None:
    from preflight.report.formats import FORMAT_NAMES

    skip = Skip(
        "L-F678F1CE", reason="VPC cleanup in OPS-1", source="--skip L-F678F1CE", expires=date(2099, 1, 1)
    )
    finding = suppress([make_finding(quota_code="L-F678F1CE", status="WARN", message="needs 1")], [skip])[0]
    report = make_report(finding)
    policy = GatePolicy.from_flags(["warn"], skips=(skip,))
    assert exit_code(report, policy) == 0
    for fmt in FORMAT_NAMES:
        text = render(report, fmt)  # type: ignore[arg-type]
        assert "SUPPRESSED" in text or '"suppressions"' in text, fmt
        assert "VPC cleanup in OPS-1" in text, fmt
    sarif = json.loads(render(report, "sarif"))
    jsonschema.Draft4Validator(sarif_schema).validate(sarif)
    (result,) = sarif["runs"][0]["results"]
    assert result["level"] == "warning"  # what it was; the suppression says it was accepted
    assert result["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "VPC cleanup in OPS-1 (until 2099-01-01)"}
    ]
    junit = render(report, "junit")
    assert "<failure" not in junit and 'name="suppressed"' in junit
    assert render(report, "github").startswith("::notice title=SUPPRESSED")
    assert (
        json.loads(render(report, "json"))["findings"][0]["suppression"]["reason"] == "VPC cleanup in OPS-1"
    )
