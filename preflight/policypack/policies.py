"""The shipped policy pack's policies: `pulumi up --policy-pack preflight/policypack` holds the shipped
program to the tap-preflight plan, whatever edits the program has had since it was verified.

Every validation takes what the engine passes (the pulumi-aws type token, the logical name and the
resource's inputs in camelCase, as `props`) and the plan, from the policy's `planFile` config or the
`TAP_PLAN` environment variable (what `tap-preflight deploy` sets). Refused:

- a plan that is missing, unreadable, NO_GO, stale, inconsistent, not backed by its manifest (read as
  the program reads it: the manifest at its recorded path in the project, or the `manifest` config /
  `TAP_MANIFEST`; see `preflight.program.planfile`) or for another region than the AWS provider's;
- a resource the plan does not hold (by type, then by physical name), an endpoint the plan dropped
  named as such, an endpoint of another kind (gateway / interface) or private DNS than planned;
- reserved concurrency other than planned, and 0 always (it would throttle the function completely).

Only inputs the program sets from constants are read: during a preview, computed values are unknown,
and reading one is itself a violation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from preflight.deployment import Plan
from preflight.kinds import vpc
from preflight.program import names
from preflight.program.planfile import load_trusted_plan, refusal
from preflight.support.errors import InputError

PACK_NAME = "tap-preflight-plan"
PLAN_DEPLOYABLE = "tap-plan-deployable"
ONLY_PLANNED_RESOURCES = "tap-only-planned-resources"
PLANNED_CONCURRENCY = "tap-planned-reserved-concurrency"

CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        "planFile": {"type": "string", "description": "The plan file (default: $TAP_PLAN)."},
        "manifest": {"type": "string", "description": "Its manifest (default: $TAP_MANIFEST)."},
    }
)

NO_PLAN = (
    "no tap-preflight plan to check against: set TAP_PLAN (or this policy's planFile config) to the "
    "plan file (`tap-preflight plan --adapt --save-plan plan.json`, or use `tap-preflight deploy`)"
)


class PlanUnavailable(Exception):
    """The plan could not be read; its message is the violation."""


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, manifest: str | None) -> Plan:  # mtime: a rewritten plan is read again
    # Trusted as the program trusts it: strict reading, the manifest's hash, values rebuilt from it.
    return load_trusted_plan(path, manifest=manifest).plan


def plan_of(config: Mapping[str, Any]) -> tuple[str, Plan]:
    """The plan the config (or TAP_PLAN) names, and its path; PlanUnavailable if there is none."""
    path = config.get("planFile") or os.environ.get("TAP_PLAN")
    if not path:
        raise PlanUnavailable(NO_PLAN)
    try:
        manifest = config.get("manifest") or os.environ.get("TAP_MANIFEST") or None
        return path, _load(path, os.stat(path).st_mtime_ns, manifest)
    except OSError as exc:
        raise PlanUnavailable(f"cannot read the plan file {path}: {exc.strerror or exc}") from exc
    except InputError as exc:
        raise PlanUnavailable(f"unusable plan file: {exc}") from exc


# --- the validations, as the engine calls them ------------------------------------------------------


def validate_plan_deployable(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """The plan itself: present, GO or GO_WITH_ADAPTATIONS, fresh, for this manifest and region."""
    config = args.get_config()
    try:
        path, plan = plan_of(config)
    except PlanUnavailable as exc:
        report_violation(str(exc), None)
        return
    # The AWS provider's region, when the program's stack has one set (the default provider's).
    region = next(
        (
            str(r.props.get("region"))
            for r in args.resources
            if r.resource_type.startswith("pulumi:providers:aws") and r.props.get("region")
        ),
        None,
    )
    reason = refusal(plan, region=region)
    if reason:
        report_violation(f"refusing to deploy {path}: {reason}", None)


def validate_only_planned_resources(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Each resource must be one the plan holds: its type, and its physical name within that type."""
    try:
        _, plan = plan_of(args.get_config())
    except PlanUnavailable:
        return  # tap-plan-deployable reports it, once for the stack
    problem = unplanned(plan, args.resource_type, args.name, args.props)
    if problem:
        report_violation(problem, None)


