"""`rehearse`: run the shipped program against an emulated AWS account, resource by resource.

The program runs under Pulumi mocks whose `new_resource` creates each resource in the account through
boto3 and answers with the real ids and ARNs, so dependent resources get real references. A quota the
account enforces therefore fails the way AWS fails it (`VpcEndpointLimitExceeded`, the Lambda
unreserved-concurrency floor...), not by the preflight's own arithmetic.

The rehearsal stops creating at the first failure, like a deployment that cannot go on: later
resources are reported as skipped. A resource type this module cannot translate into API calls is
reported as not rehearsed, never passed silently. Resources created stay in the account (a later
`check` sees the stack, by its tags and names, as this stack's own).

With `update=True` the rehearsal is a redeploy, as `pulumi up` on an existing stack: a function or
stream that already carries this stack's tags (tap:project / tap:environment, as usage.py recognises
the stack's own) is updated in place, in the order the program's dependencies give:
PutFunctionConcurrency / DeleteFunctionConcurrency, which AWS checks against the unreserved floor on
every call; UpdateShardCount in one call, as the provider makes it (AWS refuses more than doubling or
halving, and keeps the old shards open meanwhile). The stack's functions and streams the plan no
longer has are deleted only after every create and update, as Pulumi deletes removed resources at the
end: until then they hold their quota.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
import pulumi
from botocore.config import Config
from botocore.configprovider import ConstantProvider
from botocore.exceptions import BotoCoreError, ClientError

from preflight.model import TAG_ENVIRONMENT, TAG_PROJECT, Plan
from preflight.program import names
from preflight.program.mockrun import run_with_mocks

GLOBAL_REGION = "us-east-1"  # IAM answers there
# Dummy credentials: real ones must never be sent to an emulator's endpoint.
ACCESS_KEY = "sandbox"
SECRET_KEY = "sandbox-secret"


@dataclass(frozen=True)
class RehearsalResult:
    endpoint_url: str
    deployed: list[dict[str, Any]] = field(default_factory=list)  # {"type", "name", "id"}
    failed: list[dict[str, Any]] = field(default_factory=list)  # {"type", "name", "code", "message"}
    skipped: list[dict[str, Any]] = field(default_factory=list)  # {"type", "name", "reason"}
    not_rehearsed: list[dict[str, Any]] = field(default_factory=list)  # {"type", "name"}
    updated: list[str] = field(default_factory=list)  # names updated in place (update mode)
    deleted: list[dict[str, Any]] = field(default_factory=list)  # {"type", "name"} removed at the end
    forced: str | None = None  # why the program would refuse the plan, when rehearsed with --force
    plan_path: str = ""  # the plan file rehearsed (where annotations point); not part of the JSON

    @property
    def complete(self) -> bool:
        """Every resource of the program was created in the account."""
        return not (self.failed or self.skipped or self.not_rehearsed)

    def to_json(self) -> str:
        payload = {
            "endpoint_url": self.endpoint_url,
            "complete": self.complete,
            "forced": self.forced,
            "deployed": self.deployed,
            "failed": self.failed,
            "skipped": self.skipped,
            "not_rehearsed": self.not_rehearsed,
        }
        if self.updated or self.deleted:  # update mode only: create-only output is unchanged
            payload["updated"] = self.updated
            payload["deleted"] = self.deleted
        return json.dumps(payload, indent=2) + "\n"

    def render_text(self) -> str:
        total = len(self.deployed) + len(self.failed) + len(self.skipped) + len(self.not_rehearsed)
        verdict = "COMPLETE" if self.complete else "INCOMPLETE"
        lines = [f"Rehearsal against {self.endpoint_url}: {verdict} ({len(self.deployed)}/{total} deployed)"]
        if self.forced:
            lines.append(f"  FORCED: the program would refuse this plan: {self.forced}")
        for r in self.failed:
            lines.append(f"  FAILED        {r['type']}  {r['name']}: {r['code']}: {r['message']}")
        for r in self.not_rehearsed:
            lines.append(f"  NOT REHEARSED {r['type']}  {r['name']} (no translation for this type)")
        if self.skipped:
            lines.append(f"  skipped after the failure: {len(self.skipped)} resources")
            lines.extend(f"    {r['type']}  {r['name']}" for r in self.skipped)
        lines.append(f"  deployed: {len(self.deployed)} resources")
        lines.extend(f"    {r['type']}  {r['name']}  {r['id']}" for r in self.deployed)
        if self.updated:
            lines.append(f"  updated in place: {', '.join(self.updated)}")
        lines.extend(f"  deleted at the end: {r['type']}  {r['name']}" for r in self.deleted)
        return "\n".join(lines) + "\n"


class _Clients:
    """boto3 clients for the emulated account, blind to the user's AWS config and credentials."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        core = botocore.session.Session()
        core.set_config_variable("config_file", os.devnull)
        core.set_config_variable("credentials_file", os.devnull)
        core.get_component("config_store").set_config_provider("profile", ConstantProvider(None))
        self._session = boto3.session.Session(
            botocore_session=core, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY
        )
        self._endpoint_url = endpoint_url
        self.region = region
        self._cache: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self._cache:
            config = Config(
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=5,
                read_timeout=60,
                s3={"addressing_style": "path"},
            )
            self._cache[key] = self._session.client(
                service, region_name=key[1], endpoint_url=self._endpoint_url, config=config
            )
        return self._cache[key]


