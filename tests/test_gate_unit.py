"""`preflight.gate`: the verdict and the exit code for every combination of finding statuses, under
each gate flag, as README's exit-code table states them (0 GO, 1 NO_GO, 3 could not evaluate)."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from preflight.deployment import ManifestRef
from preflight.gate import GatePolicy, blocking, exit_code, verdict_for
from preflight.report.report import CheckFinding, Finding, Report
from preflight.support.config import Skip
from preflight.support.errors import ExitCode

STATUSES = ("OK", "WARN", "FAIL", "UNKNOWN")
COMBINATIONS = [set(c) for r in range(len(STATUSES) + 1) for c in itertools.combinations(STATUSES, r)]


def quota(status: str, code: str = "L-F678F1CE") -> Finding:
    return Finding(
        service_code="vpc", quota_code=code, quota_name="VPCs per Region", scope="region", limit=5,
        limit_source="applied", usage=1, demand=1, headroom_after=3, utilization_after=0.4, status=status,
        resources=("vpc",), message=status,
    )  # fmt: skip


def check(status: str) -> CheckFinding:
    return CheckFinding(
        kind="conflict", id="TAP-C001", title="role", status=status, message="m", resources=("role",)
    )


def report(findings: tuple[Finding, ...], verdict: str, checks: tuple[CheckFinding, ...] = ()) -> Report:
    ref = ManifestRef(path="m.yaml", name="tap-pipeline", sha256="0" * 64)
    return Report(verdict=verdict, region="us-east-1", account_id="123456789012", environment="prod",
                  manifest=ref, findings=findings, checks=checks)  # fmt: skip


def expected_exit(statuses: set[str], policy: GatePolicy, verdict: str) -> ExitCode:
    """README's table: a FAIL is 1; else an UNKNOWN not allowed is 3; else a WARN with --fail-on warn,
    or adaptations with --strict, is 1; else 0. --soft-fail is always 0."""
    if policy.soft_fail:
        return ExitCode.GO
    if "FAIL" in statuses:
        return ExitCode.NO_GO
    if "UNKNOWN" in statuses and not policy.allow_unknown:
        return ExitCode.ENVIRONMENT
    if "WARN" in statuses and "warn" in policy.fail_on:
        return ExitCode.NO_GO
    if verdict == "GO_WITH_ADAPTATIONS" and policy.strict:
        return ExitCode.NO_GO
    return ExitCode.GO


POLICIES = {
    "default": GatePolicy(),
    "allow-unknown": GatePolicy.from_flags(allow_unknown=True),
    "fail-on-warn": GatePolicy.from_flags(["warn"]),
    "soft-fail": GatePolicy.from_flags(soft_fail=True),
    "strict": GatePolicy.from_flags(strict=True),
}


@pytest.mark.parametrize("name", POLICIES)
@pytest.mark.parametrize("adapted", [False, True])
def test_every_status_combination_gets_the_documented_verdict_and_exit_code(name: str, adapted: bool) -> None:
    policy = POLICIES[name]
    for statuses in COMBINATIONS:
        findings = tuple(quota(s, f"L-{i:08d}") for i, s in enumerate(sorted(statuses)))
        verdict = verdict_for(findings, policy, adapted=adapted)
        blocked = "FAIL" in statuses or ("UNKNOWN" in statuses and name != "allow-unknown")
        assert verdict == ("NO_GO" if blocked else "GO_WITH_ADAPTATIONS" if adapted else "GO"), statuses
        code = exit_code(report(findings, verdict), policy)
        assert code == expected_exit(statuses, policy, verdict), (statuses, name, adapted)


def test_a_check_that_is_not_a_quota_blocks_as_a_quota_does() -> None:
    ok = (quota("OK"),)
    assert verdict_for([*ok, check("FAIL")], GatePolicy()) == "NO_GO"
    assert exit_code(report(ok, "NO_GO", (check("FAIL"),)), GatePolicy()) == ExitCode.NO_GO
    assert exit_code(report(ok, "NO_GO", (check("UNKNOWN"),)), GatePolicy()) == ExitCode.ENVIRONMENT


def test_a_known_no_go_outranks_could_not_evaluate() -> None:
    findings = (quota("FAIL", "L-1"), quota("UNKNOWN", "L-2"))
    assert exit_code(report(findings, "NO_GO"), GatePolicy()) == ExitCode.NO_GO


def test_blocking_names_the_findings_that_make_it_no_go_after_skips() -> None:
    fail, unknown, warn = quota("FAIL", "L-1"), quota("UNKNOWN", "L-2"), quota("WARN", "L-3")
    assert blocking([fail, unknown, warn], GatePolicy()) == (fail, unknown)
    assert blocking([fail, unknown, warn], GatePolicy.from_flags(allow_unknown=True)) == (fail,)
    accepted = GatePolicy.from_flags(skips=[Skip("L-2", reason="OPS-1", expires=date(2099, 1, 1))])
    assert blocking([unknown, warn], accepted) == ()
    assert verdict_for([unknown], accepted) == "GO"
    never = GatePolicy.from_flags(skips=[Skip("L-1", reason="OPS-2")])
    assert blocking([fail], never) == (fail,)  # a FAIL is never suppressed
