"""JUnit XML, for CI test-report views (Jenkins, GitLab, Azure DevOps, GitHub test-report actions).

One test suite per report, one test case per quota and scope. FAIL is a `<failure>`; UNKNOWN is an
`<error>` (it could not be evaluated and the gate fails closed on it: a `<skipped>` would show green in
these views); WARN carries its message in `<system-out>` and a `warn` property, and is a `<failure>`
when WARNs fail the gate (`--fail-on warn`, `--strict`). Adaptations of a plan are test cases too: a
pass with `<system-out>`, or a `<failure>` under `--strict`, so that GO_WITH_ADAPTATIONS is never
all green without a word. A plan's notes (what it deploys as requested but serves nothing, with its
cost) are information, never a failure: a `note <id>` property of the suite and the suite's
`<system-out>`.
Built with ElementTree so every attribute and text is escaped; characters XML 1.0 cannot hold at all are
replaced, so the document always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import assert_never

from preflight.deployment import Adaptation
from preflight.report.formats._common import (
    after,
    check_details,
    check_first_line,
    first_line,
    number,
    quota_entry,
    scope_label,
    suppression_text,
    unit_of,
    value_text,
)
from preflight.report.formats.checklist import Checklist
from preflight.report.report import CheckFinding, Finding, Report

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
    if f.suppression:
        lines.append(f"suppressed:  {suppression_text(f)}")
    for r in report.increase_requests:
        if r.quota_code == f.quota_code:
            lines.append(
                f"to fit:      raise it from {number(r.current, unit)} to {number(r.required, unit)}"
            )
    return "\n".join(lines)


def _case(suite: ET.Element, report: Report, classname: str, name: str, line: int | None) -> ET.Element:
    """A test case located in the manifest: `file` and `line` are not in the strict Ant schema, but
    the GitHub test-report actions read them to annotate a line."""
    attrs = {"classname": classname, "name": name, "time": "0", "file": report.manifest.path}
    if line is not None:
        attrs["line"] = str(line)
    return _element(suite, "testcase", **attrs)


def _check_case(suite: ET.Element, report: Report, c: CheckFinding, *, warn_fails: bool) -> None:
    """One test case per non-quota finding, classed by its kind and rule id."""
    name = f"{c.title} [{', '.join(c.resources) or '-'}]"
    case = _case(suite, report, f"{c.kind}.{c.id}", name, check_first_line(c))
    details = "\n".join([c.message, "", *check_details(c), *filter(None, [suppression_text(c)])])
    _outcome(case, c.status, c.message, details, warn_fails=warn_fails)


def _outcome(case: ET.Element, status: str, message: str, details: str, *, warn_fails: bool) -> None:
    """FAIL a failure, UNKNOWN an error, WARN a failure only when WARNs fail the gate."""
    if status == "FAIL":
        _element(case, "failure", details, message=message, type="FAIL")
    elif status == "UNKNOWN":
        _element(case, "error", details, message=message, type="UNKNOWN")
    elif status == "SUPPRESSED":  # accepted risk passes, and says so
        props = _element(case, "properties")
        _element(props, "property", name="suppressed", value=message)
        _element(case, "system-out", f"SUPPRESSED: {details}")
    elif status == "WARN":
        if warn_fails:
            _element(case, "failure", details, message=message, type="WARN")
        else:
            props = _element(case, "properties")
            _element(props, "property", name="warn", value=message)
        _element(case, "system-out", f"WARN: {details}")


def _adaptation_case(suite: ET.Element, report: Report, a: Adaptation, *, strict: bool) -> None:
    attrs = {"classname": f"adaptation.{a.id}", "name": a.title, "time": "0", "file": report.manifest.path}
    line = next((c.line for c in a.changes if c.line is not None and c.line >= 1), None)
    if line is not None:
        attrs["line"] = str(line)
    case = _element(suite, "testcase", **attrs)
    details = "\n".join(
        [
            a.reason,
            "",
            *(f"{c.path}: {value_text(c.before)} -> {value_text(c.after)}" for c in a.changes),
            f"cost: {a.impact.cost}; security: {a.impact.security}; performance: {a.impact.performance}",
        ]
    )
    if strict:  # --strict: a plan that needs adaptations does not pass
        _element(case, "failure", details, message=a.reason, type="ADAPTATION")
    else:
        props = _element(case, "properties")
        _element(props, "property", name="adaptation", value=a.reason)
    _element(case, "system-out", f"ADAPTATION: {details}")


def _notes(suite: ET.Element, props: ET.Element, report: Report) -> None:
    """Each note a suite property, all of them in the suite's `<system-out>` (after the test cases, as the
    schema orders it): views that show one or the other still show them, and none counts as a test."""
    if not report.notes:
        return
    lines = []
    for n in report.notes:
        _element(props, "property", name=f"note {n.id}", value=f"{n.title}: {n.reason}")
        where = f" ({', '.join(n.paths)})" if n.paths else ""
        lines.append(f"NOTE {n.id}{where}: {n.title}: {n.reason}; cost: {n.impact.cost}")
    _element(suite, "system-out", "\n".join(lines))


def render_junit(report: Report, *, warn_fails: bool = False, strict: bool = False) -> str:
    """`warn_fails`: WARNs fail the gate (--fail-on warn or --strict); `strict`: so do adaptations."""
    warn_fails = warn_fails or strict
    c = report.counts()
    adaptations = report.adaptations or ()
    totals = {
        "tests": str(len(report.findings) + len(report.checks) + len(adaptations)),
        "failures": str(c["FAIL"] + (c["WARN"] if warn_fails else 0) + (len(adaptations) if strict else 0)),
        "errors": str(c["UNKNOWN"]),
        "skipped": "0",
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
        case = _case(
            suite, report, f"{f.service_code}.{f.quota_code}", f"{f.quota_name} [{f.scope}]", first_line(f)
        )
        if f.status != "OK":
            _outcome(case, f.status, f.message, _details(report, f), warn_fails=warn_fails)

    for check in report.checks:
        _check_case(suite, report, check, warn_fails=warn_fails)
    for a in adaptations:
        _adaptation_case(suite, report, a, strict=strict)
    _notes(suite, props, report)

    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


# --- checklists: lint, verify-program, rehearse, request-increases ----------------------------------


def render_checklist_junit(checklist: Checklist) -> str:
    """One suite, one test case per item: `failed` a `<failure>`, `error` an `<error>`, `skipped` a
    `<skipped>`; a `warning` passes with its message in `<system-out>` (as a quota WARN does)."""
    totals = {
        "tests": str(len(checklist.items)),
        "failures": str(checklist.count("failed")),
        "errors": str(checklist.count("error")),
        "skipped": str(checklist.count("skipped")),
        "time": "0",
    }
    root = ET.Element("testsuites", {"name": "tap-preflight", **totals})
    suite = _element(root, "testsuite", name=f"tap-preflight {checklist.command}", **totals)
    props = _element(suite, "properties")
    for name, value in (
        ("command", checklist.command),
        ("ok", str(checklist.ok).lower()),
        ("summary", checklist.title),
    ):
        _element(props, "property", name=name, value=value)
    for item in checklist.items:
        file, line = checklist.location(item)
        attrs = {
            "classname": f"tap-preflight.{checklist.command}",
            "name": f"{item.rule} {item.name}".strip(),
        }
        attrs["time"] = "0"
        if file:
            attrs["file"] = file
        if line is not None and line >= 1:
            attrs["line"] = str(line)
        case = _element(suite, "testcase", **attrs)
        where = f"{file}:{line}" if file and line else file
        body = "\n".join(filter(None, [item.message, where]))
        match item.status:
            case "failed":
                _element(case, "failure", body, message=item.message or item.name, type=item.rule)
            case "error":
                _element(case, "error", body, message=item.message or item.name, type=item.rule)
            case "skipped":
                _element(case, "skipped", message=item.message or "skipped")
            case "warning":
                _element(case, "system-out", body)
            case "passed":
                pass
            case _:
                assert_never(item.status)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
