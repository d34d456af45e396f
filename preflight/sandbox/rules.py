"""The AWS rules moto lacks: operations it lacks or answers with fixed numbers, and the quota rules
a deploy would hit.

Each rule reads moto's state through its AWS API (in-process clients, motoserver.client), the
sandbox's applied quota values and what the layer records of the calls it passes on (SandboxState).
A rule returns a Response to answer the call itself, or None to let moto answer it (after its checks
passed); ON_ANSWER rules rewrite or follow moto's successful answers. No rule reads moto's backends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import unquote, urlencode
from xml.sax.saxutils import escape

from botocore.exceptions import ClientError

from preflight.sandbox import endpoint_services, lambda_enis, managed_policies, motoserver
from preflight.sandbox.organization import (
    organizations_answer,
    organizations_list_accounts,
    remember_issued_key,
    sts_assume_role,
)
from preflight.sandbox.paging import lambda_list_functions, s3_list_buckets
from preflight.sandbox.protocol import (
    Call,
    Response,
    empty_response,
    error_response,
    json_response,
    request_id,
    xml_response,
)
from preflight.sandbox.quotas import RUNTIME_BLOCKS, unreserved_floor
from preflight.sandbox.state import SandboxState, current_account

Handler = Callable[[SandboxState, Call], Response | None]

# Lambda's fixed per-function code size limits (not in Service Quotas as adjustable values).
CODE_SIZE_UNZIPPED = 262_144_000
CODE_SIZE_ZIPPED = 52_428_800
ON_DEMAND_STREAM_LIMIT = 50

# NAT gateways in these states count against the per-AZ quota.
NAT_COUNTED_STATES = frozenset({"pending", "available", "deleting"})
# An endpoint in state deleting still holds its slot until it is gone.
ENDPOINT_GONE_STATES = frozenset({"deleted", "rejected", "failed", "expired"})


def _ask(service: str, region: str) -> Any:
    """A client of moto's own API, answered in-process in the acting account (motoserver.client)."""
    return motoserver.client(service, region)


