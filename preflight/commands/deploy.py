"""`tap-preflight deploy`: the gate of `plan --adapt`, then the shipped Pulumi program on that plan.

In order, each step refusing before the next one starts:

1. what needs no AWS call: one region, no --soft-fail (a deploy cannot "report and go on"), the
   Pulumi project, the Pulumi CLI on PATH (exit 3), and a reviewed plan (`--plan`) that is still
   deployable as it stands (verdict, manifest, age: exit 2); then, unless --stack-state gives it, the
   stack's state through the Automation API (`pulumi stack export`): which named resources are the
   stack's own, for the gate's conflict checks (no stack yet: no state, tags decide; a failed export:
   exit 3, never a silent fall-back to tags);
2. the gate, exactly as `plan --adapt` runs it (the CLI hands its code path in as `gate`): only GO, or
   GO_WITH_ADAPTATIONS without --strict, goes on; a reviewed plan must be what the gate finds now
   (same account, region and deployment), or the account changed since it was reviewed;
3. the plan file is checked once more with the program's own `refusal` (account, region, age);
4. the Pulumi Automation API on the project directory: select (or create) the stack, set
   `tap:planFile` and `tap:manifest`, then `up` (or `preview`) with the shipped policy pack, Pulumi's
   output streamed as it comes and its engine events collected for the summary.

Nothing here imports pulumi until the export (end of step 1).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preflight.deployment import Plan
from preflight.report.report import Report
from preflight.support.errors import ExitCode, InputError, PreflightError

if TYPE_CHECKING:
    from preflight.conflicts import StackState

PULUMI_INSTALL_URL = "https://www.pulumi.com/docs/install/"
POLICY_PACK = Path(__file__).resolve().parents[1] / "policypack"

Echo = Callable[[str], None]
# What the CLI's `plan --adapt` path returns: one (report, plan) per region, and the exit code. It is
# given the stack state exported through the Automation API (None: --stack-state's file, or tags).
Gate = Callable[["StackState | None"], tuple[list[tuple[Report, Plan]], ExitCode]]


class DeployEnvironmentError(PreflightError):
    """The deploy cannot run here: no Pulumi CLI, not logged in, the stack cannot be selected. Exit 3."""

    exit_code = ExitCode.ENVIRONMENT


@dataclass(frozen=True)
class DeployRequest:
    manifest: str
    stack: str
    environment: str | None = None
    regions: tuple[str, ...] = ()
    project_dir: str = "."
    preview: bool = False
    strict: bool = False
    soft_fail: bool = False
    reviewed_plan: str | None = None  # --plan: deploy this plan, if the gate agrees with it now
    save_plan: str | None = None
    policy_pack: bool = True
    stack_state: str | None = None  # --stack-state: the gate reads this file, nothing is exported


@dataclass(frozen=True)
class PulumiOutcome:
    """What Pulumi did: the operation, its result, the resource changes by operation, and what failed."""

    operation: str  # "up" or "preview"
    stack: str
    ok: bool
    changes: dict[str, int] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    policy_violations: tuple[str, ...] = ()
    outputs: dict[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        verb = "pulumi preview" if self.operation == "preview" else "pulumi up"
        lines = [f"{verb} on stack {self.stack}: {'succeeded' if self.ok else 'FAILED'}"]
        counted = {op: n for op, n in self.changes.items() if n}
        if counted:
            lines.append("  resources: " + ", ".join(f"{op} {n}" for op, n in sorted(counted.items())))
        else:
            lines.append("  resources: no changes")
        for key, value in sorted(self.outputs.items()):
            lines.append(f"  output {key}: {value}")
        if self.policy_violations:
            lines.append("  policy violations:")
            lines.extend(f"    - {v}" for v in self.policy_violations)
        if self.errors:
            lines.append("  errors:")
            lines.extend(f"    - {e}" for e in self.errors)
        return "\n".join(lines) + "\n"


# --- step 1: before the account is read ------------------------------------------------------------


def require_pulumi() -> str:
    """The Pulumi CLI's path; exit 3 with where to get it when it (or the SDK) is missing."""
    import importlib.util

    if importlib.util.find_spec("pulumi") is None:
        raise DeployEnvironmentError(
            "the Pulumi SDK is not installed with tap-preflight: pip install 'tap-preflight[pulumi]'"
        )
    found = shutil.which("pulumi")
    if not found:
        raise DeployEnvironmentError(
            f"the Pulumi CLI is not on PATH: install the Pulumi CLI: {PULUMI_INSTALL_URL}"
        )
    return found


