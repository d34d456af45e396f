"""The exit policy, in one place. Exit codes mean one thing each:

0  GO (or GO_WITH_ADAPTATIONS from `plan`, unless --strict)
1  NO_GO: a quota does not fit (or a WARN, with --fail-on warn); a FAIL is never suppressed by a skip
2  usage or input error (manifest, scenario, snapshot, plan, flags)
3  could not evaluate: no credentials, access denied, endpoint unreachable, or a quota UNKNOWN
   (fail closed) without --allow-unknown
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from preflight.deployment import Verdict
from preflight.report.report import CheckFinding, Finding, Override, Report
from preflight.skips import Skip, suppress
from preflight.support.errors import ExitCode

FailOn = Literal["warn", "fail", "unknown"]
F = TypeVar("F", Finding, CheckFinding)


@dataclass(frozen=True)
class GatePolicy:
    fail_on: frozenset[FailOn] = frozenset({"fail", "unknown"})
    soft_fail: bool = False  # report everything, exit 0
    strict: bool = False  # GO_WITH_ADAPTATIONS fails too
    skips: tuple[Skip, ...] = ()  # accepted WARN/UNKNOWN findings (never a FAIL): SUPPRESSED

    @classmethod
    def from_flags(
        cls,
        fail_on: Iterable[FailOn] = (),
        *,
        allow_unknown: bool = False,
        soft_fail: bool = False,
        strict: bool = False,
        skips: Iterable[Skip] = (),
    ) -> GatePolicy:
        # --fail-on only adds to the default: a quota that does not fit always fails the gate, and one
        # that could not be read does too (fail closed) unless --allow-unknown.
        chosen = {*fail_on, "fail", "unknown"}
        if allow_unknown:
            chosen.discard("unknown")
        return cls(fail_on=frozenset(chosen), soft_fail=soft_fail, strict=strict, skips=tuple(skips))

    @property
    def allow_unknown(self) -> bool:
        return "unknown" not in self.fail_on


def overrides_of(policy: GatePolicy, limits: Mapping[str, float]) -> tuple[Override, ...]:
    """The flags that change the verdict or the exit code on purpose, as every report shows them."""
    from preflight.quotas import catalog

    out = [
        Override(
            flag="--limit",
            detail=f"{code} ({catalog.quota(code).name}) taken as {catalog.quota(code).format(value)}, "
            "not what the account says",
        )
        for code, value in sorted(limits.items())
    ]
    if policy.allow_unknown:
        out.append(
            Override(flag="--allow-unknown", detail="quotas that could not be read do not fail the gate")
        )
    if policy.soft_fail:
        out.append(Override(flag="--soft-fail", detail="the exit code is 0 whatever the verdict"))
    for skip in policy.skips:  # accepted risk is a decision a reviewer must see, with its reason
        until = f", until {skip.expires.isoformat()}" if skip.expires else ""
        out.append(
            Override(
                flag="--skip",
                detail=f"{skip.label} accepted if WARN or UNKNOWN ({skip.source}): {skip.reason}{until}",
            )
        )
    return tuple(out)


def blocking(findings: Iterable[F], policy: GatePolicy) -> tuple[F, ...]:
    """The findings that make the verdict NO_GO: every FAIL, and every UNKNOWN (fail closed) unless
    --allow-unknown. Skips are applied here too, so every caller (check, plan, the planner) agrees."""
    return tuple(
        f
        for f in suppress(findings, policy.skips)
        if f.status == "FAIL" or (f.status == "UNKNOWN" and not policy.allow_unknown)
    )


def verdict_for(
    findings: Iterable[Finding | CheckFinding], policy: GatePolicy, *, adapted: bool = False
) -> Verdict:
    if blocking(findings, policy):
        return "NO_GO"
    return "GO_WITH_ADAPTATIONS" if adapted else "GO"


def exit_code(report: Report, policy: GatePolicy) -> ExitCode:
    if policy.soft_fail:
        return ExitCode.GO
    statuses = {f.status for f in (*report.findings, *report.checks)}
    if report.verdict == "NO_GO" and "FAIL" in statuses:
        return ExitCode.NO_GO
    if "UNKNOWN" in statuses and not policy.allow_unknown:
        return ExitCode.ENVIRONMENT
    if report.verdict == "NO_GO":
        return ExitCode.NO_GO
    if "warn" in policy.fail_on and "WARN" in statuses:
        return ExitCode.NO_GO
    if report.verdict == "GO_WITH_ADAPTATIONS" and policy.strict:
        return ExitCode.NO_GO
    return ExitCode.GO


def overall_verdict(reports: Iterable[Report]) -> Verdict:
    """Several regions: NO_GO if any is, else GO_WITH_ADAPTATIONS if any is, else GO."""
    verdicts = {r.verdict for r in reports}
    for verdict in ("NO_GO", "GO_WITH_ADAPTATIONS"):
        if verdict in verdicts:
            return verdict  # type: ignore[return-value]
    return "GO"


def exit_code_of_regions(reports: Iterable[Report], policy: GatePolicy) -> ExitCode:
    """One exit code for several regions: a known NO_GO (1) outranks could-not-evaluate (3)."""
    codes = {exit_code(r, policy) for r in reports}
    for code in (ExitCode.NO_GO, ExitCode.ENVIRONMENT):
        if code in codes:
            return code
    return ExitCode.GO
