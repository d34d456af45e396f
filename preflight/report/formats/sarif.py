"""SARIF 2.1.0, for GitHub code scanning and any SARIF viewer.

Choices:
- one rule per quota code that appears in the findings (OK ones too, so a viewer lists what was checked),
  its help taken from the catalog: what the quota is, its scope and where usage is counted;
- one result per finding that is not OK. FAIL is `error`; UNKNOWN is `error` too, because the gate fails
  closed on it by default (the same level as the `github` format's annotation); WARN is `warning`.
  OK findings give no result: code scanning would list each one as an alert;
- a plan's notes (what it deploys as requested but serves nothing, with its cost) are `note`-level
  results of `note`-level rules: code scanning shows them with the lowest severity, which fails no check
  by default; they are information, not findings, so the verdict never depends on them;
- each result located at the manifest line of the first resource that creates the demand, with a
  fingerprint of (quota, scope, environment, region), so an alert survives edits that move the line.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import quote

from preflight import __version__
from preflight.deployment import Note
from preflight.report.formats._common import (
    check_details,
    check_first_line,
    first_line,
    quota_entry,
    scope_label,
)
from preflight.report.formats.checklist import Checklist, Item
from preflight.report.report import CheckFinding, Finding, Report

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"FAIL": "error", "UNKNOWN": "error", "WARN": "warning", "SUPPRESSED": "warning"}
_SCOPE_WORDS = {
    "region": "per region",
    "global": "per account (read in us-east-1)",
    "vpc": "per VPC",
    "az": "per Availability Zone",
    "security-group": "per security group and direction",
    "role": "per IAM role",
}


def _pascal(words: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", words) if part)


def _console_uri(service_code: str, quota_code: str) -> str:
    return (
        "https://console.aws.amazon.com/servicequotas/home/services/"
        f"{quote(service_code, safe='')}/quotas/{quote(quota_code, safe='')}"
    )


def _rule(f: Finding) -> dict[str, Any]:
    entry = quota_entry(f.quota_code)
    if entry is None:  # a code this build's catalog does not know: describe it from the finding alone
        full = f"{f.quota_name} ({f.service_code}/{f.quota_code})."
        return {
            "id": f.quota_code,
            "name": _pascal(f.quota_name) or f.quota_code,
            "shortDescription": {"text": f.quota_name},
            "fullDescription": {"text": full},
            "help": {"text": full},
            "helpUri": _console_uri(f.service_code, f.quota_code),
            "defaultConfiguration": {"level": "error"},
            "properties": {"service_code": f.service_code, "tags": ["aws-quota", f.service_code]},
        }
    scope = _SCOPE_WORDS.get(entry.scope, f"per {entry.scope}")
    parts = [f"AWS quota {entry.service_code}/{entry.quota_code}, counted {scope}."]
    if entry.help:
        parts.append(entry.help)
    parts.append(f"Usage is counted from {entry.usage_from}.")
    full = " ".join(parts)
    fix = (
        "To fit: free capacity in the account, request an increase in Service Quotas"
        if entry.adjustable
        else "This quota cannot be raised: change the design"
    ) + ", or let {adapt} change the plan where the manifest allows it."
    markdown = (
        f"**{entry.name}** (`{entry.service_code}/{entry.quota_code}`), counted {scope}.\n\n"
        + (f"{entry.help}\n\n" if entry.help else "")
        + f"Usage is counted from `{entry.usage_from}`.\n\n"
        + fix.format(adapt="`tap-preflight plan --adapt`")
    )
    return {
        "id": entry.quota_code,
        "name": _pascal(entry.key),
        "shortDescription": {"text": entry.name},
        "fullDescription": {"text": full},
        "help": {"text": f"{full} {fix.format(adapt='tap-preflight plan --adapt')}", "markdown": markdown},
        "helpUri": _console_uri(entry.service_code, entry.quota_code),
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "service_code": entry.service_code,
            "scope": entry.scope,
            "default": entry.default,
            "unit": entry.unit,
            "adjustable": entry.adjustable,
            "usage_from": entry.usage_from,
            "tags": ["aws-quota", entry.service_code],
        },
    }


def artifact_location(path: str) -> dict[str, str]:
    """A relative manifest path against SRCROOT (code scanning maps it to the repository), else a file URI."""
    posix = path.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:/", posix):
        return {"uri": "file://" + quote(posix if posix.startswith("/") else "/" + posix, safe="/:")}
    while posix.startswith("./"):
        posix = posix[2:]
    return {"uri": quote(posix, safe="/"), "uriBaseId": "SRCROOT"}


def _fingerprint(report: Report, f: Finding) -> str:
    key = "\0".join((f.quota_code, f.scope, report.environment, report.region))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _result(report: Report, f: Finding, rule_index: int) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": artifact_location(report.manifest.path)}
    line = first_line(f)
    if line is not None:
        physical["region"] = {"startLine": line}
    return {
        "ruleId": f.quota_code,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": _level(f),
        "message": {"text": f.message},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {"tapPreflightQuotaScope/v1": _fingerprint(report, f)},
        "properties": {
            "status": f.status,
            "scope": f.scope,
            "scope_label": scope_label(f.scope),
            "limit": f.limit,
            "limit_source": f.limit_source,
            "usage": f.usage,
            "demand": f.demand,
            "headroom_after": f.headroom_after,
            "utilization_after": f.utilization_after,
            "resources": list(f.resources),
        },
        **_suppressions(f),
    }


def _check_rule(c: CheckFinding) -> dict[str, Any]:
    from preflight.conflicts import RULES

    rule = RULES.get(c.id)
    help_text = rule.help if rule else c.title
    out: dict[str, Any] = {
        "id": c.id,
        "name": _pascal(c.title) or c.id,
        "shortDescription": {"text": c.title},
        "fullDescription": {"text": f"{c.title}: {help_text}"},
        "help": {"text": f"{help_text} The finding says what the deploy would do and how to fix it."},
        "defaultConfiguration": {"level": "error"},
        "properties": {"kind": c.kind, "tags": [f"deploy-{c.kind}"]},
    }
    if rule and rule.help_uri:
        out["helpUri"] = rule.help_uri
    return out


def _check_result(report: Report, c: CheckFinding, rule_index: int) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": artifact_location(report.manifest.path)}
    line = check_first_line(c)
    if line is not None:
        physical["region"] = {"startLine": line}
    key = "\0".join((c.id, *c.resources, report.environment, report.region))
    return {
        "ruleId": c.id,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": _level(c),
        "message": {"text": " ".join([c.message, *(f"{d}." for d in check_details(c))])},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {"tapPreflightCheck/v1": hashlib.sha256(key.encode()).hexdigest()[:32]},
        "properties": {
            "status": c.status,
            "kind": c.kind,
            "resources": list(c.resources),
            "names": list(c.names),
            "owner": c.owner,
            "action": c.action,
            "fix": c.fix,
        },
        **_suppressions(c),
    }


def _note_rule(n: Note) -> dict[str, Any]:
    return {
        "id": n.id,
        "name": _pascal(n.id) or n.id,
        "shortDescription": {"text": n.title},
        "fullDescription": {"text": f"{n.title}: information about the plan, not a finding."},
        "help": {"text": "The plan deploys it as requested; the note says what it costs. It fails nothing."},
        "defaultConfiguration": {"level": "note"},
        "properties": {"kind": "note", "tags": ["plan-note"]},
    }


def _note_result(report: Report, n: Note, rule_index: int) -> dict[str, Any]:
    key = "\0".join((n.id, *n.paths, report.environment, report.region))
    location = {"physicalLocation": {"artifactLocation": artifact_location(report.manifest.path)}}
    return {
        "ruleId": n.id,
        "ruleIndex": rule_index,
        "kind": "fail",  # SARIF: a `note` level needs kind `fail` ("an opportunity to improve")
        "level": "note",
        "message": {"text": f"{n.title}: {n.reason}. Cost: {n.impact.cost}."},
        "locations": [location],
        "partialFingerprints": {"tapPreflightNote/v1": hashlib.sha256(key.encode()).hexdigest()[:32]},
        "properties": {"paths": list(n.paths), "monthly_cost_delta_usd": n.impact.monthly_cost_delta_usd},
    }


def _level(f: Finding | CheckFinding) -> str:
    """A SUPPRESSED result keeps the level of what it was; its `suppressions` say it was accepted."""
    return LEVEL[f.suppression.status if f.suppression else f.status]


def _suppressions(f: Finding | CheckFinding) -> dict[str, Any]:
    """SARIF's own way to say "accepted": code scanning shows the result as dismissed, with the reason."""
    s = f.suppression
    if s is None:
        return {}
    until = f" (until {s.expires.isoformat()})" if s.expires else ""
    return {"suppressions": [{"kind": "external", "status": "accepted", "justification": s.reason + until}]}


