"""`verify-program`: run the shipped program under Pulumi's mocks and hold its inventory to the plan.

The mocks record every resource registration as the engine would receive it (pulumi-aws type token,
logical name, camelCase inputs) and answer with made-up ids and ARNs so dependent resources resolve.
The inventory is then compared with the plan, kind by kind: nothing the plan does not ask for, nothing
missing, no two resources of a type under one physical name, every alarm with its actions, role
policies that match the Lambda networking, reserved concurrency exactly as planned.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pulumi

from preflight import privatelink
from preflight.errors import PreflightError
from preflight.model import (
    BASIC_EXECUTION_POLICY,
    TAG_ENVIRONMENT,
    TAG_PROJECT,
    VPC_ACCESS_POLICY,
    Deployment,
    FunctionPlan,
    Plan,
    Rule,
)
from preflight.program import names
from preflight.program.mockrun import run_with_mocks
from preflight.program.planfile import refusal

KIND = {
    names.PIPELINE: "pipeline component",
    names.VPC: "VPC",
    names.SUBNET: "subnet",
    names.ROUTE_TABLE: "route table",
    names.ROUTE_TABLE_ASSOCIATION: "route table association",
    names.INTERNET_GATEWAY: "internet gateway",
    names.EIP: "Elastic IP",
    names.NAT_GATEWAY: "NAT gateway",
    names.SECURITY_GROUP: "security group",
    names.VPC_ENDPOINT: "VPC endpoint",
    names.ROLE: "IAM role",
    names.ROLE_POLICY_ATTACHMENT: "role policy attachment",
    names.FUNCTION: "Lambda function",
    names.STREAM: "Kinesis stream",
    names.TABLE: "DynamoDB table",
    names.BUCKET: "S3 bucket",
    names.TOPIC: "SNS topic",
    names.METRIC_ALARM: "CloudWatch alarm",
}


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
            state["dnsEntries"] = [{"dnsName": endpoint_dns_name(id_, args.inputs), "hostedZoneId": "ZMOCK"}]
        return id_, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": self.account_id}, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region}, []
        return {}, []


def endpoint_dns_name(endpoint_id: str, inputs: dict[str, Any]) -> str:
    """The regional DNS name the mocks give an interface endpoint (AWS: vpce-...vpce.amazonaws.com)."""
    service = str(inputs.get("serviceName", "")).removeprefix("com.amazonaws.")
    return f"{endpoint_id}.{service}.vpce.amazonaws.com"


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
    """Per type token, the physical names the plan asks for."""
    out: dict[str, list[str]] = {
        names.PIPELINE: [names.component_name(d)],
        names.VPC: [d.vpc.name] if d.vpc.created else [],
        names.SUBNET: [s.name for s in d.vpc.subnets],
        names.ROUTE_TABLE: ([names.public_route_table_name(d)] if names.public_subnets(d) else [])
        + [names.private_route_table_name(d, az) for az in names.private_route_table_azs(d)],
        names.ROUTE_TABLE_ASSOCIATION: [s.name for s in d.vpc.subnets],
        names.INTERNET_GATEWAY: [names.internet_gateway_name(d)] if d.vpc.internet_gateway else [],
        names.EIP: [names.eip_name(d, az) for az in d.vpc.nat_gateway_azs],
        names.NAT_GATEWAY: [names.nat_gateway_name(d, az) for az in d.vpc.nat_gateway_azs],
        names.SECURITY_GROUP: [sg.name for sg in d.security_groups],
        names.VPC_ENDPOINT: [ep.name for ep in d.endpoints],
        names.ROLE: [d.role.name],
        names.ROLE_POLICY_ATTACHMENT: [f"{d.role.name} {arn}" for arn in d.role.managed_policies],
        names.FUNCTION: [f.name for f in d.functions],
        names.STREAM: [s.name for s in d.streams],
        names.TABLE: [t.name for t in d.tables],
        names.BUCKET: [b.name for b in d.buckets],
        names.TOPIC: [t.name for t in d.topics],
        names.METRIC_ALARM: [a.name for a in d.alarms],
    }
    return out


def check_inventory(
    d: Deployment, records: list[dict[str, Any]], ids: list[str], arns: list[str]
) -> list[str]:
    """Every departure of an inventory (records, with the id and ARN each got) from the deployment."""
    check = _Checker([])
    inventory = _Inventory.of(d, records, ids, arns, check)
    _census(d, inventory, check)
    _stack_tags(d, inventory, check)
    _subnets_and_routes(d, inventory, check)
    _security_groups_and_endpoints(d, inventory, check)
    attached = _role(d, inventory, check)
    vpc_functions = [fn.name for fn in d.functions if _function(d, fn, inventory, check)]
    _execution_policy(d, attached, vpc_functions, check)
    _alarms(d, inventory, check)
    _data(d, inventory, check)
    return check.violations


class _Checker:
    """Collects violations, in the order the checks find them."""

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations

    def add(self, violation: str) -> None:
        self.violations.append(violation)

    def eq(self, label: str, what: str, got: Any, want: Any) -> None:
        if got != want:
            self.violations.append(f"{label}: {what} is {got!r}, the plan wants {want!r}")


@dataclass(frozen=True)
class _Inventory:
    """The program's records, indexed as the checks look them up: by type and physical name."""

    records: list[dict[str, Any]]
    expected: dict[str, list[str]]  # physical names per type, as the plan asks for them
    by_id: dict[str, dict[str, Any]]
    by_type: dict[str, dict[str, list[dict[str, Any]]]]
    id_by_record: dict[int, str]
    arn_by_record: dict[int, str]

    @classmethod
    def of(
        cls, d: Deployment, records: list[dict[str, Any]], ids: list[str], arns: list[str], check: _Checker
    ) -> _Inventory:
        """Index `records`; one the plan has no type for, or one without a physical name, is a violation."""
        by_id = dict(zip(ids, records, strict=True))
        expected = expected_names(d)
        by_type: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        for r in records:
            if r["type"] not in expected:
                check.add(f"not in the plan: a {r['type']} ({r['name']}); the plan asks for none")
                continue
            name = physical_name(r, by_id)
            if name is None:
                check.add(f"{KIND[r['type']]} {r['name']} has no physical name (name or Name tag)")
                continue
            by_type[r["type"]][name].append(r)
        return cls(
            records=records,
            expected=expected,
            by_id=by_id,
            by_type=by_type,
            id_by_record={id(r): i for r, i in zip(records, ids, strict=True)},
            arn_by_record={id(r): a for r, a in zip(records, arns, strict=True)},
        )

    def one(self, typ: str, name: str) -> dict[str, Any] | None:
        rs = self.by_type.get(typ, {}).get(name)
        return rs[0] if rs else None

    def id_of(self, typ: str, name: str) -> str | None:
        r = self.one(typ, name)
        return self.id_by_record[id(r)] if r else None

    def arn_of(self, typ: str, name: str) -> str | None:
        r = self.one(typ, name)
        return self.arn_by_record[id(r)] if r else None

    def private_subnet_ids(self, d: Deployment) -> list[str | None]:
        return [self.id_of(names.SUBNET, s.name) for s in names.private_subnets(d)]


