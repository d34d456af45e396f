"""The commands' flows, behind the CLI: each command's work from its parsed options to its result.

`cli.py` declares the commands and their flags and calls one function here per command; the account
comes from `accountsource` (one interface for every source), the verdict from `gate`, the text from
`formats`. `check` is `run_check` per region; `plan` and `deploy` are `run_plan`; `place` plans every
region and ranks them; `sweep` checks every account and region; `snapshot` and `request-increases`
read or write what the gate reads.
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from preflight import __version__
from preflight.account.read import AccountState, Progress
from preflight.account.sources import AccountOptions, AccountSource, open_account, open_aws
from preflight.commands.options import GateOptions
from preflight.conflicts import StackState, checks_for, zone_placement
from preflight.deployment import Deployment, ManifestRef, Plan
from preflight.evaluate import DEFAULT_WARN_THRESHOLD, evaluate, increase_requests
from preflight.gate import GatePolicy, overrides_of, verdict_for
from preflight.manifest import Manifest
from preflight.plan.decisions import decisions_of
from preflight.report.report import CheckFinding, Finding, Report, Stats
from preflight.skips import suppress
from preflight.support.config import Config
from preflight.support.errors import InputError

if TYPE_CHECKING:
    from preflight.plan.planner import PlanResult
    from preflight.report.results import IncreasesResult

Warn = Callable[[str], None]  # a warning for the user (the CLI prints it on stderr)

# A run leaves ~150,000 objects alive (botocore's models, pydantic's schemas); the interpreter's last
# cyclic collection walks them all (0.3-0.7 s measured) only to free memory the OS takes back anyway.
# Frozen objects are skipped by that collection; every finalizer, flush and close still runs.
atexit.register(gc.freeze)


def manifest_ref(manifest: Manifest) -> ManifestRef:
    return ManifestRef(path=manifest.path, name=manifest.name, sha256=manifest.sha256)


def plan_manifest_ref(manifest: Manifest) -> ManifestRef:
    """The manifest as a plan records it: its path relative to the project root, where the program looks."""
    from preflight.support.project import relative_to_root

    return manifest_ref(manifest).model_copy(
        update={"path": relative_to_root(manifest.project_root, manifest.path)}
    )


def located(manifest: Manifest, findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Findings with the manifest lines of the resources that create their demand."""
    return tuple(
        f.model_copy(update={"lines": tuple(n for n in map(manifest.line_of, f.resources) if n)})
        for f in findings
    )


def located_checks(manifest: Manifest, checks: Iterable[CheckFinding]) -> tuple[CheckFinding, ...]:
    return tuple(
        c.model_copy(update={"lines": tuple(n for n in map(manifest.line_of, c.resources) if n)})
        for c in checks
    )


def make_report(
    manifest: Manifest,
    state: AccountState,
    findings: Iterable[Finding],
    checks: Iterable[CheckFinding] = (),
    **fields: Any,
) -> Report:
    """A report of `findings` for `manifest` on the account `state` describes; `fields` add the rest."""
    return Report(
        region=state.region,
        account_id=state.account_id,
        environment=manifest.environment,
        manifest=manifest_ref(manifest),
        findings=located(manifest, findings),
        checks=located_checks(manifest, checks),
        stats=Stats(api_calls=state.api_calls, elapsed_s=state.elapsed_s),
        **fields,
    )


def build_report(
    manifest: Manifest,
    deployment: Deployment,
    state: AccountState,
    policy: GatePolicy,
    *,
    warn_threshold: float = DEFAULT_WARN_THRESHOLD,
    stack_state: StackState | None = None,
    overrides: dict[str, float] | None = None,
) -> Report:
    findings = suppress(evaluate(deployment, state, warn_threshold), policy.skips)
    checks = suppress(checks_for(deployment, state.evidence, stack_state=stack_state), policy.skips)
    return make_report(
        manifest,
        state,
        findings,
        checks,
        command="check",
        verdict=verdict_for([*findings, *checks], policy),
        increase_requests=tuple(increase_requests(findings)),
        overrides=overrides_of(policy, overrides or {}),
    )


def run_check(
    manifest: Manifest,
    source: AccountSource,
    region: str,
    policy: GatePolicy,
    *,
    overrides: dict[str, float] | None = None,
    warn_threshold: float = DEFAULT_WARN_THRESHOLD,
    progress: Progress | None = None,
    stack_state: StackState | None = None,
) -> Report:
    from preflight.plan.planner import requested_on

    state = source.read(manifest, region, overrides or {}, progress)
    deployment = requested_on(manifest, state)
    return build_report(
        manifest,
        deployment,
        state,
        policy,
        warn_threshold=warn_threshold,
        stack_state=stack_state,
        overrides=overrides,
    )


