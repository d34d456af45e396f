"""The commands' work, behind the CLI: where the account comes from, and `check` end to end.

An account comes from one of three sources behind one small interface: a live AWS account (boto3's
credential chain, `AWS_ENDPOINT_URL` honoured as boto3 does), the built-in emulated account
(`--sandbox SCENARIO`), or a snapshot file (`--snapshot`, offline).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from preflight import __version__, collector
from preflight.account import AccountState, Progress
from preflight.accountsource import AccountSource
from preflight.conflicts import StackState, checks_for, zone_placement
from preflight.decisions import decisions_of
from preflight.errors import InputError
from preflight.evaluate import DEFAULT_WARN_THRESHOLD, evaluate, increase_requests
from preflight.gate import GatePolicy, overrides_of, verdict_for
from preflight.manifest import Manifest
from preflight.model import Deployment, ManifestRef, Plan
from preflight.report import CheckFinding, Finding, Report, Stats
from preflight.skips import suppress

PLACEHOLDER_AZS = tuple(f"az-{i}" for i in range(1, 7))  # names do not depend on the zones

# A run leaves ~150,000 objects alive (botocore's models, pydantic's schemas); the interpreter's last
# cyclic collection walks them all (0.3-0.7 s measured) only to free memory the OS takes back anyway.
# Frozen objects are skipped by that collection; every finalizer, flush and close still runs.
atexit.register(gc.freeze)


def stack_of(manifest: Manifest, region: str):  # -> usage.Stack (imported lazily: it pulls botocore)
    from preflight.quotas.usage import Stack

    return Stack.of(manifest.requested(region, PLACEHOLDER_AZS))


@dataclass(frozen=True)
class LiveAccount:
    profile: str | None = None
    endpoint_url: str | None = None
    role_arn: str | None = None
    credentials: tuple[str, ...] | None = None  # (key, secret[, session token])

    def read(
        self, manifest: Manifest, region: str, overrides: dict[str, float], progress: Progress | None
    ) -> AccountState:
        # Making clients parses ~100,000 objects of service models: kept, and frozen after.
        with collector.paused(freeze=True):
            return self._read(manifest, region, overrides, progress)

    def _read(
        self, manifest: Manifest, region: str, overrides: dict[str, float], progress: Progress | None
    ) -> AccountState:
        from concurrent.futures import Future, ThreadPoolExecutor

        from preflight.account import read_account
        from preflight.aws import Aws
        from preflight.conflicts import Evidence, read_evidence

        aws = Aws(
            region,
            profile=self.profile,
            endpoint_url=self.endpoint_url,
            role_arn=self.role_arn,
            credentials=self.credentials,
        )
        from preflight.quotas.usage import Reads

        names = manifest.requested(region, PLACEHOLDER_AZS)
        stack = stack_of(manifest, region)
        reads = Reads(aws, stack)  # listings both readers need are made once
        # Who owns the stack's names is read alongside the quotas (both only read), from when the
        # quotas' clients exist: making clients takes the GIL, and EC2's reads must not wait for
        # the name checks' clients to be made first.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence") as pool:
            started: list[Future[Evidence]] = []
            state = read_account(
                aws,
                stack,
                overrides=overrides,
                progress=progress,
                reads=reads,
                clients_made=lambda: started.append(pool.submit(read_evidence, aws, names, reads)),
            )
            found = started[0].result()
        return state.model_copy(
            update={
                "evidence": found,
                "api_calls": dict(sorted(aws.stats.counts.items())),
                "elapsed_s": round(aws.stats.elapsed(), 3),
            }
        )


@dataclass(frozen=True)
class SnapshotAccount:
    path: str

    def read(
        self, manifest: Manifest, region: str, overrides: dict[str, float], progress: Progress | None
    ) -> AccountState:
        from preflight.snapshot import load_snapshot

        state = load_snapshot(self.path)
        if state.region != region:
            raise InputError(f"snapshot is for region {state.region}, not {region}", file=self.path)
        if (state.stack.project, state.stack.environment) != (manifest.name, manifest.environment):
            raise InputError(
                f"snapshot was taken for stack {state.stack.project}/{state.stack.environment}, "
                f"not {manifest.name}/{manifest.environment}",
                file=self.path,
            )
        return state.with_overrides(overrides)


@contextlib.contextmanager
def sandbox_account(scenario: str, region: str, role_arn: str | None = None) -> Iterator[LiveAccount]:
    """A LiveAccount pointed at an in-process emulated account running `scenario`."""
    from preflight.sandbox import Sandbox, load_scenario

    loaded = load_scenario(scenario)
    with Sandbox(loaded, region=region) as sandbox:
        yield LiveAccount(
            endpoint_url=sandbox.endpoint_url, credentials=("testing", "testing"), role_arn=role_arn
        )


def manifest_ref(manifest: Manifest) -> ManifestRef:
    return ManifestRef(path=manifest.path, name=manifest.name, sha256=manifest.sha256)


def plan_manifest_ref(manifest: Manifest) -> ManifestRef:
    """The manifest as a plan records it: its path relative to the project root, where the program looks."""
    from preflight.project import relative_to_root

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
    state = source.read(manifest, region, overrides or {}, progress)
    deployment = manifest.requested(region, state.azs)
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
    from preflight.planner import plan

    state = source.read(manifest, region, overrides or {}, progress)
    # Zones first (when adapting): every planned interface endpoint service must be offered there.
    azs, placed = state.azs, None
    if adapt:
        azs, placed = zone_placement(
            state.azs, manifest.requested(region, state.azs), state.evidence, manifest.line_of("vpc")
        )
    placed_state = state.model_copy(update={"azs": azs})
    result = plan(manifest, placed_state, policy, warn_threshold=warn_threshold, adapt=adapt)
    checks = suppress(checks_for(result.adapted, state.evidence, stack_state=stack_state), policy.skips)
    adaptations = (placed, *result.adaptations) if placed else result.adaptations
    # A name taken or a service not offered is not something the planner can adapt around: it blocks.
    verdict = result.verdict
    if verdict_for(checks, policy) == "NO_GO":
        verdict = "NO_GO"
    elif placed and verdict == "GO":
        verdict = "GO_WITH_ADAPTATIONS"
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
    plan_file = Plan(
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
    return report, plan_file


def plan_json(plan: Plan) -> str:
    return plan.model_dump_json(by_alias=True, indent=2) + "\n"