def _census(d: Deployment, inv: _Inventory, check: _Checker) -> None:
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


def _stack_tags(d: Deployment, inv: _Inventory, check: _Checker) -> None:
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


def _subnets_and_routes(d: Deployment, inv: _Inventory, check: _Checker) -> None:
    vpc_id = inv.id_of(names.VPC, d.vpc.name)
    for s in d.vpc.subnets:
        r = inv.one(names.SUBNET, s.name)
        if r:
            label = f"subnet {s.name}"
            check.eq(label, "vpcId", r["inputs"].get("vpcId"), vpc_id)
            check.eq(label, "cidrBlock", r["inputs"].get("cidrBlock"), s.cidr)
            check.eq(label, "availabilityZone", r["inputs"].get("availabilityZone"), s.az)
    igw_id = inv.id_of(names.INTERNET_GATEWAY, names.internet_gateway_name(d))
    if names.public_subnets(d):
        r = inv.one(names.ROUTE_TABLE, names.public_route_table_name(d))
        if r:
            want_routes = [("0.0.0.0/0", "gatewayId", igw_id)] if d.vpc.internet_gateway else []
            check.eq(f"route table {r['name']}", "routes", _routes(r), want_routes)
    for az in names.private_route_table_azs(d):
        r = inv.one(names.ROUTE_TABLE, names.private_route_table_name(d, az))
        if r:
            nat_az = names.nat_for_az(d, az)
            nat_id = inv.id_of(names.NAT_GATEWAY, names.nat_gateway_name(d, nat_az)) if nat_az else None
            want_routes = [("0.0.0.0/0", "natGatewayId", nat_id)] if nat_az else []
            check.eq(f"route table {r['name']}", "routes", _routes(r), want_routes)
    for az in d.vpc.nat_gateway_azs:
        r = inv.one(names.NAT_GATEWAY, names.nat_gateway_name(d, az))
        public = next((s for s in names.public_subnets(d) if s.az == az), None)
        if r and public:
            label = f"NAT gateway {r['name']}"
            check.eq(label, "subnetId", r["inputs"].get("subnetId"), inv.id_of(names.SUBNET, public.name))
            eip_id = inv.id_of(names.EIP, names.eip_name(d, az))
            check.eq(label, "allocationId", r["inputs"].get("allocationId"), eip_id)