Created = tuple[str, dict[str, Any]]  # (id, outputs beyond the inputs)
Translator = Callable[[_Clients, dict[str, Any]], Created]


class _StepFailed(Exception):
    """An AWS call failed after part of the resource was made (e.g. a function without its reservation)."""

    def __init__(self, step: str, error: ClientError) -> None:
        err = error.response.get("Error", {})
        self.code = str(err.get("Code", "ClientError"))
        self.message = f"{step}: {err.get('Message', error)}"
        super().__init__(self.message)


class RehearsalMocks(pulumi.runtime.Mocks):
    def __init__(self, clients: _Clients, *, update: bool = False) -> None:
        self.clients = clients
        self.update = update
        self.updated: list[str] = []
        self.deployed: list[dict[str, Any]] = []
        self.failed: list[dict[str, Any]] = []
        self.skipped: list[dict[str, Any]] = []
        self.not_rehearsed: list[dict[str, Any]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if not args.custom:  # a component: nothing to create
            return f"{args.name}-component", dict(args.inputs)
        entry = {"type": args.typ, "name": args.name}
        if self.failed:
            first = self.failed[0]
            self.skipped.append({**entry, "reason": f"not attempted after {first['name']} failed"})
            return f"skipped-{args.name}", dict(args.inputs)
        translate = TRANSLATORS.get(args.typ)
        if translate is None:
            self.not_rehearsed.append(entry)
            return f"not-rehearsed-{args.name}", dict(args.inputs)
        updater = UPDATERS.get(args.typ) if self.update else None
        try:
            existing = updater(self.clients, args.inputs) if updater else None
            if existing is not None:
                self.updated.append(args.name)
            id_, outputs = existing or translate(self.clients, args.inputs)
        except _StepFailed as exc:
            self.failed.append({**entry, "code": exc.code, "message": exc.message})
            return f"failed-{args.name}", dict(args.inputs)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            self.failed.append(
                {
                    **entry,
                    "code": str(err.get("Code", "ClientError")),
                    "message": str(err.get("Message", exc)),
                }
            )
            return f"failed-{args.name}", dict(args.inputs)
        except (BotoCoreError, OSError, ValueError, KeyError, TypeError) as exc:
            self.failed.append({**entry, "code": type(exc).__name__, "message": str(exc)})
            return f"failed-{args.name}", dict(args.inputs)
        self.deployed.append({**entry, "id": id_})
        return id_, {**args.inputs, **outputs}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return {}, []


def rehearse(plan: Plan, *, endpoint_url: str, base_dir: Path, update: bool = False) -> RehearsalResult:
    """Create the program's resources for `plan` in the emulated account at `endpoint_url`.

    `update`: redeploy onto the stack already in the account (see the module's docstring).
    """
    from preflight.program.pipeline import Pipeline

    d = plan.deployment
    mocks = RehearsalMocks(_Clients(endpoint_url, d.region), update=update)
    try:
        run_with_mocks(
            mocks,
            lambda: Pipeline(d, base_dir=base_dir, current=plan.current),
            project="tap-pipeline",
            stack=d.environment,
        )
    except Exception as exc:  # the program's own failure is part of the report
        mocks.failed.append(
            {
                "type": names.PIPELINE,
                "name": names.component_name(d),
                "code": "ProgramError",
                "message": str(exc),
            }
        )
    deleted: list[dict[str, Any]] = []
    if update and not mocks.failed:  # a deployment that stopped never reaches its deletes
        # Physical names: a function's id is its name, a stream's its ARN (.../stream/<name>).
        kept = {r["id"].rpartition("/")[2] for r in mocks.deployed}
        try:
            deleted = _delete_removed(
                mocks.clients, {TAG_PROJECT: d.project, TAG_ENVIRONMENT: d.environment}, kept
            )
        except ClientError as exc:
            err = exc.response.get("Error", {})
            mocks.failed.append(
                {"type": "delete", "name": "removed resources", "code": str(err.get("Code", "ClientError")),
                 "message": str(err.get("Message", exc))}
            )  # fmt: skip
    return RehearsalResult(
        endpoint_url=endpoint_url,
        deployed=mocks.deployed,
        failed=mocks.failed,
        skipped=mocks.skipped,
        not_rehearsed=mocks.not_rehearsed,
        updated=mocks.updated,
        deleted=deleted,
    )


def endpoint_problem(url: str) -> str | None:
    """Why `url` is not a loopback endpoint a rehearsal may talk to, or None.

    A rehearsal creates resources: it is meant for an emulated account on this machine. Any other
    address (a public host, the instance metadata address 169.254.169.254) needs
    --allow-remote-endpoint. Host names other than `localhost` are not resolved: a name can change.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"--endpoint-url {url!r} is not an http(s) URL"
    host = parts.hostname
    if host == "localhost":
        return None
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return None
    return (
        f"--endpoint-url {url!r} is not a loopback address: a rehearsal talks to an emulated account on "
        "this machine (127.0.0.1, ::1, localhost); add --allow-remote-endpoint to rehearse elsewhere"
    )


def account_of(endpoint_url: str, region: str) -> str | None:
    """The account id the endpoint answers for (sts:GetCallerIdentity), or None if it does not say."""
    try:
        return str(_Clients(endpoint_url, region)("sts").get_caller_identity()["Account"])
    except (BotoCoreError, ClientError, KeyError):
        return None


def rehearse_plan_file(
    plan_path: str,
    *,
    manifest: str | None,
    sandbox: str | None,
    endpoint_url: str | None,
    force: bool = False,
    allow_remote_endpoint: bool = False,
    update: bool = False,
) -> RehearsalResult:
    """`rehearse`: trust the plan as the program does, refuse what it refuses (unless `force`), rehearse.

    InputError (exit 2) for a plan the manifest does not back, a remote endpoint, or a plan the program
    would refuse (NO_GO, stale, another account or region) without `force`.
    """
    from preflight.accountsource import sandbox_account
    from preflight.errors import InputError
    from preflight.program.planfile import load_trusted_plan, refusal

    if bool(sandbox) == bool(endpoint_url):
        raise InputError("rehearse needs exactly one of --sandbox SCENARIO or --endpoint-url URL")
    if endpoint_url and not allow_remote_endpoint:
        problem = endpoint_problem(endpoint_url)
        if problem:
            raise InputError(problem)
    trusted = load_trusted_plan(plan_path, manifest=manifest)
    plan = trusted.plan
    with contextlib.ExitStack() as stack:
        if sandbox:
            endpoint_url = stack.enter_context(sandbox_account(sandbox, plan.region)).endpoint_url
        url = str(endpoint_url)
        # As the program does: what needs no call first, then the account the endpoint answers for.
        reason = refusal(plan) or refusal(plan, account_id=account_of(url, plan.region), region=plan.region)
        if reason and not force:
            raise InputError(
                f"refusing to rehearse {plan_path}, as the program would refuse to deploy it: {reason} "
                "(--force rehearses it anyway)"
            )
        result = rehearse(plan, endpoint_url=url, base_dir=trusted.base_dir, update=update)
    return replace(result, forced=reason or None, plan_path=plan_path)


# --- one translator per resource type ------------------------------------------------------------


def _tag_list(inputs: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": str(v)} for k, v in (inputs.get("tags") or {}).items()]


def _tag_spec(kind: str, inputs: dict[str, Any]) -> list[dict[str, Any]]:
    tags = _tag_list(inputs)
    return [{"ResourceType": kind, "Tags": tags}] if tags else []


def _vpc(c: _Clients, i: dict[str, Any]) -> Created:
    ec2 = c("ec2")
    vpc_id = ec2.create_vpc(CidrBlock=i["cidrBlock"], TagSpecifications=_tag_spec("vpc", i))["Vpc"]["VpcId"]
    # One attribute per call (the API's rule).
    if i.get("enableDnsSupport") is not None:
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": bool(i["enableDnsSupport"])})
    if i.get("enableDnsHostnames") is not None:
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": bool(i["enableDnsHostnames"])})
    return vpc_id, {"arn": f"arn:aws:ec2:{c.region}::vpc/{vpc_id}"}


def _subnet(c: _Clients, i: dict[str, Any]) -> Created:
    subnet = c("ec2").create_subnet(
        VpcId=i["vpcId"],
        CidrBlock=i["cidrBlock"],
        AvailabilityZone=i["availabilityZone"],
        TagSpecifications=_tag_spec("subnet", i),
    )["Subnet"]
    return subnet["SubnetId"], {"arn": subnet.get("SubnetArn", "")}


def _internet_gateway(c: _Clients, i: dict[str, Any]) -> Created:
    ec2 = c("ec2")
    igw_id = ec2.create_internet_gateway(TagSpecifications=_tag_spec("internet-gateway", i))[
        "InternetGateway"
    ]["InternetGatewayId"]
    if i.get("vpcId"):
        try:
            ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=i["vpcId"])
        except ClientError as exc:
            raise _StepFailed("created, but AttachInternetGateway failed", exc) from exc
    return igw_id, {}


def _route_table(c: _Clients, i: dict[str, Any]) -> Created:
    ec2 = c("ec2")
    rt_id = ec2.create_route_table(VpcId=i["vpcId"], TagSpecifications=_tag_spec("route-table", i))[
        "RouteTable"
    ]["RouteTableId"]
    for route in i.get("routes") or []:
        target = {
            key[0].upper() + key[1:]: value
            for key, value in route.items()
            if key in ("gatewayId", "natGatewayId", "vpcEndpointId", "transitGatewayId") and value
        }
        try:
            ec2.create_route(RouteTableId=rt_id, DestinationCidrBlock=route["cidrBlock"], **target)
        except ClientError as exc:
            raise _StepFailed(f"created, but CreateRoute {route['cidrBlock']} failed", exc) from exc
    return rt_id, {}


def _route_table_association(c: _Clients, i: dict[str, Any]) -> Created:
    answer = c("ec2").associate_route_table(RouteTableId=i["routeTableId"], SubnetId=i["subnetId"])
    return answer["AssociationId"], {}


def _eip(c: _Clients, i: dict[str, Any]) -> Created:
    answer = c("ec2").allocate_address(
        Domain=i.get("domain") or "vpc", TagSpecifications=_tag_spec("elastic-ip", i)
    )
    return answer["AllocationId"], {
        "allocationId": answer["AllocationId"],
        "publicIp": answer.get("PublicIp"),
    }


def _nat_gateway(c: _Clients, i: dict[str, Any]) -> Created:
    nat = c("ec2").create_nat_gateway(
        SubnetId=i["subnetId"], AllocationId=i["allocationId"], TagSpecifications=_tag_spec("natgateway", i)
    )["NatGateway"]
    return nat["NatGatewayId"], {}


def _permissions(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rules:
        perm: dict[str, Any] = {"IpProtocol": str(r.get("protocol", "-1"))}
        if perm["IpProtocol"] != "-1":
            perm["FromPort"] = int(r.get("fromPort", 0))
            perm["ToPort"] = int(r.get("toPort", 0))
        perm["IpRanges"] = [{"CidrIp": cidr} for cidr in r.get("cidrBlocks") or []]
        out.append(perm)
    return out


def _security_group(c: _Clients, i: dict[str, Any]) -> Created:
    ec2 = c("ec2")
    group_id = ec2.create_security_group(
        GroupName=i["name"],
        Description=i.get("description") or i["name"],
        VpcId=i["vpcId"],
        TagSpecifications=_tag_spec("security-group", i),
    )["GroupId"]
    try:
        # Inline rules are the group's whole rule set: the default allow-all egress goes, as with Pulumi.
        ec2.revoke_security_group_egress(
            GroupId=group_id, IpPermissions=_permissions([{"protocol": "-1", "cidrBlocks": ["0.0.0.0/0"]}])
        )
        if i.get("ingress"):
            ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=_permissions(i["ingress"]))
        if i.get("egress"):
            ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=_permissions(i["egress"]))
    except ClientError as exc:
        raise _StepFailed("created, but setting its rules failed", exc) from exc
    return group_id, {"arn": f"arn:aws:ec2:{c.region}::security-group/{group_id}"}


def _vpc_endpoint(c: _Clients, i: dict[str, Any]) -> Created:
    params: dict[str, Any] = {
        "VpcEndpointType": i.get("vpcEndpointType") or "Gateway",
        "VpcId": i["vpcId"],
        "ServiceName": i["serviceName"],
        "TagSpecifications": _tag_spec("vpc-endpoint", i),
    }
    if i.get("routeTableIds"):
        params["RouteTableIds"] = list(i["routeTableIds"])
    if i.get("subnetIds"):
        params["SubnetIds"] = list(i["subnetIds"])
    if i.get("securityGroupIds"):
        params["SecurityGroupIds"] = list(i["securityGroupIds"])
    if i.get("privateDnsEnabled") is not None:
        params["PrivateDnsEnabled"] = bool(i["privateDnsEnabled"])
    inbound_only = (i.get("dnsOptions") or {}).get("privateDnsOnlyForInboundResolverEndpoint")
    if inbound_only is not None:
        params["DnsOptions"] = {"PrivateDnsOnlyForInboundResolverEndpoint": bool(inbound_only)}
    endpoint = c("ec2").create_vpc_endpoint(**params)["VpcEndpoint"]
    entries = [
        {"dnsName": e["DnsName"], "hostedZoneId": e.get("HostedZoneId", "")}
        for e in endpoint.get("DnsEntries") or ()
        if e.get("DnsName")
    ]
    return endpoint["VpcEndpointId"], {"dnsEntries": entries}


def _role(c: _Clients, i: dict[str, Any]) -> Created:
    role = c("iam", GLOBAL_REGION).create_role(
        RoleName=i["name"], AssumeRolePolicyDocument=i["assumeRolePolicy"], Tags=_tag_list(i)
    )["Role"]
    return role["RoleName"], {"arn": role["Arn"], "name": role["RoleName"]}


def _role_policy_attachment(c: _Clients, i: dict[str, Any]) -> Created:
    c("iam", GLOBAL_REGION).attach_role_policy(RoleName=i["role"], PolicyArn=i["policyArn"])
    return f"{i['role']}-{i['policyArn'].rsplit('/', 1)[-1]}", {}


def _zip(code: Any) -> bytes:
    """The function's code archive, zipped as Lambda takes it."""
    if not isinstance(code, pulumi.AssetArchive):
        raise ValueError(f"code is {type(code).__name__}, the rehearsal packages AssetArchive only")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, asset in sorted(code.assets.items()):
            if isinstance(asset, pulumi.FileAsset):
                archive.writestr(member, Path(asset.path).read_bytes())
            elif isinstance(asset, pulumi.StringAsset):
                archive.writestr(member, asset.text)
            else:
                raise ValueError(
                    f"code member {member}: {type(asset).__name__} is not packaged by the rehearsal"
                )
    return buffer.getvalue()


def _function(c: _Clients, i: dict[str, Any]) -> Created:
    lam = c("lambda")
    params: dict[str, Any] = {
        "FunctionName": i["name"],
        "Runtime": i["runtime"],
        "Role": i["role"],
        "Handler": i["handler"],
        "Code": {"ZipFile": _zip(i["code"])},
        "Tags": {k: str(v) for k, v in (i.get("tags") or {}).items()},
    }
    if i.get("memorySize") is not None:
        params["MemorySize"] = int(i["memorySize"])
    if i.get("timeout") is not None:
        params["Timeout"] = int(i["timeout"])
    if (i.get("environment") or {}).get("variables"):
        params["Environment"] = {"Variables": dict(i["environment"]["variables"])}
    if i.get("vpcConfig"):
        params["VpcConfig"] = {
            "SubnetIds": list(i["vpcConfig"].get("subnetIds") or []),
            "SecurityGroupIds": list(i["vpcConfig"].get("securityGroupIds") or []),
        }
    function = lam.create_function(**params)
    reserved = i.get("reservedConcurrentExecutions")
    # Pulumi's -1 (and an unset input) mean "no reservation": no PutFunctionConcurrency at all.
    if reserved is not None and int(reserved) >= 0:
        try:
            lam.put_function_concurrency(FunctionName=i["name"], ReservedConcurrentExecutions=int(reserved))
        except ClientError as exc:
            raise _StepFailed(f"created, but PutFunctionConcurrency({int(reserved)}) failed", exc) from exc
    return i["name"], {"arn": function["FunctionArn"], "name": i["name"]}


def _stream(c: _Clients, i: dict[str, Any]) -> Created:
    kinesis = c("kinesis")
    kinesis.create_stream(StreamName=i["name"], ShardCount=int(i.get("shardCount") or 1))
    try:
        if i.get("tags"):
            kinesis.add_tags_to_stream(StreamName=i["name"], Tags={k: str(v) for k, v in i["tags"].items()})
        retention = int(i.get("retentionPeriod") or 24)
        if retention > 24:
            kinesis.increase_stream_retention_period(StreamName=i["name"], RetentionPeriodHours=retention)
        summary = kinesis.describe_stream_summary(StreamName=i["name"])["StreamDescriptionSummary"]
    except ClientError as exc:
        raise _StepFailed("created, but configuring it failed", exc) from exc
    return summary["StreamARN"], {"arn": summary["StreamARN"], "name": i["name"]}


def _table(c: _Clients, i: dict[str, Any]) -> Created:
    attributes = i.get("attributes") or [{"name": i["hashKey"], "type": "S"}]
    params: dict[str, Any] = {
        "TableName": i["name"],
        "KeySchema": [{"AttributeName": i["hashKey"], "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in attributes
        ],
        "BillingMode": i.get("billingMode") or "PROVISIONED",
        "Tags": _tag_list(i),
    }
    if params["BillingMode"] == "PROVISIONED":
        params["ProvisionedThroughput"] = {
            "ReadCapacityUnits": int(i.get("readCapacity") or 1),
            "WriteCapacityUnits": int(i.get("writeCapacity") or 1),
        }
    table = c("dynamodb").create_table(**params)["TableDescription"]
    return i["name"], {"arn": table["TableArn"], "name": i["name"]}


def _bucket(c: _Clients, i: dict[str, Any]) -> Created:
    s3 = c("s3")
    params: dict[str, Any] = {"Bucket": i["bucket"]}
    if c.region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": c.region}
    s3.create_bucket(**params)
    if i.get("tags"):
        try:
            s3.put_bucket_tagging(Bucket=i["bucket"], Tagging={"TagSet": _tag_list(i)})
        except ClientError as exc:
            raise _StepFailed("created, but PutBucketTagging failed", exc) from exc
    return i["bucket"], {"arn": f"arn:aws:s3:::{i['bucket']}", "bucket": i["bucket"]}


def _topic(c: _Clients, i: dict[str, Any]) -> Created:
    arn = c("sns").create_topic(Name=i["name"], Tags=_tag_list(i))["TopicArn"]
    return arn, {"arn": arn, "name": i["name"]}


def _metric_alarm(c: _Clients, i: dict[str, Any]) -> Created:
    cloudwatch = c("cloudwatch")
    params: dict[str, Any] = {
        "AlarmName": i["name"],
        "Namespace": i["namespace"],
        "MetricName": i["metricName"],
        "Dimensions": [{"Name": k, "Value": str(v)} for k, v in (i.get("dimensions") or {}).items()],
        "Statistic": i.get("statistic") or "Sum",
        "Threshold": float(i["threshold"]),
        "Period": int(i.get("period") or 60),
        "EvaluationPeriods": int(i["evaluationPeriods"]),
        "ComparisonOperator": i["comparisonOperator"],
        "AlarmActions": list(i.get("alarmActions") or []),
        "Tags": _tag_list(i),
    }
    cloudwatch.put_metric_alarm(**params)
    alarms = cloudwatch.describe_alarms(AlarmNames=[i["name"]])["MetricAlarms"]
    arn = alarms[0]["AlarmArn"] if alarms else ""
    return i["name"], {"arn": arn, "name": i["name"]}


TRANSLATORS: dict[str, Translator] = {
    names.VPC: _vpc,
    names.SUBNET: _subnet,
    names.INTERNET_GATEWAY: _internet_gateway,
    names.ROUTE_TABLE: _route_table,
    names.ROUTE_TABLE_ASSOCIATION: _route_table_association,
    names.EIP: _eip,
    names.NAT_GATEWAY: _nat_gateway,
    names.SECURITY_GROUP: _security_group,
    names.VPC_ENDPOINT: _vpc_endpoint,
    names.ROLE: _role,
    names.ROLE_POLICY_ATTACHMENT: _role_policy_attachment,
    names.FUNCTION: _function,
    names.STREAM: _stream,
    names.TABLE: _table,
    names.BUCKET: _bucket,
    names.TOPIC: _topic,
    names.METRIC_ALARM: _metric_alarm,
}


# --- update mode: the stack's existing resources, recognised by its tags -------------------------


def _stack_tags(i: dict[str, Any]) -> dict[str, str]:
    tags = i.get("tags") or {}
    return {k: str(tags[k]) for k in (TAG_PROJECT, TAG_ENVIRONMENT) if k in tags}


def _owned(found: dict[str, str] | list[dict[str, str]] | None, stack: dict[str, str]) -> bool:
    tags = found if isinstance(found, dict) else {t.get("Key", ""): t.get("Value", "") for t in found or []}
    return bool(stack) and all(tags.get(k) == v for k, v in stack.items())


def _not_found(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException"


def _update_function(c: _Clients, i: dict[str, Any]) -> Created | None:
    """The stack's function `name`, its reservation set as planned; None when it is not the stack's."""
    lam = c("lambda")
    try:
        found = lam.get_function(FunctionName=i["name"])
    except ClientError as exc:
        if _not_found(exc):
            return None
        raise
    if not _owned(found.get("Tags"), _stack_tags(i)):
        return None  # someone else's function of that name: the create meets it, as Pulumi's would
    now = (found.get("Concurrency") or {}).get("ReservedConcurrentExecutions")
    reserved = i.get("reservedConcurrentExecutions")
    wanted = int(reserved) if reserved is not None and int(reserved) >= 0 else None
    try:
        if wanted is None and now is not None:
            lam.delete_function_concurrency(FunctionName=i["name"])
        elif wanted is not None and wanted != now:
            lam.put_function_concurrency(FunctionName=i["name"], ReservedConcurrentExecutions=wanted)
    except ClientError as exc:
        raise _StepFailed(f"update: PutFunctionConcurrency({wanted}) failed", exc) from exc
    arn = found["Configuration"]["FunctionArn"]
    return i["name"], {"arn": arn, "name": i["name"]}


def _update_stream(c: _Clients, i: dict[str, Any]) -> Created | None:
    """The stack's stream `name`, resharded to the planned count; None when it is not the stack's."""
    kinesis = c("kinesis")
    try:
        tags = kinesis.list_tags_for_stream(StreamName=i["name"])["Tags"]
    except ClientError as exc:
        if _not_found(exc):
            return None
        raise
    if not _owned(tags, _stack_tags(i)):
        return None
    target = int(i.get("shardCount") or 1)
    try:
        summary = kinesis.describe_stream_summary(StreamName=i["name"])["StreamDescriptionSummary"]
        # One call to the target, as the provider makes it: AWS refuses more than doubling or halving.
        if int(summary["OpenShardCount"]) != target:
            kinesis.update_shard_count(
                StreamName=i["name"], TargetShardCount=target, ScalingType="UNIFORM_SCALING"
            )
            summary = kinesis.describe_stream_summary(StreamName=i["name"])["StreamDescriptionSummary"]
    except ClientError as exc:
        raise _StepFailed(f"update: UpdateShardCount({target}) failed", exc) from exc
    return summary["StreamARN"], {"arn": summary["StreamARN"], "name": i["name"]}


def _delete_removed(c: _Clients, stack: dict[str, str], kept: set[str]) -> list[dict[str, Any]]:
    """Delete the stack's functions and streams the plan no longer has (Pulumi does it last)."""
    deleted: list[dict[str, Any]] = []
    lam = c("lambda")
    for page in lam.get_paginator("list_functions").paginate():
        for fn in page["Functions"]:
            name = fn["FunctionName"]
            if name not in kept and _owned(lam.list_tags(Resource=fn["FunctionArn"]).get("Tags"), stack):
                lam.delete_function(FunctionName=name)
                deleted.append({"type": names.FUNCTION, "name": name})
    kinesis = c("kinesis")
    for name in kinesis.list_streams().get("StreamNames", []):
        if name not in kept and _owned(kinesis.list_tags_for_stream(StreamName=name)["Tags"], stack):
            kinesis.delete_stream(StreamName=name)
            deleted.append({"type": names.STREAM, "name": name})
    return deleted


Updater = Callable[[_Clients, dict[str, Any]], "Created | None"]
UPDATERS: dict[str, Updater] = {names.FUNCTION: _update_function, names.STREAM: _update_stream}
