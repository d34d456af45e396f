"""Accepted risk: `--skip CODE[:scope]` and config `skip` entries turn a known WARN or UNKNOWN into
SUPPRESSED, with its reason, in every report. A FAIL is never suppressed: that deploy would fail anyway.

A skip names a quota code (L-...) or a check id (TAP-C..., TAP-A...); its scope, when given, is the
finding's scope (`region`, `vpc:pipeline-vpc-prod`) or, for a check, one of its manifest paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from preflight.report.report import CheckFinding, Finding, Report, Suppression
from preflight.support.config import Skip

__all__ = ["SUPPRESSIBLE", "Skip", "skip_messages", "suppress"]

SUPPRESSIBLE = ("WARN", "UNKNOWN")


F = TypeVar("F", Finding, CheckFinding)


def suppress(findings: Iterable[F], skips: Sequence[Skip]) -> tuple[F, ...]:
    """`findings` with every WARN or UNKNOWN a skip matches turned SUPPRESSED (the first skip's reason)."""
    out = []
    for f in findings:
        skip = next((s for s in skips if s.matches(f)), None) if f.status in SUPPRESSIBLE else None
        if skip is None:
            out.append(f)
            continue
        why = Suppression(status=f.status, reason=skip.reason, source=skip.source, expires=skip.expires)
        out.append(f.model_copy(update={"status": "SUPPRESSED", "suppression": why}))
    return tuple(out)


def skip_messages(reports: Sequence[Report], skips: Sequence[Skip]) -> list[str]:
    """What the user should hear about their skips: a FAIL it cannot suppress, a skip that matched nothing."""
    messages = []
    for skip in skips:
        matched = [f for r in reports for f in (*r.findings, *r.checks) if skip.matches(f)]
        failing = [f for f in matched if f.status == "FAIL"]
        if failing:
            messages.append(
                f"{skip.source}: {skip.label} is a FAIL, which cannot be suppressed (that deploy would fail "
                "anyway); it stays FAIL"
            )
        elif not matched:
            messages.append(f"{skip.source}: {skip.label} matches no finding of this run")
    return messages
