"""`tap-preflight quotas`: the catalog of quotas the gate knows, and where each limit and usage is read.

Like a linter's `--list-rules`: what `--skip`, `--limit` and the settings' `skip` entries can name. The
limit chain is the gate's own (applied value from Service Quotas, then the service's own API, then the
published default); the service API comes first where it is authoritative (Lambda concurrency).
"""

from __future__ import annotations

import json
from typing import Any

from preflight import __version__
from preflight.quotas import catalog
from preflight.report.formats.markdown import text as md_text

CATALOG_SCHEMA = "tap-preflight/quotas/v1"
CATALOG_FORMATS = ("table", "json", "markdown", "sarif")


def limit_source(q: catalog.Quota) -> str:
    """Where the limit is read, in the order the gate tries."""
    applied = f"servicequotas:GetServiceQuota({q.service_code}/{q.quota_code})"
    default = f"published default {q.format(q.default)}"
    if q.default_by_region:
        default += " (differs by region)"
    service = q.service_limit
    if service is None:
        return " -> ".join((applied, default))
    if service.authoritative:
        return " -> ".join((service.label, applied, default))
    return " -> ".join((applied, service.label, default))


def rows() -> list[dict[str, Any]]:
    """One row per quota, in catalog order."""
    return [
        {
            "quota_code": q.quota_code,
            "service_code": q.service_code,
            "name": q.name,
            "key": q.key,
            "scope": q.scope,
            "default": q.default,
            "default_by_region": dict(q.default_by_region),
            "unit": q.unit,
            "adjustable": q.adjustable,
            "limit_from": limit_source(q),
            "usage_from": q.usage_from,
            "help": q.help,
        }
        for q in catalog.QUOTAS
    ]


def render_catalog(fmt: str) -> str:
    """The catalog in `fmt` (one of CATALOG_FORMATS)."""
    match fmt:
        case "json":
            return json.dumps({"schema": CATALOG_SCHEMA, "quotas": rows()}, indent=2) + "\n"
        case "markdown":
            return _markdown()
        case "sarif":
            return _sarif()
        case "table":
            return _table()
        case _:
            raise ValueError(f"the catalog is listed as {', '.join(CATALOG_FORMATS)}, not {fmt}")


def _table() -> str:
    data = rows()
    header = ("code", "service", "scope", "default", "name")
    cells = [
        (
            r["quota_code"],
            r["service_code"],
            r["scope"],
            catalog.quota(r["quota_code"]).format(r["default"]),
            r["name"],
        )
        for r in data
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()
    out = [line]
    for c, r in zip(cells, data, strict=True):
        out.append("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())
        out.append(f"    limit: {r['limit_from']}")
        out.append(f"    usage: {r['usage_from']}")
    out.append(f"{len(data)} quotas; --skip CODE[:scope] or --limit CODE=N name them by code")
    return "\n".join(out) + "\n"


def _markdown() -> str:
    out = [
        "### tap-preflight: the quotas it checks",
        "",
        "| code | service | name | scope | default | limit read from | usage read from |",
        "| --- | --- | --- | --- | ---: | --- | --- |",
    ]
    for r in rows():
        q = catalog.quota(r["quota_code"])
        cells = [
            f"`{r['quota_code']}`",
            md_text(r["service_code"]),
            md_text(r["name"]),
            md_text(r["scope"]),
            q.format(r["default"]),
            md_text(r["limit_from"]),
            md_text(r["usage_from"]),
        ]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def _sarif() -> str:
    """A run with the rules only (no results): what code scanning shows as the tool's rule list."""
    rules = [
        {
            "id": r["quota_code"],
            "name": r["key"],
            "shortDescription": {"text": r["name"]},
            "fullDescription": {
                "text": f"{r['name']} ({r['scope']}). Limit: {r['limit_from']}. Usage: {r['usage_from']}."
            },
            "help": {"text": r["help"] or r["name"]},
            "properties": {"service_code": r["service_code"], "scope": r["scope"], "default": r["default"]},
        }
        for r in rows()
    ]
    run = {
        "tool": {"driver": {"name": "tap-preflight", "version": __version__, "rules": rules}},
        "results": [],
    }
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [run]}
    return json.dumps(doc, indent=2) + "\n"
