"""SARIF: valid against the vendored OASIS 2.1.0 schema, one rule per quota, results at manifest lines."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from preflight import __version__
from preflight.report.formats.sarif import artifact_location, render_sarif
from preflight.report.report import Report


def validate(doc: dict[str, Any], schema: dict[str, Any]) -> None:
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(doc)
    # The "uri" format needs an optional package jsonschema may not have: check the URIs by hand.
    run = doc["runs"][0]
    assert "informationUri" not in run["tool"]["driver"]  # no public home to point at yet
    for rule in run["tool"]["driver"]["rules"]:
        if rule["properties"].get("kind") == "note":  # a plan's note has no page to point at
            assert "helpUri" not in rule and rule["defaultConfiguration"]["level"] == "note"
            continue
        assert urlsplit(rule["helpUri"]).scheme == "https"


def test_the_vendored_schema_is_the_oasis_one(sarif_schema: dict[str, Any]) -> None:
    assert "docs.oasis-open.org/sarif/sarif/v2.1.0" in sarif_schema["id"]
    assert sarif_schema["properties"]["version"]["enum"] == ["2.1.0"]


def test_golden_inputs_validate(
    golden_input: Path, load_report: Callable[[Path], Report], sarif_schema: dict[str, Any]
) -> None:
    report = load_report(golden_input)
    doc = json.loads(render_sarif(report))
    validate(doc, sarif_schema)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    quota_rules = list(dict.fromkeys(f.quota_code for f in report.findings))
    check_rules = list(dict.fromkeys(c.id for c in report.checks))
    note_rules = list(dict.fromkeys(n.id for n in report.notes))
    assert [r["id"] for r in rules] == quota_rules + check_rules + note_rules
    not_ok = [f for f in report.findings if f.status != "OK"]
    checks = [c for c in report.checks if c.status != "OK"]
    assert len(run["results"]) == len(not_ok) + len(checks) + len(report.notes)
    for result, n in zip(run["results"][len(not_ok) + len(checks) :], report.notes, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == n.id
        assert result["level"] == "note"  # information: code scanning fails no check on it
    for result, f in zip(run["results"], not_ok, strict=False):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == f.quota_code
        assert result["message"]["text"] == f.message
    for result, c in zip(run["results"][len(not_ok) : len(not_ok) + len(checks)], checks, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == c.id
        assert result["message"]["text"].startswith(c.message)


def test_shape_of_rules_and_results(sample_report: Report, sarif_schema: dict[str, Any]) -> None:
    doc = json.loads(render_sarif(sample_report))
    validate(doc, sarif_schema)
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert doc["version"] == "2.1.0"
    assert len(doc["runs"]) == 1
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["name"] == "tap-preflight" and driver["version"] == __version__
    gateway = driver["rules"][0]
    assert gateway["id"] == "L-1B52E74A"
    assert gateway["name"] == "GatewayEndpoints"
    assert gateway["shortDescription"]["text"] == "Gateway VPC endpoints per Region"
    assert "VpcEndpointLimitExceeded" in gateway["fullDescription"]["text"]
    assert "ec2:DescribeVpcEndpoints" in gateway["help"]["text"]
    assert gateway["properties"]["service_code"] == "vpc" and gateway["properties"]["scope"] == "region"

    results = {r["ruleId"]: r for r in doc["runs"][0]["results"]}
    assert set(results) == {"L-1B52E74A", "L-0918CF54", "L-F678F1CE"}  # the OK finding has none
    assert results["L-1B52E74A"]["level"] == "error"
    assert results["L-0918CF54"]["level"] == "error"  # UNKNOWN fails closed
    assert results["L-F678F1CE"]["level"] == "warning"

    fail = results["L-1B52E74A"]
    location = fail["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "manifests/tap-pipeline.yaml", "uriBaseId": "SRCROOT"}
    assert location["region"] == {"startLine": 35}
    assert {"scope": "region", "limit": 20.0, "usage": 20.0, "demand": 2.0}.items() <= fail[
        "properties"
    ].items()
    # No manifest line known: the location has no region rather than a made-up line.
    assert "region" not in results["L-0918CF54"]["locations"][0]["physicalLocation"]


def test_fingerprint_ignores_the_line(make_finding, make_report) -> None:
    def fingerprint(lines: tuple[int, ...]) -> str:
        doc = json.loads(render_sarif(make_report(make_finding(lines=lines))))
        return doc["runs"][0]["results"][0]["partialFingerprints"]["tapPreflightQuotaScope/v1"]

    assert fingerprint((35,)) == fingerprint((40, 41))


def test_quota_code_unknown_to_the_catalog_still_validates(
    make_finding, make_report, sarif_schema: dict[str, Any]
) -> None:
    report = make_report(make_finding(service_code="ec2", quota_code="L-NEW00001", quota_name="New: quota"))
    doc = json.loads(render_sarif(report))
    validate(doc, sarif_schema)
    assert doc["runs"][0]["tool"]["driver"]["rules"][0]["name"] == "NewQuota"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("manifests/tap-pipeline.yaml", {"uri": "manifests/tap-pipeline.yaml", "uriBaseId": "SRCROOT"}),
        ("./manifests/a b.yaml", {"uri": "manifests/a%20b.yaml", "uriBaseId": "SRCROOT"}),
        ("manifests\\win.yaml", {"uri": "manifests/win.yaml", "uriBaseId": "SRCROOT"}),
        ("/srv/repo/m.yaml", {"uri": "file:///srv/repo/m.yaml"}),
        ("C:\\repo\\m.yaml", {"uri": "file:///C:/repo/m.yaml"}),
    ],
)
def test_artifact_location(path: str, expected: dict[str, str]) -> None:
    assert artifact_location(path) == expected


def test_odd_manifest_paths_and_messages_validate(
    make_finding, make_report, sarif_schema: dict[str, Any]
) -> None:
    from preflight.deployment import ManifestRef

    report = make_report(
        make_finding(message='50% "done"\r\nnext: <a>, b|c', lines=()),
        manifest=ManifestRef(path="/abs/dir with space/m.yaml", name="m", sha256="0"),
    )
    validate(json.loads(render_sarif(report)), sarif_schema)
