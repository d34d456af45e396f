"""The program's entry (`tap.py` calls `main`): find the plan, refuse it if it must be, then build.

The plan path comes from Pulumi config `tap:planFile`, else the environment variable `TAP_PLAN`; the
manifest (to check that the plan was made for the current one) from `tap:manifest` / `TAP_MANIFEST`.
Every refusal is raised before a single resource is registered.
"""

from __future__ import annotations

import os

import pulumi
import pulumi_aws as aws

from preflight.errors import InputError
from preflight.model import Plan
from preflight.program.pipeline import Pipeline
from preflight.program.planfile import load_plan, refusal, resolve_source_dir


class PlanRefused(pulumi.RunError):
    """The program will not deploy this plan. A RunError: Pulumi shows the message, not a traceback."""


def main() -> Pipeline:
    config = pulumi.Config("tap")
    plan_path = config.get("planFile") or os.environ.get("TAP_PLAN")
    if not plan_path:
        raise PlanRefused(
            "no plan to deploy: set it with `pulumi config set tap:planFile plan.json` "
            "or the TAP_PLAN environment variable (make one with `tap-preflight plan --save-plan`)"
        )
    manifest_path = config.get("manifest") or os.environ.get("TAP_MANIFEST")
    try:
        plan = load_plan(plan_path)
        manifest_sha = _manifest_sha256(manifest_path, plan) if manifest_path else None
    except InputError as exc:
        raise PlanRefused(f"cannot deploy: {exc}") from exc
    # What needs no AWS call first: a NO_GO, foreign or stale plan is refused without touching AWS.
    reason = refusal(plan, manifest_sha256=manifest_sha)
    if not reason:
        account_id, region = _caller()
        reason = refusal(plan, manifest_sha256=manifest_sha, account_id=account_id, region=region)
    if reason:
        raise PlanRefused(f"refusing to deploy {plan_path}: {reason}")
    try:
        pipeline = Pipeline(plan.deployment, base_dir=resolve_source_dir(plan, plan_path, manifest_path))
    except InputError as exc:
        raise PlanRefused(f"refusing to deploy {plan_path}: {exc}") from exc
    pulumi.export("verdict", plan.verdict)
    pulumi.export("adaptations", [a.id for a in plan.adaptations])
    return pipeline


def _manifest_sha256(path: str, plan: Plan) -> str:
    # The same digest `plan` recorded (load_manifest hashes the text it read).
    from preflight.manifest import load_manifest

    return load_manifest(path, plan.environment).sha256


def _caller() -> tuple[str | None, str | None]:
    """The account and region the AWS provider deploys into, when it can tell (None: not checked)."""
    account_id = region = None
    try:
        account_id = aws.get_caller_identity().account_id or None
    except Exception as exc:  # no identity: the deploy itself fails and says why
        pulumi.log.warn(f"tap: cannot read the caller identity, account not checked against the plan: {exc}")
    try:
        region = aws.get_region().region or None
    except Exception as exc:  # as above
        pulumi.log.warn(f"tap: cannot read the provider region, region not checked against the plan: {exc}")
    return account_id, region