def sarif_category(environment: str, region: str) -> str:
    """The run's `automationDetails.id`: `tap-preflight/<env>/<region>/` (the trailing slash leaves the
    run id to code scanning, which then keys results by this category)."""
    return f"tap-preflight/{environment or 'default'}/{region}/"


def render_sarif(report: Report) -> str:
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for f in report.findings:
        if f.quota_code not in index:
            index[f.quota_code] = len(rules)
            rules.append(_rule(f))
    results = [_result(report, f, index[f.quota_code]) for f in report.findings if f.status in LEVEL]
    for c in report.checks:
        if c.id not in index:
            index[c.id] = len(rules)
            rules.append(_check_rule(c))
        if c.status in LEVEL:
            results.append(_check_result(report, c, index[c.id]))
    for n in report.notes:
        if n.id not in index:
            index[n.id] = len(rules)
            rules.append(_note_rule(n))
        results.append(_note_result(report, n, index[n.id]))
    properties = {
        "verdict": report.verdict,
        "command": report.command,
        "environment": report.environment,
        "region": report.region,
        "manifest": report.manifest.name,
        "manifest_sha256": report.manifest.sha256,
        # Flags that change the verdict on purpose: a reviewer of the scan must see them.
        "overrides": [{"flag": o.flag, "detail": o.detail} for o in report.overrides],
    }
    # One run per region, each its own category: code scanning refuses two runs of one tool with
    # the same category, and replaces a category's earlier results with the newest upload.
    return _document(_run(sarif_category(report.environment, report.region), rules, results, properties))