def prepare(request: DeployRequest) -> Plan | None:
    """Everything that can be refused before the account is read; the reviewed plan, if one was given."""
    if len(set(request.regions)) > 1:
        raise InputError("deploy takes one region: a stack deploys into one (run deploy once per region)")
    if request.soft_fail:
        raise InputError("--soft-fail cannot be used with deploy: a NO_GO must stop the deploy")
    if request.reviewed_plan and request.save_plan:
        raise InputError("--plan deploys an existing plan file; --save-plan excludes it")
    project = Path(request.project_dir)
    if not (project / "Pulumi.yaml").is_file():
        raise InputError("no Pulumi.yaml here: give the Pulumi project with --project-dir", file=str(project))
    require_pulumi()
    if not request.reviewed_plan:
        return None
    from preflight.program.planfile import load_trusted_plan, refusal

    # Read as the program reads it: strictly, its manifest's hash compared, its values rebuilt.
    plan = load_trusted_plan(request.reviewed_plan, manifest=request.manifest).plan
    reason = refusal(plan)
    if reason:
        raise InputError(f"refusing to deploy it: {reason}", file=request.reviewed_plan)
    return plan


def export_stack_state(project_dir: str, stack_name: str, progress: Echo) -> StackState | None:
    """The stack's Pulumi state (`pulumi stack export`, through the Automation API) as the gate's
    evidence of what the stack owns; None when the stack does not exist yet."""
    from pulumi import automation as auto

    from preflight.conflicts import parse_stack_state

    workspace = _workspace(auto, project_dir, {})  # the CLI runs with this process's environment
    try:
        # Selecting, not creating: a refused deploy must leave no new stack behind.
        stack = auto.Stack.select(stack_name, workspace)
    except auto.errors.StackNotFoundError:
        progress(f"tap-preflight: stack {stack_name} does not exist yet: its resources' tags show ownership")
        return None
    except auto.errors.CommandError as exc:
        raise DeployEnvironmentError(
            f"pulumi could not select stack {stack_name} to export its state: {_last_line(exc)}"
        ) from exc
    try:
        exported = stack.export_stack()
    except (auto.errors.CommandError, ValueError) as exc:  # ValueError: its output is not JSON
        raise DeployEnvironmentError(
            f"pulumi could not export the state of stack {stack_name} (needed to tell its own "
            f"resources from others'; or give --stack-state FILE): {_last_line(exc)}"
        ) from exc
    source = f"of stack {stack_name} (pulumi stack export)"
    try:
        state = parse_stack_state({"version": exported.version, "deployment": exported.deployment}, source)
    except InputError as exc:
        raise DeployEnvironmentError(
            f"pulumi exported an unreadable state of stack {stack_name}: {exc.detail}"
        ) from exc
    progress(f"tap-preflight: ownership from the Pulumi state {source}")
    return state


# --- step 2 and 3: after the gate ------------------------------------------------------------------


def gate_refusal(report: Report, gate_exit: int, *, strict: bool) -> str | None:
    """Why the gate's result stops the deploy, or None."""
    if report.verdict == "NO_GO" or gate_exit != ExitCode.GO:
        # A GO can still fail the gate: --fail-on warn, or an UNKNOWN with the report saying which.
        return f"the gate says {report.verdict} and exits {gate_exit} (see the report): nothing deployed"
    if strict and report.verdict == "GO_WITH_ADAPTATIONS":
        return "the gate says GO_WITH_ADAPTATIONS and --strict deploys only the requested stack"
    return None


