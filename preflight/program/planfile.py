"""Reading a plan file, trusting it only as far as the manifest backs it, and the reasons to refuse it.

A plan is a deploy instruction that travels between jobs, so it is read as an attacker's file:

* `load_plan` reads it strictly: duplicate keys, NaN/Infinity, unknown fields, wrong types, numbers
  out of AWS's ranges and other schema versions are refused, naming the file, the line and the field.
* `load_trusted_plan` then finds the manifest the plan names, at its path relative to the project root
  (always: there is no opt-in), compares its sha256 with the plan's, checks the planner's decisions
  against the manifest's policy and rebuilds the deployment from the manifest and those decisions
  (`preflight.plan.decisions`). The rebuilt deployment is what is deployed; a plan whose `deployment`
  differs from it in any value is refused, as is a verdict the plan's own content contradicts.
  We chose "the plan holds decisions, the program rebuilds values" over "the plan holds values": a
  value in the plan cannot carry what the manifest under version control never said.
* `refusal` says why a trusted plan must still not be deployed here and now: a NO_GO verdict, a plan
  for another account or region, or one older than its own max age.

The program calls both before it registers a single resource; `verify-program`, `rehearse` and
`request-increases --plan` read plans the same way. What no file check can catch: a plan re-made by
hand to be consistent (a NO_GO rewritten as a GO_WITH_ADAPTATIONS with matching decisions). Only the
account can tell; `rehearse` and a fresh `plan` before the deploy do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from preflight.deployment import PLAN_SCHEMA, Deployment, Plan
from preflight.plan.decisions import check_decisions, decisions_of, rebuild
from preflight.support import strictjson
from preflight.support.errors import InputError
from preflight.support.project import path_problem, project_root
from preflight.support.sourcefile import LineMap, pydantic_errors_to_input_error
from preflight.support.strictjson import load_json_object, located

if TYPE_CHECKING:  # the manifest module is imported when a plan is trusted, not at load
    from preflight.manifest import Manifest

# A plan "from the future" means a wrong clock somewhere; a little skew is normal.
CLOCK_SKEW = timedelta(minutes=5)


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read and validate a plan file (JSON, as `plan --save-plan` writes it)."""
    return _read(path)[0]


def _read(path: str | os.PathLike[str], text: str | None = None) -> tuple[Plan, LineMap]:
    name = str(path)
    if text is None:
        data, text = load_json_object(path, "plan file")
    else:  # already read (stdin cannot be read twice)
        data = strictjson.loads(text, name, "plan file")
        if not isinstance(data, dict):
            raise InputError("plan file must be a JSON object", file=name, line=1)
    linemap = located(text, name, "plan file")
    schema = data.get("schema")
    if schema != PLAN_SCHEMA:
        raise linemap.error(("schema",), _schema_problem(schema))
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise pydantic_errors_to_input_error(exc, linemap, model=Plan) from exc
    if plan.created_at.tzinfo is None:
        # A naive time cannot be compared with the deploy time: the age check would be a guess.
        raise linemap.error(("created_at",), "must carry a time zone (e.g. +00:00)")
    return plan, linemap


def _schema_problem(schema: object) -> str:
    if isinstance(schema, str) and schema.startswith("tap-preflight/plan/"):
        return (
            f"plan format {schema.rsplit('/', 1)[-1]} is not supported by this version of tap-preflight "
            f"(it reads {PLAN_SCHEMA}: lists of streams, tables, buckets and topics); run "
            "`tap-preflight plan --adapt --save-plan` again"
        )
    return f"not a tap-preflight plan file (schema {schema!r}, expected {PLAN_SCHEMA})"


@dataclass(frozen=True)
class TrustedPlan:
    """A plan the manifest backs: the deployment to deploy is the one rebuilt from the manifest."""

    plan: Plan
    manifest: Manifest
    deployment: Deployment

    @property
    def base_dir(self) -> Path:
        """Where handler sources are resolved from: the manifest's directory."""
        return self.manifest.base_dir


