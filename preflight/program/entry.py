"""The program's entry (`tap.py` calls `main`): find the plan, trust it only as the manifest backs it,
refuse it if it must be, then build what the manifest and the plan's decisions give.

The plan path comes from Pulumi config `tap:planFile`, else the environment variable `TAP_PLAN`. The
manifest is always the one the plan names, at its path relative to the project root (the directory of
`tap.py`); its hash is compared with the plan's (see `preflight.program.planfile`). Every refusal is
raised before a single resource is registered.
"""

from __future__ import annotations

import os
from pathlib import Path

import pulumi
import pulumi_aws as aws

from preflight.program.pipeline import Pipeline
from preflight.program.planfile import load_trusted_plan, refusal
from preflight.support.errors import InputError


class PlanRefused(pulumi.RunError):
    """The program will not deploy this plan. A RunError: Pulumi shows the message, not a traceback."""


def main(root: str | os.PathLike[str] | None = None) -> Pipeline:
    """Deploy the plan; `root` is the project root (where the manifest path recorded in the plan starts)."""
    config = pulumi.Config("tap")
    plan_path = config.get("planFile") or os.environ.get("TAP_PLAN")
    if not plan_path:
        raise PlanRefused(
            "no plan to deploy: set it with `pulumi config set tap:planFile plan.json` "
            "or the TAP_PLAN environment variable (make one with `tap-preflight plan --save-plan`)"
        )
    try:
        trusted = load_trusted_plan(plan_path, root=Path(root) if root else Path.cwd())
    except InputError as exc:
        raise PlanRefused(f"cannot deploy: {exc}") from exc
    plan = trusted.plan
    # What needs no AWS call first: a NO_GO or stale plan is refused without touching AWS.
    reason = refusal(plan)
    if not reason:
        account_id, region = _caller()
        reason = refusal(plan, account_id=account_id, region=region)
    if reason:
        raise PlanRefused(f"refusing to deploy {plan_path}: {reason}")
    try:
        # `current` only orders the changes (cuts before raises); the values come from the manifest.
        pipeline = Pipeline(trusted.deployment, base_dir=trusted.base_dir, current=plan.current)
    except InputError as exc:
        raise PlanRefused(f"refusing to deploy {plan_path}: {exc}") from exc
    pulumi.export("verdict", plan.verdict)
    pulumi.export("adaptations", [a.id for a in plan.adaptations])
    return pipeline


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
