"""JUnit XML: parsed back with a real XML parser; counts, failures and skips match the findings."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from preflight.report.formats.junit import render_junit
from preflight.report.report import Report


def xml_char_ok(c: str) -> bool:
    """XML 1.0's Char production: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]."""
    n = ord(c)
    return c in "\t\n\r" or 0x20 <= n <= 0xD7FF or 0xE000 <= n <= 0xFFFD or 0x10000 <= n <= 0x10FFFF


def as_attribute(value: str) -> str:
    """What the document must hold: every character XML cannot carry replaced by U+FFFD."""
    return "".join(c if xml_char_ok(c) else "\ufffd" for c in value)


def as_text_node(value: str) -> str:
    """What a parser gives back for element text: XML normalises CR and CRLF line ends to LF."""
    return as_attribute(value).replace("\r\n", "\n").replace("\r", "\n")


def check_against(report: Report, xml: str) -> ET.Element:
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(xml.encode("utf-8"))  # bytes, so the declaration's encoding is honoured
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    c = report.counts()
    adaptations = report.adaptations or ()
    for element in (root, suite):
        assert element.get("tests") == str(len(report.findings) + len(report.checks) + len(adaptations))
        assert element.get("failures") == str(c["FAIL"])
        # UNKNOWN fails the gate closed: an error, never a skip (a skip shows green in CI views).
        assert element.get("errors") == str(c["UNKNOWN"])
        assert element.get("skipped") == "0"
    assert suite.get("name") == (
        f"tap-preflight {report.manifest.name} ({report.environment}) {report.region}"
    )
    cases = suite.findall("testcase")
    n_checks = len(report.findings) + len(report.checks)
    assert len(cases) == n_checks + len(adaptations) == xml.count("<testcase ")
    assert not root.findall(".//skipped")
    # Quota findings first, then one case per check that is not a quota, classed by kind and rule id.
    for case, c in zip(cases[len(report.findings) : n_checks], report.checks, strict=True):
        assert case.get("classname") == f"{c.kind}.{c.id}"
        assert len(case.findall("failure")) == (c.status == "FAIL")
        assert len(case.findall("error")) == (c.status == "UNKNOWN")
    for case, f in zip(cases[: len(report.findings)], report.findings, strict=True):
        assert case.get("classname") == as_attribute(f"{f.service_code}.{f.quota_code}")
        assert case.get("name") == as_attribute(f"{f.quota_name} [{f.scope}]")
        failures, errors, out = case.findall("failure"), case.findall("error"), case.findall("system-out")
        assert len(failures) == (f.status == "FAIL")
        assert len(errors) == (f.status == "UNKNOWN")
        assert len(out) == (f.status == "WARN")
        if f.status == "WARN":  # visible without failing: a property and the details
            assert [p.get("value") for p in case.findall("properties/property[@name='warn']")] == [
                as_attribute(f.message)
            ]
        if failures:
            assert failures[0].get("type") == "FAIL"
            assert failures[0].get("message") == as_attribute(f.message)
            assert as_text_node(f.message) in (failures[0].text or "")
        if errors:
            assert errors[0].get("type") == "UNKNOWN"
            assert errors[0].get("message") == as_attribute(f.message)
        if out:
            assert as_text_node(f.message) in (out[0].text or "")
    for case, a in zip(cases[n_checks:], adaptations, strict=True):
        assert case.get("classname") == f"adaptation.{a.id}"
        assert not case.findall("failure"), "an adaptation fails only under --strict"
        assert as_text_node(a.reason) in (case.findtext("system-out") or "")
    return root


def test_golden_inputs_parse_back(golden_input: Path, load_report: Callable[[Path], Report]) -> None:
    report = load_report(golden_input)
    check_against(report, render_junit(report))


def test_one_of_each_status(sample_report: Report) -> None:
    root = check_against(sample_report, render_junit(sample_report))
    cases = root.findall("testsuite/testcase")
    # Four findings, then the one adaptation (at its first changed line).
    assert [c.get("line") for c in cases] == ["35", None, "16", "114", "35"]
    assert cases[1].find("error").get("message") == "limit unknown: kinesis:DescribeLimits denied"
    assert "raise it from 20 to 22" in cases[0].find("failure").text


def _failures(root: ET.Element) -> dict[str, str]:
    return {
        case.get("classname", ""): f.get("type", "")
        for case in root.iter("testcase")
        for f in case.findall("failure")
    }


def test_warn_and_adaptations_fail_only_when_the_gate_says_so(sample_report: Report) -> None:
    plain = ET.fromstring(render_junit(sample_report).encode())
    assert set(_failures(plain).values()) == {"FAIL"}
    assert plain.get("failures") == "1"

    warn = ET.fromstring(render_junit(sample_report, warn_fails=True).encode())
    assert sorted(_failures(warn).values()) == ["FAIL", "WARN"]
    assert warn.get("failures") == "2"

    strict = ET.fromstring(render_junit(sample_report, strict=True).encode())
    assert sorted(_failures(strict).values()) == ["ADAPTATION", "FAIL", "WARN"]
    assert strict.get("failures") == strict.find("testsuite").get("failures") == "3"
    assert any(name.startswith("adaptation.") for name in _failures(strict))


def test_render_many_passes_the_gate_policy_to_junit(sample_report: Report) -> None:
    from preflight.gate import GatePolicy
    from preflight.report.formats import render_many

    two = [sample_report, sample_report.model_copy(update={"region": "eu-west-1"})]
    root = ET.fromstring(render_many(two, "junit", policy=GatePolicy.from_flags(["warn"])).encode())
    assert root.get("failures") == "4" and root.get("errors") == "2" and root.get("skipped") == "0"


def test_empty_report(make_report) -> None:
    report = make_report()
    root = check_against(report, render_junit(report))
    assert root.get("tests") == "0"


# Any text at all, control characters and lone surrogates included: the document must still parse.
@settings(max_examples=200, deadline=None)
@given(
    message=st.text(), scope=st.text(min_size=1), status=st.sampled_from(["OK", "WARN", "FAIL", "UNKNOWN"])
)
def test_any_text_gives_parseable_xml(
    make_finding, make_report, message: str, scope: str, status: str
) -> None:
    report = make_report(make_finding(message=message, scope=scope, status=status))
    check_against(report, render_junit(report))