def _every(service: str, region: str, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a listing of moto's, page after page."""
    client = _ask(service, region)
    if not client.can_paginate(operation):
        return list(getattr(client, operation)(**params).get(key, []))
    return [item for page in client.get_paginator(operation).paginate(**params) for item in page.get(key, [])]


def _subnet_zones(region: str, subnet_ids: list[str] | None = None) -> dict[str, str]:
    """Subnet id -> availability zone (of the subnets named, those that exist; else of every one)."""
    if subnet_ids is not None:
        found = {}
        for subnet_id in subnet_ids:  # one at a time: an unknown id fails only its own lookup
            try:
                found.update(_subnet_zones_of(region, SubnetIds=[subnet_id]))
            except ClientError:
                continue
        return found
    return _subnet_zones_of(region)


def _subnet_zones_of(region: str, **params: Any) -> dict[str, str]:
    subnets = _every("ec2", region, "describe_subnets", "Subnets", **params)
    return {s["SubnetId"]: s["AvailabilityZone"] for s in subnets}


def _vpc_endpoints(region: str) -> list[dict[str, Any]]:
    return _every("ec2", region, "describe_vpc_endpoints", "VpcEndpoints")


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# --- Lambda ----------------------------------------------------------------------------------------


def _every_function_version(region: str) -> list[dict[str, Any]]:
    """Every version of every function ($LATEST once per function, then the published ones), as
    moto's ListFunctions writes them: read as JSON (botocore's parser would cost a fifth more)."""
    found: list[dict[str, Any]] = []
    marker: dict[str, str] = {}
    while True:
        body = motoserver.written("lambda", region, "list_functions", FunctionVersion="ALL", **marker)
        page = json.loads(body)
        found += page.get("Functions") or []
        if not page.get("NextMarker"):
            return found
        marker = {"Marker": page["NextMarker"]}


def lambda_get_account_settings(state: SandboxState, call: Call) -> Response:
    limit = int(state.limit("L-B99A9384", call.region))
    versions = _every_function_version(call.region)
    code_size = sum(_int(v.get("CodeSize")) for v in versions)
    functions = sum(1 for v in versions if v.get("Version", "$LATEST") == "$LATEST")
    payload = {
        "AccountLimit": {
            "TotalCodeSize": int(state.limit("L-2ACBD22F", call.region)),
            "CodeSizeUnzipped": CODE_SIZE_UNZIPPED,
            "CodeSizeZipped": CODE_SIZE_ZIPPED,
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": max(0, limit - state.reserved(call.region)),
        },
        "AccountUsage": {"TotalCodeSize": code_size, "FunctionCount": functions},
    }
    return json_response(payload, protocol="rest-json")


def _function_in_path(call: Call) -> str:
    """The function a /functions/{FunctionName}/... call names: a name, name:qualifier or an ARN."""
    return unquote(call.path.rstrip("/").split("/")[-2])


def function_name(named: str) -> str:
    """A function's own name, however a call names it (name, name:qualifier, full or partial ARN)."""
    parts = named.split(":")
    if "function" in parts:
        return parts[parts.index("function") + 1]
    return parts[0]


def lambda_put_function_concurrency(state: SandboxState, call: Call) -> Response | None:
    """The reservation may not leave less than the floor unreserved (the account's applied limit, not
    moto's); within it, moto stores the reservation and the sandbox keeps the account's sum."""
    named = _function_in_path(call)
    requested = call.json.get("ReservedConcurrentExecutions")
    if not isinstance(requested, int) or isinstance(requested, bool) or requested < 0:
        return None
    if not _function_exists(call.region, named):
        return None  # moto gives AWS's ResourceNotFoundException
    limit = state.limit("L-B99A9384", call.region)
    floor = unreserved_floor(limit)
    # The function's own current reservation is given back before the new one is taken.
    others = state.reserved(call.region, except_function=function_name(named))
    if limit - others - requested < floor:
        return error_response(
            "rest-json",
            400,
            "InvalidParameterValueException",
            "Specified ReservedConcurrentExecutions for function decreases account's "
            f"UnreservedConcurrentExecution below its minimum value of [{floor}].",
        )
    return None


def lambda_reservation_kept(state: SandboxState, call: Call, answer: Response) -> Response:
    """moto took the reservation (or dropped it, or the function): the account's sum follows."""
    name = function_name(_function_in_path(call) if call.operation != "DeleteFunction" else _deleted(call))
    if call.operation == "PutFunctionConcurrency":
        state.reserve(call.region, name, int(call.json["ReservedConcurrentExecutions"]))
    elif call.operation == "DeleteFunctionConcurrency" or not (call.query.get("Qualifier") or [None])[0]:
        state.reserve(call.region, name, None)  # a deleted version leaves the function's reservation
    return answer


def _deleted(call: Call) -> str:
    """DeleteFunction's /functions/{FunctionName} (no trailing segment)."""
    return unquote(call.path.rstrip("/").split("/")[-1])


def lambda_function_concurrency_shape(state: SandboxState, call: Call, answer: Response) -> Response:
    """AWS leaves the field out when there is no reservation (moto sends null)."""
    try:
        reserved = json.loads(answer.body).get("ReservedConcurrentExecutions")
    except (ValueError, AttributeError):
        return answer
    payload = {} if reserved is None else {"ReservedConcurrentExecutions": _int(reserved)}
    return json_response(payload, protocol="rest-json")


def _function_exists(region: str, name: str) -> bool:
    try:
        _ask("lambda", region).get_function_configuration(FunctionName=name)
    except ClientError:
        return False
    return True


def lambda_create_function(state: SandboxState, call: Call) -> Response | None:
    """A runtime past its block-create date is refused; else a VPC-attached function gets Lambda's
    ENIs, as AWS makes them at create time (Hyperplane).

    One ENI (interface type `lambda`, requester-managed) per subnet and security-group combination,
    shared by every function with the same combination; moto makes none. Over the Lambda ENIs per VPC
    or the ENIs per Region quota: ENILimitReachedException. They are made before moto creates the
    function; a create that then fails leaves them, as AWS keeps ENIs for a while.
    """
    refused = _runtime_refused(str(call.json.get("Runtime") or ""), update=False)
    if refused is not None:
        return refused
    vpc = call.json.get("VpcConfig") or {}
    if not vpc.get("SubnetIds") or not vpc.get("SecurityGroupIds"):
        return None
    name = str(call.json.get("FunctionName", ""))
    if _function_exists(call.region, name):
        return None  # it exists: moto answers ResourceConflictException
    return lambda_enis.make_for_function(state, call, name)


# --- Kinesis ---------------------------------------------------------------------------------------


def _stream_names(region: str) -> list[str]:
    return [str(name) for name in _every("kinesis", region, "list_streams", "StreamNames")]


def _streams(region: str) -> list[dict[str, Any]]:
    """Each stream's summary (name, mode), as DescribeStreamSummary gives it."""
    kinesis = _ask("kinesis", region)
    found = []
    for name in _stream_names(region):
        try:
            found.append(kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"])
        except ClientError:  # deleted meanwhile
            continue
    return found


def _on_demand(stream: dict[str, Any]) -> bool:
    return (stream.get("StreamModeDetails") or {}).get("StreamMode") == "ON_DEMAND"


def _open_shards_of(region: str, name: str) -> int:
    """A stream's open shards: a closed one (split, merged or resharded) has an ending sequence number."""
    shards = _every("kinesis", region, "list_shards", "Shards", StreamName=name)
    return sum(1 for s in shards if "EndingSequenceNumber" not in (s.get("SequenceNumberRange") or {}))


def _open_shards(region: str) -> int:
    """Open shards of provisioned streams: what counts toward the shard limit."""
    return sum(_open_shards_of(region, s["StreamName"]) for s in _streams(region) if not _on_demand(s))


def kinesis_describe_limits(state: SandboxState, call: Call) -> Response:
    payload = {
        "ShardLimit": int(state.limit("L-0918CF54", call.region)),
        "OpenShardCount": _open_shards(call.region),
        "OnDemandStreamCount": sum(1 for s in _streams(call.region) if _on_demand(s)),
        "OnDemandStreamCountLimit": ON_DEMAND_STREAM_LIMIT,
    }
    return json_response(payload)


def _shard_limit_exceeded(state: SandboxState, region: str, more: int) -> Response | None:
    """Kinesis' answer when `more` open shards would pass the account's shard limit, else None."""
    current = _open_shards(region)
    limit = int(state.limit("L-0918CF54", region))
    if current + more <= limit:
        return None
    return error_response(
        "json",
        400,
        "LimitExceededException",
        f"This request would exceed the shard limit for the account {current_account()} in {region}. "
        f"Current shard count for the account: {current}. Limit: {limit}. Number of additional shards "
        f"that would have resulted from this request: {more}.",
    )


def kinesis_create_stream(state: SandboxState, call: Call) -> Response | None:
    body = call.json
    if (body.get("StreamModeDetails") or {}).get("StreamMode") == "ON_DEMAND":
        on_demand = sum(1 for s in _streams(call.region) if _on_demand(s))
        if on_demand >= ON_DEMAND_STREAM_LIMIT:
            return error_response(
                "json",
                400,
                "LimitExceededException",
                f"This request would exceed the on-demand stream limit of {ON_DEMAND_STREAM_LIMIT} "
                f"for the account {current_account()} in {call.region}.",
            )
        return None
    shards = body.get("ShardCount")
    if not isinstance(shards, int) or isinstance(shards, bool) or shards < 1:
        return None  # moto answers the malformed request
    if body.get("StreamName") in _stream_names(call.region):
        return None  # moto answers ResourceInUseException first, as AWS does
    return _shard_limit_exceeded(state, call.region, shards)


def kinesis_update_shard_count(state: SandboxState, call: Call) -> Response | None:
    """At most double or half the stream's open shards per call; the old shards stay open while the
    new ones are made, and both count toward the account's shard limit (UpdateShardCount's page)."""
    body = call.json
    target = body.get("TargetShardCount")
    name = body.get("StreamName") or str(body.get("StreamARN") or "").rpartition("/")[2]
    stream = next((s for s in _streams(call.region) if s["StreamName"] == name), None)
    if stream is None or _on_demand(stream) or not isinstance(target, int) or isinstance(target, bool):
        return None  # moto answers: not found, on-demand, malformed
    current = _open_shards_of(call.region, name)
    if target == current or target < 1:
        return None
    if target > 2 * current or 2 * target < current:
        return error_response(
            "json",
            400,
            "LimitExceededException",
            f"UpdateShardCount cannot scale stream {name} from {current} to {target} shards in one call: "
            "at most double or half the current shard count.",
        )
    return _shard_limit_exceeded(state, call.region, target)


# --- EC2 enforcement -------------------------------------------------------------------------------


def _limit_exceeded(code: str, message: str) -> Response:
    return error_response("ec2", 400, code, message)


def ec2_create_vpc(state: SandboxState, call: Call) -> Response | None:
    # moto's default VPC counts, as AWS counts the default VPC.
    if len(_every("ec2", call.region, "describe_vpcs", "Vpcs")) >= state.limit("L-F678F1CE", call.region):
        return _limit_exceeded("VpcLimitExceeded", "The maximum number of VPCs has been reached.")
    return None


def ec2_create_internet_gateway(state: SandboxState, call: Call) -> Response | None:
    gateways = _every("ec2", call.region, "describe_internet_gateways", "InternetGateways")
    if len(gateways) >= state.limit("L-A4707A72", call.region):
        return _limit_exceeded(
            "InternetGatewayLimitExceeded", "The maximum number of internet gateways has been reached."
        )
    return None


def ec2_allocate_address(state: SandboxState, call: Call) -> Response | None:
    addresses = _every("ec2", call.region, "describe_addresses", "Addresses")
    if len(addresses) >= state.limit("L-0263D0A3", call.region):
        return _limit_exceeded("AddressLimitExceeded", "The maximum number of addresses has been reached.")
    return None


def ec2_create_nat_gateway(state: SandboxState, call: Call) -> Response | None:
    zone = _subnet_zones(call.region, [call.params.get("SubnetId", "")]).get(call.params.get("SubnetId", ""))
    if zone is None:  # unknown subnet: moto answers InvalidSubnetID.NotFound
        return None
    zones = _subnet_zones(call.region)
    used = sum(
        1
        for nat in _every("ec2", call.region, "describe_nat_gateways", "NatGateways")
        if str(nat.get("State", "")).lower() in NAT_COUNTED_STATES
        and zones.get(nat.get("SubnetId", "")) == zone
    )
    limit = state.limit("L-FE5A380F", call.region)
    if used >= limit:
        return _limit_exceeded(
            "NatGatewayLimitExceeded",
            f"Performing this operation would exceed the limit of {int(limit)} NAT gateways in {zone}.",
        )
    return None


def ec2_create_vpc_endpoint(state: SandboxState, call: Call) -> Response | None:
    kind = (call.params.get("VpcEndpointType") or "Gateway").lower()
    if kind == "interface" and (refused := _endpoint_zone_refused(state, call) or _private_dns_refused(call)):
        return refused
    live = [
        e for e in _vpc_endpoints(call.region) if str(e.get("State", "")).lower() not in ENDPOINT_GONE_STATES
    ]
    if kind == "gateway":
        used = sum(1 for e in live if (e.get("VpcEndpointType") or "Gateway").lower() == "gateway")
        limit = state.limit("L-1B52E74A", call.region)
    elif kind in ("interface", "gatewayloadbalancer"):
        vpc_id = call.params.get("VpcId")
        used = sum(
            1
            for e in live
            if e.get("VpcId") == vpc_id
            and (e.get("VpcEndpointType") or "").lower() in ("interface", "gatewayloadbalancer")
        )
        limit = state.limit("L-29B6F2EB", call.region)
    else:
        return None
    if used >= limit:
        return _limit_exceeded(
            "VpcEndpointLimitExceeded", "The maximum number of VPC endpoints has been reached."
        )
    return None


# AWS PrivateLink for DynamoDB: interface endpoints without private DNS (clients use the endpoint's own
# name). S3: private DNS is "inbound only" unless DnsOptions says otherwise, and that needs a gateway
# endpoint of S3 in the VPC. The texts are EC2's InvalidParameter answers.
_NO_PRIVATE_DNS = ("dynamodb",)
_INBOUND_ONLY_DEFAULT = ("s3",)


def _private_dns_refused(call: Call) -> Response | None:
    service = call.params.get("ServiceName", "")
    short = service.rsplit(".", 1)[-1]
    private_dns = (call.params.get("PrivateDnsEnabled") or "true").lower() == "true"
    if not private_dns:
        return None
    if short in _NO_PRIVATE_DNS:
        return error_response(
            "ec2",
            400,
            "InvalidParameter",
            f"Private DNS can't be enabled because the service {service} does not provide a private "
            "DNS name.",
        )
    inbound_only = call.params.get("DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint", "true")
    if short in _INBOUND_ONLY_DEFAULT and inbound_only.lower() == "true":
        vpc_id = call.params.get("VpcId")
        gateway = any(
            e.get("VpcId") == vpc_id
            and e.get("ServiceName") == service
            and (e.get("VpcEndpointType") or "Gateway").lower() == "gateway"
            and str(e.get("State", "")).lower() not in ENDPOINT_GONE_STATES
            for e in _vpc_endpoints(call.region)
        )
        if not gateway:
            return error_response(
                "ec2",
                400,
                "InvalidParameter",
                "To set PrivateDnsOnlyForInboundResolverEndpoint to true, the VPC must have a Gateway "
                "endpoint for the service.",
            )
    return None


def _enis(region: str) -> int:
    """Every network interface of the region, those AWS services manage too."""
    return len(_every("ec2", region, "describe_network_interfaces", "NetworkInterfaces"))


def _eni_limit_exceeded(state: SandboxState, region: str, more: int) -> Response | None:
    limit = state.limit("L-DF5E4CA3", region)
    if _enis(region) + more <= limit:
        return None
    return _limit_exceeded(
        "NetworkInterfaceLimitExceeded",
        f"The maximum number of network interfaces ({int(limit)}) for this Region has been reached.",
    )


def ec2_create_network_interface(state: SandboxState, call: Call) -> Response | None:
    return _eni_limit_exceeded(state, call.region, 1)


def _indexed(params: dict[str, str], prefix: str) -> list[str]:
    return [v for k, v in params.items() if re.fullmatch(rf"{prefix}\.\d+", k)]


def ec2_create_interface_endpoint_enis(state: SandboxState, call: Call) -> Response | None:
    """An interface endpoint makes one network interface in each of its subnets."""
    if (call.params.get("VpcEndpointType") or "").lower() != "interface":
        return None
    return _eni_limit_exceeded(state, call.region, len(_indexed(call.params, "SubnetId")))


def ec2_create_subnet(state: SandboxState, call: Call) -> Response | None:
    vpc_id = call.params.get("VpcId")
    filters = [{"Name": "vpc-id", "Values": [vpc_id or ""]}]
    used = len(_every("ec2", call.region, "describe_subnets", "Subnets", Filters=filters))
    limit = state.limit("L-407747CB", call.region)
    if used >= limit:
        return _limit_exceeded(
            "SubnetLimitExceeded",
            f"The maximum number of subnets ({int(limit)}) for this VPC has been reached.",
        )
    return None


def ec2_create_security_group(state: SandboxState, call: Call) -> Response | None:
    used = len(_every("ec2", call.region, "describe_security_groups", "SecurityGroups"))
    limit = state.limit("L-E79EC296", call.region)
    if used >= limit:
        return _limit_exceeded(
            "SecurityGroupLimitExceeded", "The maximum number of security groups has been reached."
        )
    return None


def _new_rules(params: dict[str, str]) -> int:
    """Rules an Authorize call adds: one per CIDR, IPv6 CIDR, source group or prefix list."""
    return sum(
        1
        for k in params
        if re.fullmatch(r"IpPermissions\.\d+\.(IpRanges|Ipv6Ranges|Groups|PrefixListIds)\.\d+\.[A-Za-z]+", k)
        and k.endswith((".CidrIp", ".CidrIpv6", ".GroupId", ".GroupName", ".PrefixListId"))
    )


def _authorize(state: SandboxState, call: Call, egress: bool) -> Response | None:
    try:
        found = _ask("ec2", call.region).describe_security_groups(GroupIds=[call.params.get("GroupId", "")])
    except ClientError:
        return None  # moto answers InvalidGroup.NotFound
    if not found["SecurityGroups"]:
        return None
    group = found["SecurityGroups"][0]
    rules = group.get("IpPermissionsEgress" if egress else "IpPermissions", [])
    limit = state.limit("L-0EA8095F", call.region)
    if len(rules) + _new_rules(call.params) > limit:
        return _limit_exceeded(
            "RulesPerSecurityGroupLimitExceeded",
            "The maximum number of rules per security group has been reached.",
        )
    return None


def ec2_authorize_ingress(state: SandboxState, call: Call) -> Response | None:
    return _authorize(state, call, egress=False)


def ec2_authorize_egress(state: SandboxState, call: Call) -> Response | None:
    return _authorize(state, call, egress=True)


def ec2_describe_account_attributes(state: SandboxState, call: Call) -> Response:
    """moto answers fixed values; vpc-max-elastic-ips must follow the applied EIP quota."""
    default = [{"Name": "is-default", "Values": ["true"]}]
    default_vpc = next(iter(_every("ec2", call.region, "describe_vpcs", "Vpcs", Filters=default)), None)
    eips = str(int(state.limit("L-0263D0A3", call.region)))
    attributes = {
        "supported-platforms": ["VPC"],
        "default-vpc": [default_vpc["VpcId"] if default_vpc else "none"],
        "max-instances": ["20"],
        "vpc-max-security-groups-per-interface": ["5"],
        "max-elastic-ips": [eips],
        "vpc-max-elastic-ips": [eips],
    }
    wanted = [v for k, v in sorted(call.params.items()) if k.startswith("AttributeName.")]
    items = ""
    for name, values in attributes.items():
        if wanted and name not in wanted:
            continue
        vals = "".join(f"<item><attributeValue>{escape(v)}</attributeValue></item>" for v in values)
        items += (
            f"<item><attributeName>{name}</attributeName><attributeValueSet>{vals}</attributeValueSet></item>"
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<DescribeAccountAttributesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        f"<requestId>{request_id()}</requestId><accountAttributeSet>{items}</accountAttributeSet>"
        "</DescribeAccountAttributesResponse>"
    )
    return xml_response(xml)


def ec2_describe_regions(state: SandboxState, call: Call) -> Response | None:
    """The scenario's enabled regions, when it names them (moto lists every region it knows)."""
    if not state.enabled_regions:
        return None
    items = "".join(
        f"<item><regionName>{escape(r)}</regionName><regionEndpoint>ec2.{escape(r)}.amazonaws.com"
        "</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>"
        for r in state.enabled_regions
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        f"<requestId>{request_id()}</requestId><regionInfo>{items}</regionInfo></DescribeRegionsResponse>"
    )
    return xml_response(xml)


# --- names and availability (what fails a deploy that is not a quota) ------------------------------


def _runtime_refused(runtime: str, *, update: bool) -> Response | None:
    """AWS blocks creates of a deprecated runtime from one date, updates from a later one."""
    entry = RUNTIME_BLOCKS.get(runtime)
    blocked_from = None if entry is None else (entry.block_update if update else entry.block_create)
    if blocked_from is None or date.today() < blocked_from:
        return None
    return error_response(
        "rest-json",
        400,
        "InvalidParameterValueException",
        f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda "
        "functions. We recommend you use a supported runtime while creating or updating functions.",
    )


def lambda_update_function(state: SandboxState, call: Call) -> Response | None:
    """UpdateFunctionConfiguration/Code: the runtime asked for, else the function's own; then, as at
    create, the ENIs of a VPC configuration the function did not have (a redeploy that moves a function
    into private subnets, or onto other groups, needs them within the same quotas)."""
    name = unquote(call.path.rstrip("/").split("/")[-2])
    runtime = call.json.get("Runtime")
    if not runtime:
        try:
            runtime = _ask("lambda", call.region).get_function_configuration(FunctionName=name).get("Runtime")
        except ClientError:  # unknown function: moto gives AWS's ResourceNotFoundException
            return None
    refused = _runtime_refused(str(runtime or ""), update=True)
    vpc = call.json.get("VpcConfig") or {}
    if refused is not None or not vpc.get("SubnetIds") or not vpc.get("SecurityGroupIds"):
        return refused
    return lambda_enis.make_for_function(state, call, name)


def _bucket_name(call: Call) -> str:
    host = call.headers.get("host", "").split(":")[0]
    if host.count(".") >= 2 and not host.replace(".", "").isdigit():  # virtual-hosted style
        return host.split(".")[0]
    return unquote(call.path.lstrip("/").split("/")[0])


def s3_head_bucket(state: SandboxState, call: Call) -> Response | None:
    """moto lets any account read any bucket; AWS answers 403 for a bucket another account owns."""
    owner = state.bucket_owner(_bucket_name(call))
    if owner is None or owner == current_account():
        return None
    return empty_response(403)


def s3_bucket_owner_kept(state: SandboxState, call: Call, answer: Response) -> Response:
    """moto made the bucket (or deleted it): the layer's record of who owns the name follows."""
    state.own_bucket(_bucket_name(call), current_account() if call.operation == "CreateBucket" else None)
    return answer


def sns_create_topic(state: SandboxState, call: Call) -> Response | None:
    """CreateTopic is idempotent, except that AWS refuses a topic that exists with other tags."""
    params = call.params
    arn = f"arn:aws:sns:{call.region}:{current_account()}:{params.get('Name', '')}"
    try:
        tags = _ask("sns", call.region).list_tags_for_resource(ResourceArn=arn)["Tags"]
    except ClientError:  # no such topic
        return None
    existing = {tag["Key"]: tag["Value"] for tag in tags}
    asked = {
        params[k]: params.get(k[: -len(".Key")] + ".Value", "")
        for k in params
        if re.fullmatch(r"Tags\.member\.\d+\.Key", k)
    }
    if not existing or not asked or existing == asked:
        return None
    return error_response(
        "query",
        400,
        "InvalidParameter",
        "Invalid parameter: Tags Reason: Topic already exists with different tags",
    )


def _endpoint_zone_refused(state: SandboxState, call: Call) -> Response | None:
    service = call.params.get("ServiceName", "")
    offered = state.endpoint_zones(call.region, service)
    if not offered:
        return None
    named = [subnet_id for key, subnet_id in sorted(call.params.items()) if key.startswith("SubnetId.")]
    zones = _subnet_zones(call.region, named)  # an unknown subnet: moto answers with AWS's error
    for subnet_id in named:
        zone = zones.get(subnet_id)
        if zone is not None and zone not in offered:
            return error_response(
                "ec2",
                400,
                "InvalidParameter",
                f"The VPC endpoint service {service} does not support the availability zone of the subnet: "
                f"{subnet_id}.",
            )
    return None


# --- IAM -------------------------------------------------------------------------------------------


def iam_account_summary_quotas(state: SandboxState, call: Call, answer: Response) -> Response:
    """moto counts for real but reports fixed quotas: the applied ones go into its answer."""
    quotas = {
        "RolesQuota": int(state.limit("L-FE177D64", "us-east-1")),
        "AttachedPoliciesPerRoleQuota": int(state.limit("L-0DA4ABF3", "us-east-1")),
    }
    body = answer.body.decode()
    for key, value in quotas.items():
        body = re.sub(rf"(<key>{key}</key>\s*<value>)[^<]*(</value>)", rf"\g<1>{value}\g<2>", body)
    headers = [(k, v) for k, v in answer.headers if k.lower() != "content-length"]
    return Response(answer.status, headers, body.encode())


def _role_names() -> list[str]:
    return [r["RoleName"] for r in _every("iam", "us-east-1", "list_roles", "Roles")]


def iam_create_role(state: SandboxState, call: Call) -> Response | None:
    names = _role_names()
    if call.params.get("RoleName") in names:
        return None  # moto answers EntityAlreadyExists
    limit = int(state.limit("L-FE177D64", "us-east-1"))
    if len(names) >= limit:
        return error_response(
            "query", 409, "LimitExceeded", f"Cannot exceed quota for RolesPerAccount: {limit}."
        )
    return None


def iam_attach_role_policy(state: SandboxState, call: Call) -> Response | None:
    try:
        attached = _every(
            "iam",
            "us-east-1",
            "list_attached_role_policies",
            "AttachedPolicies",
            RoleName=call.params.get("RoleName", ""),
        )
    except ClientError:
        return None  # moto answers NoSuchEntity
    arns = [p["PolicyArn"] for p in attached]
    if call.params.get("PolicyArn") in arns:
        return None  # attaching twice changes nothing
    limit = int(state.limit("L-0DA4ABF3", "us-east-1"))
    if len(arns) >= limit:
        return error_response(
            "query", 409, "LimitExceeded", f"Cannot exceed quota for PoliciesPerRole: {limit}."
        )
    return None


# --- SNS -------------------------------------------------------------------------------------------


def sns_topic_limit(state: SandboxState, call: Call) -> Response | None:
    topics = [t["TopicArn"] for t in _every("sns", call.region, "list_topics", "Topics")]
    name = call.params.get("Name", "")
    if any(arn.rsplit(":", 1)[-1] == name for arn in topics):
        return None  # CreateTopic on an existing name is idempotent
    if len(topics) >= state.limit("L-61103206", call.region):
        return error_response("query", 403, "TopicLimitExceeded", "Topic limit exceeded")
    return None


# --- request rewrites (before moto sees the request) -------------------------------------------------


def ec2_drop_own_owner_filter(params: dict[str, str]) -> dict[str, str] | None:
    """moto cannot filter some resources by owner-id (awslimitchecker does, on internet gateways).
    Every resource in the sandbox is the account's own, so a filter naming it selects them all."""
    names = {k.split(".")[1]: v for k, v in params.items() if re.fullmatch(r"Filter\.\d+\.Name", k)}
    drop = [
        n
        for n, name in names.items()
        if name == "owner-id"
        and current_account() in [v for k, v in params.items() if k.startswith(f"Filter.{n}.Value.")]
    ]
    if not drop:
        return None
    kept = [n for n in sorted(names, key=int) if n not in drop]
    out: dict[str, str] = {k: v for k, v in params.items() if not k.startswith("Filter.")}
    for new, old in enumerate(kept, start=1):
        for k, v in params.items():
            if k.startswith(f"Filter.{old}."):
                out[f"Filter.{new}." + k[len(f"Filter.{old}.") :]] = v
    return out


def rewrite(state: SandboxState, call: Call) -> bytes | None:
    """A replacement request body for moto, or None to pass the request on as it is."""
    params: dict[str, str] | None = None
    if call.service == "iam":
        params = managed_policies.iam_request(call)
    elif call.service == "ec2" and call.operation.startswith("Describe") and "Filter.1.Name" in call.params:
        params = ec2_drop_own_owner_filter(call.params)
        if call.operation == "DescribeNetworkInterfaces":
            params = lambda_enis.interface_type_filter(state, call, params or call.params) or params
    return None if params is None else urlencode(params).encode()


def ec2_create_vpc_endpoint_all(state: SandboxState, call: Call) -> Response | None:
    """The endpoint quotas first (what AWS names first), then the ENIs an interface endpoint makes."""
    return ec2_create_vpc_endpoint(state, call) or ec2_create_interface_endpoint_enis(state, call)


RULES: dict[tuple[str, str], Handler] = {
    ("lambda", "GetAccountSettings"): lambda_get_account_settings,
    ("lambda", "PutFunctionConcurrency"): lambda_put_function_concurrency,
    ("lambda", "CreateFunction"): lambda_create_function,
    ("kinesis", "DescribeLimits"): kinesis_describe_limits,
    ("kinesis", "CreateStream"): kinesis_create_stream,
    ("kinesis", "UpdateShardCount"): kinesis_update_shard_count,
    ("ec2", "CreateVpc"): ec2_create_vpc,
    ("ec2", "CreateInternetGateway"): ec2_create_internet_gateway,
    ("ec2", "AllocateAddress"): ec2_allocate_address,
    ("ec2", "CreateNatGateway"): ec2_create_nat_gateway,
    ("ec2", "CreateVpcEndpoint"): ec2_create_vpc_endpoint_all,
    ("ec2", "CreateNetworkInterface"): ec2_create_network_interface,
    ("ec2", "CreateSubnet"): ec2_create_subnet,
    ("ec2", "CreateSecurityGroup"): ec2_create_security_group,
    ("ec2", "AuthorizeSecurityGroupIngress"): ec2_authorize_ingress,
    ("ec2", "AuthorizeSecurityGroupEgress"): ec2_authorize_egress,
    ("iam", "CreateRole"): iam_create_role,
    ("iam", "AttachRolePolicy"): iam_attach_role_policy,
    ("sns", "CreateTopic"): lambda state, call: sns_create_topic(state, call) or sns_topic_limit(state, call),
    ("ec2", "DescribeAccountAttributes"): ec2_describe_account_attributes,
    ("ec2", "DescribeRegions"): ec2_describe_regions,
    ("sts", "AssumeRole"): sts_assume_role,
    ("organizations", "ListAccounts"): organizations_list_accounts,
    ("lambda", "UpdateFunctionConfiguration"): lambda_update_function,
    ("lambda", "UpdateFunctionCode"): lambda_update_function,
    ("s3", "HeadBucket"): s3_head_bucket,
    ("ec2", "DescribeVpcEndpointServices"): endpoint_services.describe_vpc_endpoint_services,
    ("s3", "ListBuckets"): s3_list_buckets,
    ("lambda", "ListFunctions"): lambda_list_functions,
}


# Rules on moto's answer (a successful one): what moto answers with fixed values, what the layer keeps.
Rewrite = Callable[[SandboxState, Call, Response], Response]
ON_ANSWER: dict[tuple[str, str], Rewrite] = {
    ("iam", "GetAccountSummary"): iam_account_summary_quotas,
    ("lambda", "GetFunctionConcurrency"): lambda_function_concurrency_shape,
    ("lambda", "PutFunctionConcurrency"): lambda_reservation_kept,
    ("lambda", "DeleteFunctionConcurrency"): lambda_reservation_kept,
    ("lambda", "DeleteFunction"): lambda_reservation_kept,
    ("sts", "AssumeRole"): remember_issued_key,
    ("iam", "CreateAccessKey"): remember_issued_key,
    ("s3", "CreateBucket"): s3_bucket_owner_kept,
    ("s3", "DeleteBucket"): s3_bucket_owner_kept,
    ("ec2", "DescribeNetworkInterfaces"): lambda_enis.mark_in_answer,
}

# Rules on every answer of a service (errors too: they name what the request named).
ON_SERVICE_ANSWER: dict[str, Rewrite] = {
    "organizations": organizations_answer,
    "iam": managed_policies.iam_answer,
}


def on_answer(state: SandboxState, call: Call, answer: Response) -> Response:
    """moto's answer after the rules on it: the operation's (on success), then the service's."""
    rewrite = ON_ANSWER.get((call.service, call.operation))
    if rewrite is not None and 200 <= answer.status < 300:
        answer = rewrite(state, call, answer)
    of_service = ON_SERVICE_ANSWER.get(call.service)
    return answer if of_service is None else of_service(state, call, answer)
