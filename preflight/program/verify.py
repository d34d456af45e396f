"""`verify-program`: run the shipped program under Pulumi's mocks and hold its inventory to the plan.

The mocks record every resource registration as the engine would receive it (pulumi-aws type token,
logical name, camelCase inputs) and answer with made-up ids and ARNs so dependent resources resolve.
The inventory is then compared with the plan, kind by kind: nothing the plan does not ask for, nothing
missing, no two resources of a type under one physical name, every alarm with its actions, role
policies that match the Lambda networking, reserved concurrency exactly as planned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pulumi

from preflight import kinds
from preflight.deployment import TAG_ENVIRONMENT, TAG_PROJECT, Deployment, Plan
from preflight.kinds import endpoint
from preflight.kinds.base import Checker, Inventory
from preflight.program import names
from preflight.program.mockrun import run_with_mocks
from preflight.program.planfile import refusal
from preflight.support.errors import PreflightError

KIND = {names.PIPELINE: "pipeline component", **kinds.LABELS}  # type token -> what a reader calls it


@dataclass(frozen=True)
class VerifyResult:
    """The program's inventory under mocks, and how it departs from the plan (empty: it does not)."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    plan_path: str = ""  # the plan file verified (where annotations point); not part of the JSON

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> str:
        return json.dumps({"resources": self.resources, "violations": self.violations}, indent=2) + "\n"

    def render_text(self) -> str:
        lines = [f"Program inventory: {len(self.resources)} resources"]
        width = max((len(r["type"]) for r in self.resources), default=0)
        for r in self.resources:
            facts = _facts(r)
            lines.append(f"  {r['type']:<{width}}  {r['name']}{'  ' + facts if facts else ''}")
        if self.violations:
            lines.append(f"Violations ({len(self.violations)}):")
            lines.extend(f"  - {v}" for v in self.violations)
        else:
            lines.append("OK: the program registers exactly what the plan asks for.")
        return "\n".join(lines) + "\n"


def _facts(r: dict[str, Any]) -> str:
    inputs = r["inputs"]
    if r["type"] == names.FUNCTION:
        reserved = inputs.get("reservedConcurrentExecutions", "none")
        return f"reserved={reserved} vpc={'yes' if 'vpcConfig' in inputs else 'no'}"
    if r["type"] == names.VPC_ENDPOINT:
        return f"{inputs.get('vpcEndpointType')} {inputs.get('serviceName')}"
    if r["type"] == names.ROLE_POLICY_ATTACHMENT:
        return str(inputs.get("policyArn"))
    if r["type"] == names.METRIC_ALARM:
        return f"actions={len(inputs.get('alarmActions') or [])}"
    return ""