def _run(
    category: str, rules: list[dict[str, Any]], results: list[dict[str, Any]], properties: dict[str, Any]
) -> dict[str, Any]:
    """One run of tap-preflight: its category, its rules, its results and what the run was about."""
    return {
        "automationDetails": {"id": category},
        "tool": {
            "driver": {
                "name": "tap-preflight",
                "version": __version__,
                "semanticVersion": __version__,
                # No informationUri: the project has no public home yet, and the field is optional.
                "rules": rules,
            }
        },
        "invocations": [{"executionSuccessful": True}],
        "results": results,
        "properties": properties,
    }


def _document(run: dict[str, Any]) -> str:
    sarif = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"


# --- checklists: lint, verify-program, rehearse, request-increases ----------------------------------

_ITEM_LEVEL = {"failed": "error", "error": "error", "warning": "warning"}


def render_checklist_sarif(checklist: Checklist) -> str:
    """One run: every rule of the command, one result per item that needs attention, located at its
    file and line (or the file the result is about): code scanning refuses a result with no location."""
    rules = [
        {
            "id": r.id,
            "name": _pascal(r.name) or r.id,
            "shortDescription": {"text": r.name},
            "fullDescription": {"text": r.description},
            "help": {"text": r.description},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": [f"tap-preflight-{checklist.command}"]},
        }
        for r in checklist.rules
    ]
    index = {r.id: i for i, r in enumerate(checklist.rules)}
    results = [
        _item_result(checklist, item, index)
        for item in checklist.items
        if item.status in _ITEM_LEVEL and item.rule in index
    ]
    properties = {"command": checklist.command, "ok": checklist.ok, "summary": checklist.title}
    return _document(_run(f"tap-preflight/{checklist.command}/", rules, results, properties))


def _item_result(checklist: Checklist, item: Item, index: dict[str, int]) -> dict[str, Any]:
    file, line = checklist.location(item)
    result: dict[str, Any] = {
        "ruleId": item.rule,
        "ruleIndex": index[item.rule],
        "kind": "fail",
        "level": _ITEM_LEVEL[item.status],
        "message": {"text": f"{item.name}: {item.message}" if item.message else item.name},
    }
    if file:
        physical: dict[str, Any] = {"artifactLocation": artifact_location(file)}
        if line is not None and line >= 1:
            physical["region"] = {"startLine": line}
        result["locations"] = [{"physicalLocation": physical}]
    key = "\0".join((checklist.command, item.rule, item.name, file, item.message))
    result["partialFingerprints"] = {"tapPreflightItem/v1": hashlib.sha256(key.encode()).hexdigest()[:32]}
    return result