def _security_groups_and_endpoints(d: Deployment, inv: _Inventory, check: _Checker) -> None:
    vpc_id = inv.id_of(names.VPC, d.vpc.name)
    for sg in d.security_groups:
        r = inv.one(names.SECURITY_GROUP, sg.name)
        if r:
            label = f"security group {sg.name}"
            check.eq(label, "vpcId", r["inputs"].get("vpcId"), vpc_id)
            check.eq(label, "ingress", _rules(r["inputs"].get("ingress")), _plan_rules(sg.ingress))
            check.eq(label, "egress", _rules(r["inputs"].get("egress")), _plan_rules(sg.egress))
    private_rt_ids = sorted(
        str(inv.id_of(names.ROUTE_TABLE, names.private_route_table_name(d, az)))
        for az in names.private_route_table_azs(d)
    )
    for ep in d.endpoints:
        r = inv.one(names.VPC_ENDPOINT, ep.name)
        if not r:
            continue
        label, inputs = f"VPC endpoint {ep.name}", r["inputs"]
        check.eq(label, "vpcId", inputs.get("vpcId"), vpc_id)
        check.eq(label, "serviceName", inputs.get("serviceName"), names.service_name(d, ep.service))
        check.eq(label, "vpcEndpointType", inputs.get("vpcEndpointType"), ep.type.capitalize())
        if ep.type == "gateway":
            check.eq(label, "routeTableIds", sorted(inputs.get("routeTableIds") or []), private_rt_ids)
        else:
            check.eq(label, "privateDnsEnabled", inputs.get("privateDnsEnabled"), ep.private_dns)
            inbound_only = ep.private_dns and ep.service in privatelink.INBOUND_ONLY_BY_DEFAULT
            check.eq(
                label,
                "dnsOptions",
                inputs.get("dnsOptions"),
                {"privateDnsOnlyForInboundResolverEndpoint": False} if inbound_only else None,
            )
            check.eq(label, "subnetIds", inputs.get("subnetIds"), inv.private_subnet_ids(d))
            sg_id = inv.id_of(names.SECURITY_GROUP, ep.security_group or "")
            check.eq(label, "securityGroupIds", inputs.get("securityGroupIds"), [sg_id])