def run_plan(
    manifest: Manifest,
    source: AccountSource,
    region: str,
    policy: GatePolicy,
    *,
    overrides: dict[str, float] | None = None,
    warn_threshold: float = DEFAULT_WARN_THRESHOLD,
    progress: Progress | None = None,
    max_age_hours: float = 24.0,
    adapt: bool = True,
    stack_state: StackState | None = None,
) -> tuple[Report, Plan]:
    """`plan --adapt`: the report (findings of the adapted deployment, with adaptations) and the plan file.
    Without `adapt`, the plan is the deployment as requested."""
    from preflight.plan.planner import plan, requested_on
    from preflight.plan.policy import degradation_policy

    state = source.read(manifest, region, overrides or {}, progress)
    # Zones first (when adapting): every planned interface endpoint service must be offered there.
    azs, placed = state.azs, None
    if adapt:
        azs, placed = zone_placement(
            state.azs, requested_on(manifest, state), state.evidence, manifest.line_of("vpc")
        )
    requested = manifest.requested(state.region, azs)
    in_zones = state.model_copy(update={"azs": azs})
    result = plan(
        requested, degradation_policy(manifest), in_zones, policy, warn_threshold=warn_threshold, adapt=adapt
    )
    checks = suppress(checks_for(result.adapted, state.evidence, stack_state=stack_state), policy.skips)
    adaptations = (placed, *result.adaptations) if placed else result.adaptations
    verdict = _plan_verdict(result.verdict, checks, policy, placed=placed is not None)
    report = make_report(
        manifest,
        state,
        suppress(result.findings, policy.skips),
        checks,
        command="plan",
        verdict=verdict,
        increase_requests=result.increase_requests,
        adaptations=adaptations,
        notes=result.notes,
        overrides=overrides_of(policy, overrides or {}),
    )
    return report, _plan_file(manifest, state, result, verdict, adaptations, max_age_hours)


def _plan_verdict(verdict: str, checks: Iterable[CheckFinding], policy: GatePolicy, *, placed: bool) -> str:
    """The planner's verdict, after the checks: a name taken or a service not offered is not something
    the planner can adapt around, it blocks; a zone placement is an adaptation."""
    if verdict_for(list(checks), policy) == "NO_GO":
        return "NO_GO"
    if placed and verdict == "GO":
        return "GO_WITH_ADAPTATIONS"
    return verdict


def _plan_file(
    manifest: Manifest,
    state: AccountState,
    result: PlanResult,
    verdict: str,
    adaptations: tuple[Any, ...],
    max_age_hours: float,
) -> Plan:
    """The plan file the Pulumi program deploys."""
    return Plan(
        verdict=verdict,
        environment=manifest.environment,
        region=state.region,
        account_id=state.account_id,
        manifest=plan_manifest_ref(manifest),
        created_at=datetime.now(UTC),
        max_age_hours=max_age_hours,
        tool_version=__version__,
        decisions=decisions_of(result.adapted),
        adaptations=adaptations,
        increase_requests=result.increase_requests,
        deployment=result.adapted,
        current=state.current,
    )


def plan_json(plan: Plan) -> str:
    return plan.model_dump_json(by_alias=True, indent=2) + "\n"


# --- the gate commands: check, plan, deploy, place ---------------------------------------------------


def _in_order(fn: Callable[[str], Any], regions: tuple[str, ...]) -> list[Any]:
    return [fn(region) for region in regions]


def run_gate(
    manifest: str,
    opts: GateOptions,
    config: Config,
    run_region: Callable[..., Any],
    *,
    warn: Warn,
    strict: bool = False,
    save_plan: str | None = None,
    all_regions: bool = False,
    map_regions: Callable[..., list[Any]] | None = None,
    stack_state: StackState | None = None,
) -> tuple[list[Any], GatePolicy]:
    """Load the manifest, read each region's account and run `run_region` on it; one result per region
    (`map_regions(fn, regions)` runs them, in order by default; `all_regions`: the account's enabled ones;
    `stack_state`: deploy's export of the stack, else --stack-state's file)."""
    from preflight.account.sources import enabled_regions
    from preflight.skips import skip_messages
    from preflight.support.terminal import progress_line

    policy = opts.policy(config, strict=strict)
    overrides = opts.overrides()
    loaded, regions, stack_state = _gate_inputs(manifest, opts, save_plan, stack_state)
    with open_account(opts.account, regions[0]) as source, progress_line() as progress:
        if all_regions:
            regions = enabled_regions(source, regions[0])

        def one(region: str) -> Any:
            return run_region(
                loaded,
                source,
                region,
                policy,
                overrides=overrides,
                warn_threshold=opts.warn_threshold,
                progress=progress,
                stack_state=stack_state,
            )

        results = (map_regions or _in_order)(one, regions)
    # Each region's report (plan and deploy give (report, plan) pairs; place may give other results).
    reports = [r[0] if isinstance(r, tuple) else r for r in results]
    reports = [r for r in reports if isinstance(r, Report)]
    for message in skip_messages(reports, policy.skips):  # a FAIL stays FAIL, and the user hears why
        warn(message)
    return results, policy