def disagreement(reviewed: Plan, fresh: Plan) -> str | None:
    """Why a reviewed plan is no longer what the gate finds in the account, or None."""
    if (reviewed.account_id, reviewed.region) != (fresh.account_id, fresh.region):
        return (
            f"the plan was made for account {reviewed.account_id} in {reviewed.region}, "
            f"the credentials are for account {fresh.account_id} in {fresh.region}"
        )
    if reviewed.deployment != fresh.deployment:
        return (
            "the account changed since the plan was made: the gate now plans another deployment "
            "(run plan again and review it)"
        )
    return None


def final_refusal(plan: Plan, report: Report) -> str | None:
    """The program's own check, on the file about to be deployed, with the account just read."""
    from preflight.program.planfile import refusal

    return refusal(
        plan, manifest_sha256=report.manifest.sha256, account_id=report.account_id, region=report.region
    )


@contextlib.contextmanager
def plan_file(request: DeployRequest, fresh: Plan) -> Iterator[str]:
    """The plan file Pulumi will read: the reviewed one, --save-plan, or a file removed afterwards."""
    from preflight.commands.run import plan_json
    from preflight.support.fileio import write_atomic

    if request.reviewed_plan:
        yield os.path.abspath(request.reviewed_plan)
    elif request.save_plan:
        write_atomic(request.save_plan, plan_json(fresh))
        yield os.path.abspath(request.save_plan)
    else:
        with tempfile.TemporaryDirectory(prefix="tap-deploy-") as tmp:
            path = os.path.join(tmp, f"plan-{request.stack}.json")
            write_atomic(path, plan_json(fresh))
            yield path


def run_deploy(
    request: DeployRequest,
    *,
    gate: Gate,
    emit: Callable[[list[Report]], None],
    progress: Echo,
    summary: Echo,
) -> ExitCode:
    """The whole command: refuse early, gate, refuse late, deploy; the exit code."""
    reviewed = prepare(request)
    exported = None
    if not request.stack_state:
        exported = export_stack_state(os.path.abspath(request.project_dir), request.stack, progress)
    results, gate_exit = gate(exported)
    [(report, fresh)] = results
    reason = gate_refusal(report, gate_exit, strict=request.strict)
    if reason:
        return _refuse(report, reason, gate_exit or ExitCode.NO_GO, emit, progress)
    reason = (reviewed and disagreement(reviewed, fresh)) or final_refusal(reviewed or fresh, report)
    if reason:
        return _refuse(report, reason, ExitCode.INPUT, emit, progress)
    with plan_file(request, fresh) as path:
        outcome = run_pulumi(
            project_dir=os.path.abspath(request.project_dir),
            stack_name=request.stack,
            plan_path=path,
            manifest_path=os.path.abspath(request.manifest),
            preview=request.preview,
            policy_pack=request.policy_pack,
            progress=progress,
        )
    emit([report])
    summary(outcome.render())
    return ExitCode.GO if outcome.ok else ExitCode.ENVIRONMENT


def _refuse(
    report: Report, reason: str, code: ExitCode, emit: Callable[[list[Report]], None], progress: Echo
) -> ExitCode:
    emit([report])
    progress(f"tap-preflight: not deploying: {reason}")
    return code


# --- step 4: Pulumi ------------------------------------------------------------------------------