def _role(d: Deployment, inv: _Inventory, check: _Checker) -> set[Any]:
    """The role's trust and where its policies are attached; the policy ARNs attached to it."""
    role = inv.one(names.ROLE, d.role.name)
    if role:
        check.eq(
            f"role {d.role.name}",
            "assumeRolePolicy principal",
            _principal(role["inputs"].get("assumeRolePolicy")),
            "lambda.amazonaws.com",
        )
    attachments = [r for r in inv.records if r["type"] == names.ROLE_POLICY_ATTACHMENT]
    for r in attachments:
        if r["inputs"].get("role") != d.role.name:
            check.add(f"role policy attachment {r['name']} is on role {r['inputs'].get('role')!r}")
    return {r["inputs"].get("policyArn") for r in attachments if r["inputs"].get("role") == d.role.name}


def _function(d: Deployment, fn: FunctionPlan, inv: _Inventory, check: _Checker) -> bool:
    """One function's settings against the plan; whether the program attaches it to the VPC."""
    r = inv.one(names.FUNCTION, fn.name)
    if not r:
        return False
    label, inputs = f"function {fn.name}", r["inputs"]
    vpc_config = inputs.get("vpcConfig")
    if fn.vpc_attached and not vpc_config:
        check.add(f"{label} has no vpcConfig but the plan attaches it to the VPC")
    elif not fn.vpc_attached and vpc_config:
        check.add(f"{label} has a vpcConfig but the plan keeps it out of the VPC")
    elif vpc_config:
        lambda_sg_id = inv.id_of(names.SECURITY_GROUP, d.lambda_security_group or "")
        check.eq(label, "vpcConfig.subnetIds", vpc_config.get("subnetIds"), inv.private_subnet_ids(d))
        check.eq(label, "vpcConfig.securityGroupIds", vpc_config.get("securityGroupIds"), [lambda_sg_id])
    reserved = inputs.get("reservedConcurrentExecutions")
    if reserved == 0:
        check.add(f"{label} has reservedConcurrentExecutions 0: it would never run")
    if (None if reserved in (None, -1) else reserved) != fn.reserved_concurrency:
        planned = "none (unset)" if fn.reserved_concurrency is None else fn.reserved_concurrency
        shown = "unset" if reserved is None else reserved
        check.add(f"{label} reserves {shown} concurrent executions, the plan {planned}")
    variables = (inputs.get("environment") or {}).get("variables") or {}
    check.eq(label, "endpoint URL variables", _url_variables(variables), _want_urls(d, fn, inv))
    data = names.data_variables(d)
    check.eq(label, "data variables", {k: v for k, v in variables.items() if k in data}, data)
    check.eq(label, "role", inputs.get("role"), inv.arn_of(names.ROLE, d.role.name))
    check.eq(label, "handler", inputs.get("handler"), fn.handler)
    check.eq(label, "runtime", inputs.get("runtime"), fn.runtime)
    check.eq(label, "memorySize", inputs.get("memorySize"), fn.memory_mb)
    check.eq(label, "timeout", inputs.get("timeout"), fn.timeout_s)
    archive = (inputs.get("code") or {}).get("archive") or {}
    member = archive.get(names.archive_member(fn))
    if not member:
        check.add(f"{label}: its code archive has no {names.archive_member(fn)} for {fn.handler}")
    elif "file" in member and not Path(member["file"]).is_file():
        check.add(f"{label}: its code file {member['file']} does not exist")
    return bool(vpc_config)


def _execution_policy(d: Deployment, attached: set[Any], vpc_functions: list[str], check: _Checker) -> None:
    """The execution policy must follow the networking the program actually gives the functions."""
    if vpc_functions and VPC_ACCESS_POLICY not in attached:
        check.add(
            f"functions {', '.join(vpc_functions)} are VPC-attached but the role lacks {VPC_ACCESS_POLICY}"
        )
    if VPC_ACCESS_POLICY in attached and not vpc_functions:
        check.add(
            f"the role has {VPC_ACCESS_POLICY} but no function is VPC-attached "
            f"(least privilege: {BASIC_EXECUTION_POLICY})"
        )
    if d.functions and not attached & {VPC_ACCESS_POLICY, BASIC_EXECUTION_POLICY}:
        check.add("the role has no Lambda execution policy: the functions could not write logs")


