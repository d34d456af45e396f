"""Reading a plan file, and the reasons the program must refuse one. No pulumi here.

`load_plan` turns every way a plan file can be unusable into an `InputError` naming the file, the line
and the field. `refusal` says why a plan must not be deployed (or None): a NO_GO verdict, a plan made
for another manifest, account or region, or one older than its own max age. The program calls it
before it registers a single resource.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import ValidationError

from preflight.errors import InputError
from preflight.model import Plan
from preflight.yamlio import LineMap, load_json_object, parse_yaml, pydantic_errors_to_input_error

# A plan "from the future" means a wrong clock somewhere; a little skew is normal.
CLOCK_SKEW = timedelta(minutes=5)


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read and validate a plan file (JSON, as `plan --save-plan` writes it)."""
    name = str(path)
    data, text = load_json_object(path, "plan file")
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise pydantic_errors_to_input_error(exc, _linemap(text, name), model=Plan) from exc
    if plan.created_at.tzinfo is None:
        # A naive time cannot be compared with the deploy time: the age check would be a guess.
        raise _linemap(text, name).error(("created_at",), "must carry a time zone (e.g. +00:00)")
    if plan.max_age_hours <= 0:
        raise _linemap(text, name).error(("max_age_hours",), "must be positive")
    return plan


def _linemap(text: str, name: str) -> LineMap:
    """Line numbers for field errors (JSON is YAML); without them the error still names the field."""
    try:
        return parse_yaml(text, name, "plan file")[1]
    except InputError:
        return LineMap(name)


def refusal(
    plan: Plan,
    *,
    manifest_sha256: str | None = None,
    account_id: str | None = None,
    region: str | None = None,
    now: datetime | None = None,
) -> str | None:
    """Why this plan must not be deployed here and now, or None. Every reason found, joined by "; "."""
    reasons: list[str] = []
    if plan.verdict == "NO_GO":
        reasons.append(
            "the plan's verdict is NO_GO: the account cannot take this deployment "
            "(run `plan --adapt`, or get the quota increases the plan lists)"
        )
    if plan.deployment.region != plan.region:
        reasons.append(
            f"the plan is inconsistent: made for region {plan.region} "
            f"but its deployment is in {plan.deployment.region}"
        )
    if plan.deployment.environment != plan.environment:
        reasons.append(
            f"the plan is inconsistent: made for environment {plan.environment} "
            f"but its deployment is for {plan.deployment.environment}"
        )
    if manifest_sha256 is not None and manifest_sha256 != plan.manifest.sha256:
        reasons.append(
            f"the plan was made for another manifest: {plan.manifest.path} with sha256 "
            f"{plan.manifest.sha256[:12]}…, the current manifest has {manifest_sha256[:12]}… "
            "(run plan again)"
        )
    if account_id is not None and account_id != plan.account_id:
        reasons.append(f"the plan was made for account {plan.account_id}, this is account {account_id}")
    if region is not None and region != plan.region:
        reasons.append(f"the plan was made for region {plan.region}, this deployment is in {region}")
    now = now or datetime.now(UTC)
    created = plan.created_at if plan.created_at.tzinfo else plan.created_at.replace(tzinfo=UTC)
    age = now - created
    if age > timedelta(hours=plan.max_age_hours):
        reasons.append(
            f"the plan is stale: made {_hours(age)} ago ({created.isoformat()}), older than its max age "
            f"of {plan.max_age_hours:g} h; the account may have changed since (run plan again)"
        )
    elif age < -CLOCK_SKEW:
        reasons.append(f"the plan was made in the future ({created.isoformat()}); check the clocks")
    return "; ".join(reasons) or None


def _hours(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def resolve_source_dir(plan: Plan, plan_path: str | os.PathLike[str], manifest_path: str | None) -> Path:
    """Where the handler sources are: `FunctionPlan.source` is relative to the manifest's directory.

    The manifest given to the program wins; otherwise the manifest path recorded in the plan, taken
    from the current directory (where `plan` ran, normally the project root) or else from the plan
    file's own directory.
    """
    if manifest_path:
        return Path(manifest_path).parent
    recorded = Path(plan.manifest.path)
    candidates = [recorded.parent, Path(plan_path).parent / recorded.parent]
    for candidate in candidates:
        if all((candidate / f.source).is_file() for f in plan.deployment.functions):
            return candidate
    return candidates[0]
