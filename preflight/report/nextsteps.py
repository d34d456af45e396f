"""What to run after a NO_GO: the exact `plan --adapt` and `request-increases` commands, built from the
arguments the gate ran with, so a person can copy them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from preflight.report.report import Report

PROG = "tap-preflight"
DEFAULT_PLAN_FILE = "plan.json"


@dataclass(frozen=True)
class Invocation:
    """The arguments of a `check` or `plan` run that the next command needs too.

    Without one (a report rendered later, from its JSON) the commands carry what the report knows: the
    manifest and the environment, against the account boto3's credential chain finds.
    """

    manifest: str | None = None  # as typed; the report's path otherwise
    region_given: bool = False
    sandbox: str | None = None
    snapshot: str | None = None
    profile: str | None = None
    role_arn: str | None = None
    endpoint_url: str | None = None
    limits: tuple[str, ...] = ()
    allow_unknown: bool = False
    adapt: bool = False  # the run was `plan --adapt`
    save_plan: str | None = None


@dataclass(frozen=True)
class NextStep:
    why: str
    argv: tuple[str, ...]


def next_steps(report: Report, invocation: Invocation | None = None) -> tuple[NextStep, ...]:
    """Nothing unless the verdict is NO_GO; then the commands that lead on from it."""
    if report.verdict != "NO_GO":
        return ()
    inv = invocation or Invocation()
    statuses = {f.status for f in report.findings}
    if "FAIL" not in statuses:
        if "UNKNOWN" not in statuses:
            return ()  # a NO_GO from --fail-on warn: nothing to run, only thresholds to reconsider
        rerun = [*_gate_argv(report, inv, report.command, adapt=inv.adapt), "--allow-unknown"]
        return (
            NextStep(
                "Some quotas could not be read: grant the access named above, or accept the risk with",
                tuple(rerun),
            ),
        )
    plan_file = (inv.save_plan or "").replace("{region}", report.region)
    steps: list[NextStep] = []
    if not (inv.adapt and plan_file):
        plan_file = plan_file or DEFAULT_PLAN_FILE
        why = (
            "Save the plan, to ask AWS for what it needs:"
            if inv.adapt
            else "See the deployment that fits, and save it:"
        )
        argv = _gate_argv(report, inv, "plan", adapt=True)
        steps.append(NextStep(why, (*argv, "--save-plan", plan_file)))
    steps.append(
        NextStep(
            "List the quota increases the request needs as it is (--submit files them):",
            (PROG, "request-increases", "--plan", plan_file, *_quota_account_args(inv)),
        )
    )
    return tuple(steps)


def _gate_argv(report: Report, inv: Invocation, command: str, *, adapt: bool) -> list[str]:
    argv = [PROG, command]
    if adapt:
        argv.append("--adapt")
    argv += [inv.manifest or report.manifest.path, "--env", report.environment]
    if inv.region_given:
        argv += ["--region", report.region]
    argv += _account_args(inv, with_snapshot=True)
    for limit in inv.limits:
        argv += ["--limit", limit]
    if inv.allow_unknown and command == "plan":
        argv.append("--allow-unknown")
    return argv


def _quota_account_args(inv: Invocation) -> list[str]:
    """request-increases talks to the account itself: a snapshot's account is the live one."""
    return _account_args(inv, with_snapshot=False)


def _account_args(inv: Invocation, *, with_snapshot: bool) -> list[str]:
    """The account flags the run was given, in the order the help lists them."""
    argv: list[str] = []
    if inv.sandbox:
        argv += ["--sandbox", inv.sandbox]
    if with_snapshot and inv.snapshot:
        argv += ["--snapshot", inv.snapshot]
    if inv.profile:
        argv += ["--profile", inv.profile]
    if inv.role_arn:
        argv += ["--role-arn", inv.role_arn]
    if inv.endpoint_url:
        argv += ["--endpoint-url", inv.endpoint_url]
    return argv