class RecordingMocks(pulumi.runtime.Mocks):
    """Records each registration; answers with ids/ARNs derived from the logical name."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region
        self.records: list[dict[str, Any]] = []
        self.ids: list[str] = []  # aligned with records
        self.arns: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        record = {"type": args.typ, "name": args.name, "inputs": plain(args.inputs)}
        short = args.typ.rsplit(":", 1)[-1].lower()
        id_ = f"{short}-{args.name}"
        while id_ in self.ids:  # a duplicate still gets its own id, so it can be reported as one
            id_ += "-dup"
        arn = f"arn:aws:mock:{self.region}:{self.account_id}:{short}/{id_}"
        self.records.append(record)
        self.ids.append(id_)
        self.arns.append(arn)
        state = {**args.inputs, "arn": arn}
        if args.typ == names.EIP:
            state["allocationId"] = id_
        if args.typ == names.VPC_ENDPOINT and args.inputs.get("vpcEndpointType") == "Interface":
            state["dnsEntries"] = [
                {"dnsName": endpoint.mock_dns_name(id_, args.inputs), "hostedZoneId": "ZMOCK"}
            ]
        return id_, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": self.account_id}, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region}, []
        return {}, []


def plain(value: Any) -> Any:
    """Inputs as JSON: assets by path, whole numbers as ints (the wire carries every number as a double)."""
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": {k: plain(v) for k, v in value.assets.items()}}
    if isinstance(value, pulumi.FileAsset):
        return {"file": str(value.path)}
    if isinstance(value, pulumi.StringAsset):
        return {"text": value.text}
    if isinstance(value, dict):
        return {str(k): plain(value[k]) for k in sorted(value)}  # sorted: stable, diffable JSON
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def record_program(plan: Plan, *, base_dir: Path) -> RecordingMocks:
    """Run the program for `plan` under recording mocks; raises what the program raises."""
    from preflight.program.pipeline import Pipeline

    d = plan.deployment
    mocks = RecordingMocks(plan.account_id, plan.region)
    run_with_mocks(
        mocks,
        lambda: Pipeline(d, base_dir=base_dir, current=plan.current),
        project="tap-pipeline",
        stack=d.environment,
    )
    return mocks


def verify_program(plan: Plan, *, base_dir: Path) -> VerifyResult:
    """Run the program for `plan` under mocks; its inventory and every departure from the plan."""
    # What the program would refuse on its own (verdict, an inconsistent plan). The age is not judged
    # here: a verification is about what would be registered, whenever it is run.
    reason = refusal(plan, now=plan.created_at)
    if reason:
        return VerifyResult([], [f"the program refuses this plan before registering anything: {reason}"])
    try:
        mocks = record_program(plan, base_dir=base_dir)
    except PreflightError as exc:
        return VerifyResult([], [f"the program failed: {exc}"])
    except Exception as exc:  # a crash of the program is a finding, not a crash of ours
        return VerifyResult([], [f"the program failed: {type(exc).__name__}: {exc}"])
    violations = check_inventory(plan.deployment, mocks.records, mocks.ids, mocks.arns)
    return VerifyResult(ordered(plan.deployment, mocks.records, mocks.ids), violations)


def verify_plan_file(plan_path: str, *, manifest: str | None = None) -> VerifyResult:
    """`verify-program`: read the plan as the program reads it (strictly, backed by its manifest), verify."""
    from preflight.program.planfile import load_trusted_plan

    trusted = load_trusted_plan(plan_path, manifest=manifest)
    return replace(verify_program(trusted.plan, base_dir=trusted.base_dir), plan_path=plan_path)


def ordered(d: Deployment, records: list[dict[str, Any]], ids: list[str]) -> list[dict[str, Any]]:
    """The inventory in a stable order: by kind, then as the plan lists them (registration order is not)."""
    by_id = dict(zip(ids, records, strict=True))
    expected = expected_names(d)

    def key(record: dict[str, Any]) -> tuple[int, int, str]:
        typ = record["type"]
        kind = names.TYPE_ORDER.index(typ) if typ in names.TYPE_ORDER else len(names.TYPE_ORDER)
        want = expected.get(typ, [])
        name = physical_name(record, by_id)
        return kind, want.index(name) if name in want else len(want), record["name"]

    return sorted(records, key=key)


# --- comparing an inventory with the plan ----------------------------------------------------------


def physical_name(record: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> str | None:
    """The name a resource has in AWS (what must be unique within its type)."""
    typ, inputs = record["type"], record["inputs"]
    if typ == names.PIPELINE:
        return record["name"]
    if typ == names.BUCKET:
        return inputs.get("bucket")
    if typ == names.ROLE_POLICY_ATTACHMENT:
        return f"{inputs.get('role')} {inputs.get('policyArn')}"
    if typ == names.ROUTE_TABLE_ASSOCIATION:
        # A subnet has one route table: the association's identity is its subnet.
        subnet = by_id.get(str(inputs.get("subnetId")))
        return physical_name(subnet, by_id) if subnet else None
    if "name" in inputs:
        return inputs["name"]
    return (inputs.get("tags") or {}).get("Name")


def expected_names(d: Deployment) -> dict[str, list[str]]:
    """Per type token, the physical names the plan asks for (each kind says its own)."""
    out: dict[str, list[str]] = {names.PIPELINE: [names.component_name(d)]}
    for kind in kinds.KINDS:
        out.update(kind.expected(d))
    return out


def check_inventory(
    d: Deployment, records: list[dict[str, Any]], ids: list[str], arns: list[str]
) -> list[str]:
    """Every departure of an inventory (records, with the id and ARN each got) from the deployment:
    the census and the tags here, then each kind's own checks (`verify` in `preflight/kinds/`)."""
    check = Checker([])

    def refuse(record: dict[str, Any], why: str) -> None:
        if why == "type":
            check.add(f"not in the plan: a {record['type']} ({record['name']}); the plan asks for none")
        else:
            check.add(f"{KIND[record['type']]} {record['name']} has no physical name (name or Name tag)")

    inventory = Inventory.of(records, ids, arns, expected_names(d), physical_name, refuse)
    _census(inventory, check)
    _stack_tags(d, inventory, check)
    for kind in kinds.KINDS:
        kind.verify(d, inventory, check)
    return check.violations


def _census(inv: Inventory, check: Checker) -> None:
    """Each physical name once, every one the plan asks for, none it does not."""
    for typ, want in inv.expected.items():
        got = inv.by_type.get(typ, {})
        kind = KIND[typ]
        for name, rs in got.items():
            if len(rs) > 1:
                check.add(
                    f"duplicate: {len(rs)} {kind}s under one physical name {name!r} "
                    f"({', '.join(r['name'] for r in rs)}); create it once"
                )
        for name in want:
            if name not in got:
                check.add(f"missing: {kind} {name!r}, which the plan asks for")
        for name in got:
            if name not in want:
                check.add(f"not in the plan: {kind} {name!r}")


def _stack_tags(d: Deployment, inv: Inventory, check: Checker) -> None:
    """Tags: what `check` recognises the stack by, on everything taggable."""
    for r in inv.records:
        if r["type"] in names.UNTAGGED or r["type"] not in inv.expected:
            continue
        tags = r["inputs"].get("tags") or {}
        if tags.get(TAG_PROJECT) != d.project or tags.get(TAG_ENVIRONMENT) != d.environment:
            check.add(
                f"{KIND[r['type']]} {r['name']} lacks the stack tags "
                f"{TAG_PROJECT}={d.project} / {TAG_ENVIRONMENT}={d.environment}"
            )
        elif "Name" not in tags:
            check.add(f"{KIND[r['type']]} {r['name']} has no Name tag")