def _alarms(d: Deployment, inv: _Inventory, check: _Checker) -> None:
    """Alarms: created once (the census), each with its action, at creation."""
    for alarm in d.alarms:
        r = inv.one(names.METRIC_ALARM, alarm.name)
        if not r:
            continue
        label, inputs = f"alarm {alarm.name}", r["inputs"]
        if not inputs.get("alarmActions"):
            check.add(f"{label} has no alarmActions: it would notify nobody")
        else:
            check.eq(
                label, "alarmActions", inputs.get("alarmActions"), [inv.arn_of(names.TOPIC, alarm.topic)]
            )
        check.eq(label, "namespace", inputs.get("namespace"), alarm.namespace)
        check.eq(label, "metricName", inputs.get("metricName"), alarm.metric)
        check.eq(label, "dimensions", inputs.get("dimensions") or {}, alarm.dimensions)
        check.eq(label, "threshold", inputs.get("threshold"), alarm.threshold)
        check.eq(label, "comparisonOperator", inputs.get("comparisonOperator"), alarm.comparison)
    planned = {a.name for a in d.alarms}
    for r in inv.records:
        if r["type"] == names.METRIC_ALARM and physical_name(r, inv.by_id) not in planned:
            if not r["inputs"].get("alarmActions"):
                check.add(f"alarm {r['name']} has no alarmActions")


def _data(d: Deployment, inv: _Inventory, check: _Checker) -> None:
    for s in d.streams:
        stream = inv.one(names.STREAM, s.name)
        if stream:
            label, inputs = f"stream {s.name}", stream["inputs"]
            check.eq(label, "shardCount", inputs.get("shardCount"), s.shards)
            check.eq(label, "retentionPeriod", inputs.get("retentionPeriod"), s.retention_hours)
    for t in d.tables:
        table = inv.one(names.TABLE, t.name)
        if table:
            label, inputs = f"table {t.name}", table["inputs"]
            check.eq(label, "hashKey", inputs.get("hashKey"), t.hash_key)
            check.eq(label, "billingMode", inputs.get("billingMode"), t.billing_mode)


def _want_urls(d: Deployment, fn: FunctionPlan, inv: _Inventory) -> dict[str, str]:
    """The endpoint URLs a function must get: services it uses whose endpoint has no private DNS."""
    if not fn.vpc_attached:
        return {}
    out = {}
    for ep in d.endpoints:
        if ep.url_variable and ep.service in fn.uses:
            endpoint_id = inv.id_of(names.VPC_ENDPOINT, ep.name) or ""
            service = {"serviceName": names.service_name(d, ep.service)}
            out[ep.url_variable] = "https://" + endpoint_dns_name(endpoint_id, service)
    return out


def _url_variables(variables: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in variables.items() if k in privatelink.URL_VARIABLE.values()}


def _routes(record: dict[str, Any]) -> list[tuple[str, str, Any]]:
    out = []
    for route in record["inputs"].get("routes") or []:
        target = next(((k, v) for k, v in route.items() if k.endswith("Id") and v), ("", None))
        out.append((route.get("cidrBlock"), target[0], target[1]))
    return out


def _rules(rules: Any) -> list[tuple[Any, ...]]:
    return sorted(
        (
            str(r.get("protocol")),
            r.get("fromPort"),
            r.get("toPort"),
            tuple(r.get("cidrBlocks") or ()),
        )
        for r in rules or []
    )


def _plan_rules(rules: tuple[Rule, ...]) -> list[tuple[Any, ...]]:
    return sorted((r.protocol, r.from_port, r.to_port, (r.cidr,)) for r in rules)


def _principal(policy: Any) -> Any:
    try:
        doc = json.loads(policy) if isinstance(policy, str) else policy
        return doc["Statement"][0]["Principal"]["Service"]
    except (TypeError, ValueError, KeyError, IndexError):
        return None