def load_trusted_plan(
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    manifest: str | None = None,
    text: str | None = None,
) -> TrustedPlan:
    """The plan in `path`, checked against its manifest; InputError (file, line, field) otherwise.

    The manifest is the one at the plan's recorded path under `root` (default: the project of the
    current directory), or `manifest` when given explicitly. `text`: the file's content, if already read.
    """
    from preflight.manifest import load_manifest

    plan, linemap = _read(path, text)
    manifest_path = manifest or _recorded_manifest(
        plan, Path(root) if root else project_root(Path.cwd()), linemap
    )
    loaded = load_manifest(manifest_path, plan.environment)
    if loaded.sha256 != plan.manifest.sha256 or loaded.name != plan.manifest.name:
        raise linemap.error(
            ("manifest", "sha256"),
            f"the plan was made for another manifest: {plan.manifest.path} had sha256 "
            f"{plan.manifest.sha256[:12]}…, {manifest_path} has {loaded.sha256[:12]}… (run plan again)",
        )
    problems = check_decisions(loaded, plan.region, plan.decisions)
    if problems:
        where, why = problems[0]
        raise linemap.error(("decisions", *_path(where)), f"{why} (the manifest's policy does not allow it)")
    deployment = rebuild(loaded, plan.region, plan.decisions)
    difference = first_difference(
        plan.deployment.model_dump(mode="json"), deployment.model_dump(mode="json"), ()
    )
    if difference:
        where, got, want = difference
        raise linemap.error(
            ("deployment", *where),
            f"is {got!r} in the plan, but the manifest and the plan's decisions give {want!r}; "
            "the program deploys only what the manifest says (run plan again)",
        )
    contradiction = _verdict_contradiction(plan, loaded)
    if contradiction:
        raise linemap.error(("verdict",), contradiction)
    return TrustedPlan(plan=plan, manifest=loaded, deployment=deployment)


def _recorded_manifest(plan: Plan, root: Path, linemap: LineMap) -> str:
    problem = path_problem(root, plan.manifest.path)
    if problem:
        raise linemap.error(("manifest", "path"), f"the plan's manifest {problem}")
    return str(root / plan.manifest.path)


def _path(where: str) -> tuple[str | int, ...]:
    out: list[str | int] = []
    for part in where.split("."):
        head, *indexes = part.replace("]", "").split("[")
        out.append(head)
        out.extend(int(i) for i in indexes)
    return tuple(out)


def first_difference(got: Any, want: Any, where: tuple[str | int, ...]) -> tuple[tuple, Any, Any] | None:
    """The first path at which two JSON values differ, with both values there; None if equal."""
    if isinstance(got, dict) and isinstance(want, dict):
        for key in [*want, *(k for k in got if k not in want)]:
            found = first_difference(got.get(key), want.get(key), (*where, key))
            if found:
                return found
        return None
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            found = first_difference(a, b, (*where, i))
            if found:
                return found
        return None
    return None if got == want and type(got) is type(want) else (where, got, want)


def _verdict_contradiction(plan: Plan, manifest: Manifest) -> str | None:
    """A verdict the plan's own content contradicts (a flipped verdict), or None."""
    requested = decisions_of(manifest.requested(plan.region, plan.decisions.azs))
    if requested.networking == "vpc-with-interface-endpoints":
        # Which gateways stand in is the account's answer (the gateway quota's room), as the zones are.
        requested = requested.model_copy(update={"interface": plan.decisions.interface})
    as_requested = plan.decisions == requested
    if plan.verdict == "GO" and (plan.adaptations or plan.increase_requests or not as_requested):
        return (
            "the plan is inconsistent: a GO deploys the manifest as requested, but this plan lists "
            f"{len(plan.adaptations)} adaptation(s) and {len(plan.increase_requests)} increase request(s)"
        )
    if plan.verdict == "GO_WITH_ADAPTATIONS" and not plan.adaptations:
        return "the plan is inconsistent: GO_WITH_ADAPTATIONS, but nothing was adapted"
    return None


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