def _gate_inputs(
    manifest: str, opts: GateOptions, save_plan: str | None, stack_state: StackState | None
) -> tuple[Manifest, tuple[str, ...], StackState | None]:
    """Every flag and input checked before the account is read: the manifest, its regions, the state."""
    from preflight.manifest import load_manifest
    from preflight.quotas.catalog import check_region
    from preflight.support.fileio import check_outputs

    account = opts.account.check()
    check_outputs(opts.outputs(("--save-plan", save_plan)), (manifest, account.snapshot, account.sandbox))
    for region in opts.regions:
        check_region(region)
    loaded = load_manifest(manifest, opts.environment)
    if opts.stack_state:
        from preflight.conflicts import load_stack_state

        stack_state = load_stack_state(opts.stack_state)
    regions = tuple(dict.fromkeys(opts.regions)) or (loaded.doc.region,)
    if account.snapshot and len(regions) > 1:
        raise InputError("a snapshot holds one region: give one --region with --snapshot")
    return loaded, regions, stack_state


def run_check_command(
    manifest: str, opts: GateOptions, config: Config, *, warn: Warn
) -> tuple[list[Report], Any]:
    """`check`: one report per region, and the exit code."""
    from preflight.gate import exit_code_of_regions

    reports, policy = run_gate(manifest, opts, config, run_check, warn=warn)
    return reports, exit_code_of_regions(reports, policy)


def run_plan_command(
    manifest: str,
    opts: GateOptions,
    config: Config,
    *,
    warn: Warn,
    strict: bool,
    max_age_hours: float,
    save_plan: str | None = None,
    adapt: bool = True,
    stack_state: StackState | None = None,
) -> tuple[list[tuple[Report, Plan]], Any]:
    """`plan` (also deploy's gate): one (report, plan) per region, and the exit code.
    Without `adapt`, the plan is the deployment as requested."""
    import functools

    from preflight.gate import exit_code_of_regions

    if save_plan and len(set(opts.regions)) > 1 and "{region}" not in save_plan:
        raise InputError(
            "with several regions, --save-plan needs {region} in the file name (plan-{region}.json)"
        )
    run = functools.partial(run_plan, max_age_hours=max_age_hours, adapt=adapt)
    results, policy = run_gate(
        manifest, opts, config, run, warn=warn, strict=strict, save_plan=save_plan, stack_state=stack_state
    )
    return results, exit_code_of_regions([report for report, _ in results], policy)


def save_plans(results: Iterable[tuple[Report, Plan]], save_plan: str | None) -> list[str]:
    """Each region's plan file (`{region}` in the name: one per region); the paths written (not stdout)."""
    from preflight.support.fileio import STDIO, write_output

    written = []
    for _, plan_file in results:
        if save_plan:
            path = save_plan.replace("{region}", plan_file.region)
            write_output(path, plan_json(plan_file))
            written += [path] if path != STDIO else []
    return written


# --- snapshot -----------------------------------------------------------------------------------------


def run_snapshot(
    manifest: str,
    *,
    environment: str | None,
    region: str | None,
    account: AccountOptions,
    output: str | None,
    as_scenario: str | None,
    redact: bool,
) -> list[str]:
    """`snapshot`: the account read as it is (no --limit overrides), written; the quotas not read."""
    from preflight.account.snapshot import scenario_yaml, snapshot_json, unknown_quotas
    from preflight.manifest import load_manifest
    from preflight.quotas.catalog import check_region
    from preflight.support.fileio import check_outputs, write_output
    from preflight.support.terminal import progress_line

    output = output or (None if as_scenario else "-")
    account.check()
    check_outputs(
        [("-o", output), ("--as-scenario", as_scenario)], (manifest, account.snapshot, account.sandbox)
    )
    if region is not None:
        check_region(region)
    loaded = load_manifest(manifest, environment)
    region = region or loaded.doc.region
    with open_account(account, region) as source, progress_line() as progress:
        state = source.read(loaded, region, {}, progress)
    if as_scenario:
        write_output(as_scenario, scenario_yaml(state, redact=redact))
    if output:
        write_output(output, snapshot_json(state, redact=redact))
    return unknown_quotas(state)


# --- request-increases --------------------------------------------------------------------------------


def run_request_increases(
    plan_file: str | None,
    report_file: str | None,
    *,
    account: AccountOptions,
    region: str | None,
    submit: bool,
    offline: bool,
    output: str | None,
) -> IncreasesResult:
    """`request-increases`: the file's requests, listed offline or checked against the account (and
    filed with `submit`)."""
    from preflight.commands.increases import ServiceQuotas, list_offline, load_requested, run_increases
    from preflight.quotas.catalog import check_region
    from preflight.support.fileio import check_outputs
    from preflight.support.terminal import progress_line

    if bool(plan_file) == bool(report_file):
        raise InputError("request-increases needs one of --plan FILE or --from-report FILE")
    if offline and (submit or account.touches_aws()):
        raise InputError("--offline calls no AWS API: it excludes --submit and the account options")
    account.check()
    if region is not None:
        check_region(region)
    check_outputs([("-o", output or "-")], (plan_file, report_file))
    requested = load_requested(plan_file or report_file or "", "plan" if plan_file else "report")
    region = region or requested.region
    if offline:
        return list_offline(requested, region)
    with (
        open_aws(account, region, why="request-increases asks Service Quotas") as aws,
        progress_line() as progress,
    ):
        return run_increases(requested, ServiceQuotas(aws), region=region, submit=submit, progress=progress)