class EngineEvents:
    """Collects what the summary needs from the engine events (`pulumi.automation.events`)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.policy_violations: list[str] = []
        self.changes: dict[str, int] = {}

    def __call__(self, event: Any) -> None:
        if event.diagnostic_event and event.diagnostic_event.severity == "error":
            where = _resource_name(event.diagnostic_event.urn or "")
            message = event.diagnostic_event.message.strip()
            self.errors.append(f"{where}: {message}" if where else message)
        if event.res_op_failed_event:
            meta = event.res_op_failed_event.metadata
            self.errors.append(f"{_op(meta.op)} {meta.type} {_resource_name(meta.urn)} failed")
        if event.policy_event and event.policy_event.enforcement_level == "mandatory":
            policy = event.policy_event
            where = _resource_name(policy.resource_urn or "")
            self.policy_violations.append(
                f"{policy.policy_pack_name}/{policy.policy_name}{' on ' + where if where else ''}: "
                f"{policy.message.strip()}"
            )
        if event.summary_event:
            self.changes = {_op(op): int(n) for op, n in event.summary_event.resource_changes.items()}


def run_pulumi(
    *,
    project_dir: str,
    stack_name: str,
    plan_path: str,
    manifest_path: str,
    preview: bool,
    policy_pack: bool,
    progress: Echo,
) -> PulumiOutcome:
    """`pulumi up` (or `preview`) of the project on the stack, the plan as its config."""
    from pulumi import automation as auto

    stack = _select_stack(auto, project_dir, stack_name, plan_path, manifest_path, progress)
    events = EngineEvents()
    options: dict[str, Any] = {
        "on_output": progress,
        "on_event": events,
        "color": "never",
        "policy_packs": [str(POLICY_PACK)] if policy_pack else None,
    }
    operation = "preview" if preview else "up"
    try:
        if preview:
            previewed = stack.preview(**options)
            changes = {_op(op): int(n) for op, n in previewed.change_summary.items()}
            outputs: dict[str, Any] = {}
            ok = True
        else:
            result = stack.up(**options)
            changes = {_op(op): int(n) for op, n in (result.summary.resource_changes or {}).items()}
            outputs = {key: value.value for key, value in result.outputs.items()}
            ok = result.summary.result == "succeeded"
    except (auto.errors.CommandError, RuntimeError) as exc:
        errors = events.errors or [_last_line(exc)]
        return PulumiOutcome(
            operation, stack_name, False, events.changes, tuple(errors), tuple(events.policy_violations)
        )
    return PulumiOutcome(
        operation, stack_name, ok, changes or events.changes, tuple(events.errors), (), outputs
    )


def _select_stack(
    auto: Any, project_dir: str, stack_name: str, plan_path: str, manifest_path: str, progress: Echo
) -> Any:
    # The policy pack runs in a Python that Pulumi finds on PATH: this one, which has the tool.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    workspace = _workspace(
        auto, project_dir, {"TAP_PLAN": plan_path, "TAP_MANIFEST": manifest_path, "PATH": path}
    )
    try:
        who = workspace.who_am_i()
    except auto.errors.CommandError as exc:
        raise DeployEnvironmentError(
            "Pulumi is not logged in to a backend (pulumi login, PULUMI_ACCESS_TOKEN or "
            f"PULUMI_BACKEND_URL): {_last_line(exc)}"
        ) from exc
    progress(f"tap-preflight: pulumi as {who.user}{' at ' + who.url if who.url else ''}, stack {stack_name}")
    try:
        stack = auto.Stack.create_or_select(stack_name, workspace)
        stack.set_all_config(
            {
                "tap:planFile": auto.ConfigValue(value=plan_path),
                "tap:manifest": auto.ConfigValue(value=manifest_path),
            }
        )
    except auto.errors.CommandError as exc:
        raise DeployEnvironmentError(
            f"pulumi could not select stack {stack_name} or set its config: {_last_line(exc)}"
        ) from exc
    return stack


def _workspace(auto: Any, project_dir: str, env: dict[str, str]) -> Any:
    """The project's LocalWorkspace (which runs `pulumi version`); exit 3 when the CLI is unusable."""
    try:
        return auto.LocalWorkspace(work_dir=project_dir, env_vars=env)
    except (OSError, auto.errors.InvalidVersionError) as exc:
        raise DeployEnvironmentError(f"the Pulumi CLI cannot be used: {exc}") from exc
    except Exception as exc:  # `pulumi version` failing: the CLI is broken, say what it said
        raise DeployEnvironmentError(f"the Pulumi CLI cannot be used: {_last_line(exc)}") from exc


def _op(op: Any) -> str:
    return str(getattr(op, "value", op))


def _resource_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if "::" in urn else urn


def _last_line(exc: BaseException) -> str:
    """The last meaningful line of a CLI error: its stderr, which ends with the reason."""
    text = str(exc)
    text = text.split(" stderr: ", 1)[1] if " stderr: " in text else text
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
