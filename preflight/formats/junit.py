"""JUnit XML, for CI test-report views (Jenkins, GitLab, Azure DevOps, GitHub test-report actions).

One test suite per report, one test case per quota and scope. FAIL is a `<failure>`; UNKNOWN is
`<skipped>` with the reason (it was not evaluated, which is what skipped means to these readers; the
gate still fails closed on it); WARN passes and carries its message in `<system-out>`.
Built with ElementTree so every attribute and text is escaped; characters XML 1.0 cannot hold at all are
replaced, so the document always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from preflight.formats._common import (
    after,
    check_details,
    check_first_line,
    first_line,
    number,
    quota_entry,
    scope_label,
    unit_of,
)
from preflight.report import CheckFinding, Finding, Report

# XML 1.0 allows tab, LF, CR and everything from U+0020 except surrogates and U+FFFE/U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _element(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        child.text = xml_text(text)
    return child


def _details(report: Report, f: Finding) -> str:
    unit = unit_of(f)
    lines = [
        f.message,
        "",
        f"quota:       {f.quota_name} ({f.service_code}/{f.quota_code})",
        f"scope:       {scope_label(f.scope)}",
        f"limit:       {number(f.limit, unit)} ({f.limit_source})",
        f"in use:      {number(f.usage, unit)}",
        f"this deploy: {number(f.demand, unit)}",
        f"after:       {number(after(f), unit)}",
        f"headroom:    {number(f.headroom_after, unit)}",
        f"resources:   {', '.join(f.resources) or '-'}",
    ]
    line = first_line(f)
    if line is not None:
        lines.append(f"manifest:    {report.manifest.path}:{line}")
    entry = quota_entry(f.quota_code)
    if entry and entry.help:
        lines.append(f"about:       {entry.help}")
    for r in report.increase_requests:
        if r.quota_code == f.quota_code:
            lines.append(
                f"to fit:      raise it from {number(r.current, unit)} to {number(r.required, unit)}"
            )
    return "\n".join(lines)


def _check_case(suite: ET.Element, report: Report, c: CheckFinding) -> None:
    """One test case per non-quota finding, classed by its kind and rule id."""
    attrs = {
        "classname": f"{c.kind}.{c.id}",
        "name": f"{c.title} [{', '.join(c.resources) or '-'}]",
        "time": "0",
        "file": report.manifest.path,
    }
    line = check_first_line(c)
    if line is not None:
        attrs["line"] = str(line)
    case = _element(suite, "testcase", **attrs)
    details = "\n".join([c.message, "", *check_details(c)])
    if c.status == "FAIL":
        _element(case, "failure", details, message=c.message, type="FAIL")
    elif c.status == "UNKNOWN":
        _element(case, "skipped", message=c.message)
    elif c.status == "WARN":
        _element(case, "system-out", f"WARN: {details}")


def render_junit(report: Report) -> str:
    c = report.counts()
    totals = {
        "tests": str(len(report.findings) + len(report.checks)),
        "failures": str(c["FAIL"]),
        "errors": "0",
        "skipped": str(c["UNKNOWN"]),
        "time": f"{report.stats.elapsed_s:.3f}",
    }
    root = ET.Element("testsuites", {"name": "tap-preflight", **totals})
    suite = _element(
        root,
        "testsuite",
        name=f"tap-preflight {report.manifest.name} ({report.environment}) {report.region}",
        **totals,
    )
    props = _element(suite, "properties")
    for name, value in (
        ("verdict", report.verdict),
        ("command", report.command),
        ("account_id", report.account_id),
        ("manifest", report.manifest.path),
        ("manifest_sha256", report.manifest.sha256),
    ):
        _element(props, "property", name=name, value=value)
    for o in report.overrides:  # flags that change the verdict on purpose
        _element(props, "property", name=f"override {o.flag}", value=o.detail)

    for f in report.findings:
        attrs = {
            "classname": f"{f.service_code}.{f.quota_code}",
            "name": f"{f.quota_name} [{f.scope}]",
            "time": "0",
            # Not in the strict Ant schema, but read by the GitHub test-report actions to annotate a line.
            "file": report.manifest.path,
        }
        line = first_line(f)
        if line is not None:
            attrs["line"] = str(line)
        case = _element(suite, "testcase", **attrs)
        if f.status == "FAIL":
            _element(case, "failure", _details(report, f), message=f.message, type="FAIL")
        elif f.status == "UNKNOWN":
            _element(case, "skipped", message=f.message)
        elif f.status == "WARN":
            _element(case, "system-out", f"WARN: {_details(report, f)}")

    for c in report.checks:
        _check_case(suite, report, c)

    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