def validate_planned_concurrency(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A function reserves exactly what the plan reserves for it: nothing when none, never 0."""
    if args.resource_type != names.FUNCTION:
        return
    try:
        _, plan = plan_of(args.get_config())
    except PlanUnavailable:
        return
    problem = concurrency_departure(plan, args.props)
    if problem:
        report_violation(problem, None)


# --- the checks, on plain values ----------------------------------------------------------------


def unplanned(plan: Plan, resource_type: str, logical_name: str, props: Mapping[str, Any]) -> str | None:
    """Why this resource is not in the plan, or None when it is."""
    if resource_type == "pulumi:pulumi:Stack" or resource_type.startswith("pulumi:providers:"):
        return None
    d = plan.deployment
    expected = _expected(d)
    if resource_type not in expected:
        return f"a {resource_type} ({logical_name}) is not in the plan: deploy only what it holds"
    name = _physical_name(resource_type, logical_name, props)
    if name in expected[resource_type]:
        return endpoint_departure(plan, name, props) if resource_type == names.VPC_ENDPOINT else None
    if resource_type == names.VPC_ENDPOINT:
        dropped = [a for a in plan.adaptations for c in a.changes if c.before == name and c.after is None]
        if dropped:
            return (
                f"VPC endpoint {name!r} was dropped by the plan ({dropped[0].id}: {dropped[0].reason}); "
                "creating it would not fit the account"
            )
        planned = ", ".join(expected[resource_type]) or "none"
        return f"VPC endpoint {name!r} is not in the plan (it holds {planned})"
    return f"{resource_type} {name!r} ({logical_name}) is not in the plan"


def endpoint_departure(plan: Plan, name: str | None, props: Mapping[str, Any]) -> str | None:
    """Why a planned endpoint departs from the plan's kind and DNS, or None. A gateway endpoint where
    the plan stands an interface one in would meet the full regional gateway quota again."""
    ep = next((e for e in plan.deployment.endpoints if e.name == name), None)
    if ep is None:
        return None
    kind = props.get("vpcEndpointType") or "Gateway"
    if str(kind).lower() != ep.type:
        return f"VPC endpoint {name!r} is a {kind} endpoint; the plan makes it a {ep.type} endpoint"
    if ep.type == "interface" and props.get("privateDnsEnabled") is not None:
        if bool(props.get("privateDnsEnabled")) != ep.private_dns:
            want = "on" if ep.private_dns else f"off (the functions get its URL in {ep.url_variable})"
            return f"VPC endpoint {name!r}: private DNS must be {want}"
    return None


def concurrency_departure(plan: Plan, props: Mapping[str, Any]) -> str | None:
    """Why a function's reserved concurrency departs from the plan, or None."""
    name = props.get("name")
    planned = next((f for f in plan.deployment.functions if f.name == name), None)
    if planned is None:
        return None  # not a planned function: tap-only-planned-resources says so
    reserved = props.get("reservedConcurrentExecutions")
    if reserved is not None and float(reserved) == 0:
        return f"function {name} reserves 0 concurrent executions: it would never run"
    got = None if reserved is None or float(reserved) == -1 else int(float(reserved))
    if got != planned.reserved_concurrency:
        want = "none" if planned.reserved_concurrency is None else planned.reserved_concurrency
        return f"function {name} reserves {'none' if got is None else got}, the plan {want}"
    return None


def _expected(d: Any) -> dict[str, list[str]]:
    from preflight.program.verify import expected_names

    out = expected_names(d)
    # A resource validation sees one resource: an association is known by its logical name (its subnet
    # id is computed), an attachment by its role and policy ARN.
    out[names.ROUTE_TABLE_ASSOCIATION] = [vpc.association_name(s) for s in d.vpc.subnets]
    return out


def _physical_name(resource_type: str, logical_name: str, props: Mapping[str, Any]) -> str | None:
    if resource_type in (names.PIPELINE, names.ROUTE_TABLE_ASSOCIATION):
        return logical_name
    if resource_type == names.BUCKET:
        return props.get("bucket")
    if resource_type == names.ROLE_POLICY_ATTACHMENT:
        return f"{props.get('role')} {props.get('policyArn')}"
    if props.get("name"):
        return props.get("name")
    return (props.get("tags") or {}).get("Name")


def policies() -> list[Any]:
    return [
        StackValidationPolicy(
            name=PLAN_DEPLOYABLE,
            description="The plan is GO or GO_WITH_ADAPTATIONS, fresh, and for this manifest and region.",
            validate=validate_plan_deployable,
            config_schema=CONFIG_SCHEMA,
        ),
        ResourceValidationPolicy(
            name=ONLY_PLANNED_RESOURCES,
            description="Only the resources the plan holds; no endpoint the plan dropped.",
            validate=validate_only_planned_resources,
            config_schema=CONFIG_SCHEMA,
        ),
        ResourceValidationPolicy(
            name=PLANNED_CONCURRENCY,
            description="Reserved concurrency exactly as planned: none when none, never 0.",
            validate=validate_planned_concurrency,
            config_schema=CONFIG_SCHEMA,
        ),
    ]


def serve() -> None:
    """Serve the pack to the Pulumi engine (PolicyPack's constructor does, and blocks)."""
    PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
