"""Where usage of each quota is counted: one small counter per catalog entry, registered for its quota
with `@counts(catalog.HANDLE)` (the entry's `usage` says which client it reads with and which calls).

A counter returns {scope key: count} of what *other* stacks already use. This stack's own resources
are left out, so a re-run of `check` on a deployed stack does not find it over quota because of
itself; the deployment's full demand is added on top (see `preflight.demand`). Only what carries this
stack's tags (tap:project / tap:environment, which the program sets on everything taggable) is its
own, plus what AWS made for its own resources (the ENIs of its endpoints, NAT gateways and
functions). Anything else counts, whatever its name and wherever it is: an untagged subnet, endpoint
or ENI inside this stack's VPC is a neighbour the deploy will not remove, and a resource that merely
has one of the stack's physical names is someone else's. Scopes that only a new resource of this
stack has (its VPC before it exists, its security groups, its role) have no key: usage 0.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from preflight.account.aws import Aws, AwsCallError, call, paginate
from preflight.deployment import (
    BASIC_EXECUTION_POLICY,
    TAG_ENVIRONMENT,
    TAG_PROJECT,
    VPC_ACCESS_POLICY,
    Deployment,
)
from preflight.quotas import catalog
from preflight.quotas.catalog import GLOBAL_SERVICE_CODES, Quota, home_region

NAT_COUNTED_STATES = ("pending", "available", "deleting")
# An endpoint being deleted still counts until it is gone (AWS frees the slot at "deleted").
ENDPOINT_GONE_STATES = {"deleted", "rejected", "failed", "expired"}
# Up to this many of the stack's functions are looked up by name (see Reads.looks_up_functions_by_name).
FUNCTION_LOOKUPS_BY_NAME = 20


@dataclass(frozen=True)
class Stack:
    """What identifies this stack's own resources in the account."""

    project: str
    environment: str
    vpc_name: str
    function_names: tuple[str, ...]
    # Physical names of the stack's streams, tables, buckets and topics.
    streams: tuple[str, ...]
    tables: tuple[str, ...]
    buckets: tuple[str, ...]
    topics: tuple[str, ...]
    role_name: str
    managed_policies: frozenset[str]
    # Security groups: the physical name of the one VPC-attached functions use, and every rule the
    # stack defines, as (group name, "ingress" | "egress", protocol, from port, to port, CIDR).
    lambda_security_group: str | None = None
    security_group_rules: frozenset[tuple[str, str, str, int, int, str]] = frozenset()

    @classmethod
    def of(cls, d: Deployment) -> Stack:
        return cls(
            project=d.project,
            environment=d.environment,
            vpc_name=d.vpc.name,
            function_names=tuple(f.name for f in d.functions),
            streams=tuple(s.name for s in d.streams),
            tables=tuple(t.name for t in d.tables),
            buckets=tuple(b.name for b in d.buckets),
            topics=tuple(t.name for t in d.topics),
            role_name=d.role.name,
            managed_policies=frozenset({BASIC_EXECUTION_POLICY, VPC_ACCESS_POLICY, *d.role.managed_policies}),
            lambda_security_group=d.lambda_security_group,
            security_group_rules=frozenset(
                _rule_key(sg.name, direction, r.protocol, r.from_port, r.to_port, r.cidr)
                for sg in d.security_groups
                for direction, rules in (("ingress", sg.ingress), ("egress", sg.egress))
                for r in rules
            ),
        )

    def owns(self, tags: list[dict[str, str]] | dict[str, str] | None) -> bool:
        """Whether these tags (a Key/Value list, or a mapping as Lambda answers) are this stack's."""
        found = tags if isinstance(tags, dict) else {t.get("Key"): t.get("Value") for t in tags or []}
        return found.get(TAG_PROJECT) == self.project and found.get(TAG_ENVIRONMENT) == self.environment


class Reads:
    """Each AWS read happens once per run, however many counters need it (threads share the result)."""

    def __init__(self, aws: Aws, stack: Stack):
        self.aws = aws
        self.stack = stack
        self._lock = threading.Lock()
        self._futures: dict[str, Future[Any]] = {}

    def once(self, key: str, fetch: Callable[[], Any]) -> Any:
        with self._lock:
            future = self._futures.get(key)
            owner = future is None
            if owner:
                future = self._futures[key] = Future()
        assert future is not None
        if owner:
            try:
                future.set_result(fetch())
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    def ec2(self, operation: str, result_key: str, **kwargs: Any) -> list[dict[str, Any]]:
        client = self.aws.client("ec2")
        if operation == "DescribeNetworkInterfaces":
            # AWS hides the interfaces its services manage unless asked; they take quota all the same.
            kwargs["IncludeManagedResources"] = True
        key = f"ec2:{operation}:{json.dumps(kwargs, sort_keys=True)}"  # one read per distinct request
        return self.once(key, lambda: paginate(client, operation, result_key, **kwargs))

    def independent(self) -> list[tuple[str, str, Callable[[], Any]]]:
        """Every read that depends on no other one, as (client, label, read), to start all at once.

        A counter then finds what it needs read or on its way, and never waits for a read it does
        not need (most counters need no VPC id; those that do wait only for DescribeVpcs).
        """
        ec2 = [
            ("DescribeVpcs", "Vpcs"),
            ("DescribeSubnets", "Subnets"),
            ("DescribeInternetGateways", "InternetGateways"),
            ("DescribeSecurityGroups", "SecurityGroups"),
            ("DescribeVpcEndpoints", "VpcEndpoints"),
            ("DescribeNetworkInterfaces", "NetworkInterfaces"),
        ]
        reads: list[tuple[str, str, Callable[[], Any]]] = [
            ("ec2", f"ec2:{op}", lambda op=op, key=key: self.ec2(op, key)) for op, key in ec2
        ]
        reads += [
            ("ec2", "ec2:DescribeNatGateways", self.nat_gateways),
            ("ec2", "ec2:DescribeAddresses", self.addresses),
            ("lambda", "lambda:GetAccountSettings", self.lambda_settings),
            ("kinesis", "kinesis:DescribeLimits", self.kinesis_limits),
            ("kinesis", "the stack's streams", self.own_stream_shards),
            ("iam", "iam:GetAccountSummary", self.iam_summary),
            ("iam", "the stack's role", self.own_role),
            ("s3", "s3:ListBuckets", self.bucket_names),
            ("sns", "sns:ListTopics", self.topic_arns),
            ("dynamodb", "dynamodb:ListTables", self.table_names),
        ]
        if self.looks_up_functions_by_name():
            reads += [
                ("lambda", f"function {name}", lambda name=name: self.function(name))
                for name in self.stack.function_names
            ]
        else:
            reads.append(("lambda", "the stack's functions", self.existing_functions))
        return reads

    def existing_functions(self) -> None:
        """GetFunction for each of the stack's functions the account's listing holds (at most 100 a
        second, as Lambda allows: a few at a time)."""
        from concurrent.futures import ThreadPoolExecutor

        listed = self.account_function_names()
        found = [name for name in self.stack.function_names if name in listed]
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="functions") as pool:
            for future in [pool.submit(self.function, name) for name in found]:
                future.exception()  # a failure reaches whoever needs that function

    def own_vpc_id(self) -> str | None:
        own = [v["VpcId"] for v in self.ec2("DescribeVpcs", "Vpcs") if self.stack.owns(v.get("Tags"))]
        return own[0] if own else None

    def nat_gateways(self) -> list[dict[str, Any]]:
        """NAT gateways in the states that count (one read, whoever asks first)."""
        return self.ec2(
            "DescribeNatGateways",
            "NatGateways",
            Filters=[{"Name": "state", "Values": list(NAT_COUNTED_STATES)}],
        )

    def own_vpc_scope(self) -> str:
        return f"vpc:{self.stack.vpc_name}"

    def client(self, service: str) -> Any:
        """`service`'s client where its quotas live: the partition's home region for IAM and S3."""
        global_service = service in GLOBAL_SERVICE_CODES
        return self.aws.client(service, home_region(self.aws.region) if global_service else None)

    def answer(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        """One call's whole answer, made once per run however many ask (limit reads and counters)."""
        client = self.client(service)
        key = f"{service}:{operation}" + (f":{json.dumps(params, sort_keys=True)}" if params else "")
        return self.once(key, lambda: call(client, operation, **params))

    def lambda_settings(self) -> dict[str, Any]:
        return self.answer("lambda", "GetAccountSettings")

    def kinesis_limits(self) -> dict[str, Any]:
        return self.answer("kinesis", "DescribeLimits")

    def iam_summary(self) -> dict[str, int]:
        return self.answer("iam", "GetAccountSummary")["SummaryMap"]

    def own_function(self, name: str) -> tuple[int | None] | None:
        """(reservation,) of this stack's function `name` (reservation None: it has none); None when
        it does not exist or is not this stack's (a function of that name without the stack's tags).

        GetFunction answers the tags and the reservation in one call.
        """
        answer = self.function(name)
        if answer is None or not self.stack.owns(answer.get("Tags") or {}):
            return None
        reserved = (answer.get("Concurrency") or {}).get("ReservedConcurrentExecutions")
        return (None if reserved is None else int(reserved),)

    def own_function_reservation(self, name: str) -> int:
        """What this stack's function `name` holds reserved now (0: none, not there, not the stack's)."""
        found = self.own_function(name)
        return (found[0] or 0) if found else 0

    def own_reservations(self) -> dict[str, int | None]:
        """The stack's existing functions and their reservations now."""
        found = {name: self.own_function(name) for name in self.stack.function_names}
        return {name: f[0] for name, f in found.items() if f is not None}

    def own_stream_shards(self) -> dict[str, int]:
        """Open shards of each of the stack's streams that exist and carry the stack's tags."""
        out: dict[str, int] = {}
        for name in self.stack.streams:
            summary = self.stream_summary(name)  # shared with the name checks
            # A stream of that name without this stack's tags is someone else's.
            if summary is not None and self.stack.owns(self.stream_tags(name)):
                out[name] = int(summary.get("OpenShardCount", 0))
        return out

    def own_role(self) -> bool | None:
        """Whether this stack's role exists and carries its tags (None: no role of that name)."""
        client = self.aws.client("iam", home_region(self.aws.region))

        def fetch() -> bool | None:
            try:
                role = call(client, "GetRole", RoleName=self.stack.role_name)["Role"]
            except AwsCallError as exc:
                if exc.code == "NoSuchEntity":
                    return None
                raise
            return self.stack.owns(role.get("Tags"))

        return self.once("iam:GetRole", fetch)

    # Reads the name checks (preflight.conflicts) share with the counters: one call each per run.

    def stream_summary(self, name: str) -> dict[str, Any] | None:
        """The stream `name` (DescribeStreamSummary), or None when it does not exist."""
        client = self.aws.client("kinesis")

        def fetch() -> dict[str, Any] | None:
            try:
                answer = call(client, "DescribeStreamSummary", StreamName=name)
            except AwsCallError as exc:
                if exc.code == "ResourceNotFoundException":
                    return None
                raise
            return answer["StreamDescriptionSummary"]

        return self.once(f"kinesis:DescribeStreamSummary:{name}", fetch)

    def looks_up_functions_by_name(self) -> bool:
        """Few functions: one GetFunction each, all at once. Many: the account's functions listed first.

        Lambda allows GetFunction 100 requests per second (ListFunctions, ListTags and the rest 15
        together): 1,000 functions looked up by name would take ten seconds, a listing of 50 a page
        far less, and only the functions that exist are then read.
        """
        return len(self.stack.function_names) <= FUNCTION_LOOKUPS_BY_NAME

    def account_function_names(self) -> frozenset[str]:
        client = self.aws.client("lambda")
        return self.once(
            "lambda:ListFunctions",
            lambda: frozenset(f["FunctionName"] for f in paginate(client, "ListFunctions", "Functions")),
        )

    def stream_tags(self, name: str) -> list[dict[str, str]]:
        """The tags of the stream `name` (read once, for usage and name checks)."""
        client = self.aws.client("kinesis")
        return self.once(f"kinesis:ListTagsForStream:{name}", lambda: _stream_tags(client, name))

    def function(self, name: str) -> dict[str, Any] | None:
        """GetFunction's answer for the function `name`, or None when it does not exist."""
        client = self.aws.client("lambda")
        if not self.looks_up_functions_by_name() and name not in self.account_function_names():
            return None

        def fetch() -> dict[str, Any] | None:
            try:
                return call(client, "GetFunction", FunctionName=name)
            except AwsCallError as exc:
                if exc.code == "ResourceNotFoundException":
                    return None
                raise

        return self.once(f"lambda:GetFunction:{name}", fetch)

    def addresses(self) -> list[dict[str, Any]]:
        client = self.aws.client("ec2")  # DescribeAddresses is not paginated
        return self.once("ec2:DescribeAddresses", lambda: call(client, "DescribeAddresses")["Addresses"])

    def table_names(self) -> list[str]:
        client = self.aws.client("dynamodb")
        return self.once("dynamodb:ListTables", lambda: paginate(client, "ListTables", "TableNames"))

    def bucket_names(self) -> list[str]:
        client = self.aws.client("s3", home_region(self.aws.region))
        return self.once(
            "s3:ListBuckets", lambda: [b["Name"] for b in paginate(client, "ListBuckets", "Buckets")]
        )

    def topic_arns(self) -> list[str]:
        client = self.aws.client("sns")
        return self.once(
            "sns:ListTopics", lambda: [t["TopicArn"] for t in paginate(client, "ListTopics", "Topics")]
        )

    def own_eni_ids(self) -> set[str]:
        """ENIs AWS made for this stack's own resources: they carry no tags of their own.

        Those of its interface endpoints and NAT gateways (listed by the resource), and Lambda's
        ENIs whose security groups are all this stack's.
        """

        def fetch() -> set[str]:
            own: set[str] = set()
            for e in self.ec2("DescribeVpcEndpoints", "VpcEndpoints"):
                if self.stack.owns(e.get("Tags")):
                    own.update(e.get("NetworkInterfaceIds") or [])
            for nat in self.nat_gateways():
                if self.stack.owns(nat.get("Tags")):
                    own.update(
                        a["NetworkInterfaceId"]
                        for a in nat.get("NatGatewayAddresses") or []
                        if "NetworkInterfaceId" in a
                    )
            own_groups = {
                g["GroupId"]
                for g in self.ec2("DescribeSecurityGroups", "SecurityGroups")
                if self.stack.owns(g.get("Tags"))
            }
            for eni in self.ec2("DescribeNetworkInterfaces", "NetworkInterfaces"):
                groups = {g["GroupId"] for g in eni.get("Groups") or []}
                if eni.get("InterfaceType") == "lambda" and groups and groups <= own_groups:
                    own.add(eni["NetworkInterfaceId"])
            return own

        return self.once("own-enis", fetch)

    def tags_of(self, key: str, fetch: Callable[[], list[dict[str, str]]]) -> bool:
        """Whether a named resource found in a listing carries this stack's tags (read once)."""
        return bool(self.once(f"tags:{key}", lambda: self.stack.owns(fetch())))


Usage = dict[str, float]
# The counter of each catalog quota, by quota code (each registers itself with `counts`).
COUNTERS: dict[str, Callable[[Reads], Usage]] = {}


def counts(quota: Quota) -> Callable[[Callable[[Reads], Usage]], Callable[[Reads], Usage]]:
    """Register the decorated function as `quota`'s usage counter."""

    def register(counter: Callable[[Reads], Usage]) -> Callable[[Reads], Usage]:
        assert quota.quota_code not in COUNTERS, f"two counters for {quota.quota_code}"
        COUNTERS[quota.quota_code] = counter
        return counter

    return register


def count(quota: Quota, reads: Reads) -> Usage:
    """What others use of `quota`, by scope, counted by the counter registered for it."""
    return COUNTERS[quota.quota_code](reads)


def _rule_key(
    group: str, direction: str, protocol: str, from_port: int | None, to_port: int | None, cidr: str | None
) -> tuple[str, str, str, int, int, str]:
    # "-1" (all traffic) has no ports: AWS answers -1/-1 where the manifest may say 0/0.
    protocol = str(protocol).lower()
    if protocol in ("-1", "all"):
        return group, direction, "-1", -1, -1, cidr or ""
    return group, direction, protocol, int(from_port or 0), int(to_port or 0), cidr or ""


@counts(catalog.VPCS)
def vpcs(r: Reads) -> Usage:
    return {"region": sum(1 for v in r.ec2("DescribeVpcs", "Vpcs") if not r.stack.owns(v.get("Tags")))}


@counts(catalog.INTERNET_GATEWAYS)
def internet_gateways(r: Reads) -> Usage:
    igws = r.ec2("DescribeInternetGateways", "InternetGateways")
    return {"region": sum(1 for g in igws if not r.stack.owns(g.get("Tags")))}


@counts(catalog.NAT_GATEWAYS_PER_AZ)
def nat_gateways_per_az(r: Reads) -> Usage:
    subnet_az = {s["SubnetId"]: s["AvailabilityZone"] for s in r.ec2("DescribeSubnets", "Subnets")}
    nats = r.nat_gateways()
    counts: Counter[str] = Counter()
    for nat in nats:
        if nat.get("State") in NAT_COUNTED_STATES and not r.stack.owns(nat.get("Tags")):
            counts[f"az:{subnet_az.get(nat.get('SubnetId', ''), 'unknown')}"] += 1
    return dict(counts)


@counts(catalog.ELASTIC_IPS)
def elastic_ips(r: Reads) -> Usage:
    addresses = r.addresses()
    return {"region": sum(1 for a in addresses if not r.stack.owns(a.get("Tags")))}


@counts(catalog.SUBNETS_PER_VPC)
def subnets_per_vpc(r: Reads) -> Usage:
    own = r.own_vpc_id()
    if own is None:
        return {}
    subnets = r.ec2("DescribeSubnets", "Subnets")
    # An untagged subnet in this stack's VPC is a neighbour's: the deploy does not remove it.
    return {
        r.own_vpc_scope(): sum(1 for s in subnets if s["VpcId"] == own and not r.stack.owns(s.get("Tags")))
    }


@counts(catalog.SECURITY_GROUPS)
def security_groups(r: Reads) -> Usage:
    own_vpc = r.own_vpc_id()
    groups = r.ec2("DescribeSecurityGroups", "SecurityGroups")
    # The default group of this stack's VPC comes with the VPC, which the demand counts again; any
    # other group without the stack's tags is someone else's, in its VPC or not.
    others = [
        g
        for g in groups
        if not r.stack.owns(g.get("Tags"))
        and not (g.get("VpcId") == own_vpc and g.get("GroupName") == "default")
    ]
    return {"region": len(others)}


@counts(catalog.RULES_PER_SECURITY_GROUP)
def security_group_rules(r: Reads) -> Usage:
    """Rules on this stack's existing groups that the stack does not define, per group and direction.

    A deploy sends only the changes from the stack's last state: rules added to its groups outside the
    stack stay, and count toward the per-group quota with the stack's own. A new group starts empty.
    """
    groups = {
        g["GroupId"]: g["GroupName"]
        for g in r.ec2("DescribeSecurityGroups", "SecurityGroups")
        if r.stack.owns(g.get("Tags"))
    }
    if not groups:
        return {}
    rules = r.ec2(
        "DescribeSecurityGroupRules",
        "SecurityGroupRules",
        Filters=[{"Name": "group-id", "Values": sorted(groups)}],
    )
    counts: Counter[str] = Counter(
        {f"sg:{name}:{d}": 0 for name in groups.values() for d in ("ingress", "egress")}
    )
    for rule in rules:
        name = groups.get(rule.get("GroupId", ""))
        if name is None:
            continue
        direction = "egress" if rule.get("IsEgress") else "ingress"
        cidr = (
            rule.get("CidrIpv4") or rule.get("CidrIpv6") or rule.get("ReferencedGroupInfo", {}).get("GroupId")
        )
        key = _rule_key(
            name, direction, rule.get("IpProtocol", ""), rule.get("FromPort"), rule.get("ToPort"), cidr
        )
        if key not in r.stack.security_group_rules:
            counts[f"sg:{name}:{direction}"] += 1
    return dict(counts)


@counts(catalog.GATEWAY_ENDPOINTS)
def gateway_endpoints(r: Reads) -> Usage:
    endpoints = r.ec2("DescribeVpcEndpoints", "VpcEndpoints")
    return {
        "region": sum(
            1
            for e in endpoints
            if e.get("VpcEndpointType") == "Gateway"
            and str(e.get("State", "")).lower() not in ENDPOINT_GONE_STATES
            and not r.stack.owns(e.get("Tags"))
        )
    }


@counts(catalog.INTERFACE_ENDPOINTS_PER_VPC)
def interface_endpoints_per_vpc(r: Reads) -> Usage:
    own = r.own_vpc_id()
    if own is None:
        return {}
    endpoints = r.ec2("DescribeVpcEndpoints", "VpcEndpoints")
    return {
        r.own_vpc_scope(): sum(
            1
            for e in endpoints
            if e.get("VpcId") == own
            and e.get("VpcEndpointType") in ("Interface", "GatewayLoadBalancer")
            and str(e.get("State", "")).lower() not in ENDPOINT_GONE_STATES
            and not r.stack.owns(e.get("Tags"))
        )
    }


@counts(catalog.NETWORK_INTERFACES)
def network_interfaces(r: Reads) -> Usage:
    enis = r.ec2("DescribeNetworkInterfaces", "NetworkInterfaces")
    own = r.own_eni_ids()
    return {
        "region": sum(
            1 for e in enis if e["NetworkInterfaceId"] not in own and not r.stack.owns(e.get("TagSet"))
        )
    }


@counts(catalog.LAMBDA_ENIS_PER_VPC)
def lambda_enis_per_vpc(r: Reads) -> Usage:
    """Lambda's ENIs in this stack's VPC that other functions use.

    Lambda makes one ENI per subnet and security-group combination and shares it among the functions
    that use that combination (Hyperplane): those with exactly this stack's Lambda group are the ones
    its functions will use, every other one stays.
    """
    own = r.own_vpc_id()
    if own is None:
        return {}
    client = r.aws.client("ec2")
    filters = [{"Name": "interface-type", "Values": ["lambda"]}, {"Name": "vpc-id", "Values": [own]}]
    enis = r.once(
        "ec2:DescribeNetworkInterfaces:lambda",
        lambda: paginate(client, "DescribeNetworkInterfaces", "NetworkInterfaces", Filters=filters),
    )
    mine = {r.stack.lambda_security_group}
    others = [e for e in enis if {g.get("GroupName") for g in e.get("Groups") or []} != mine]
    return {r.own_vpc_scope(): len(others)}


@counts(catalog.LAMBDA_CONCURRENCY)
def lambda_reserved_concurrency(r: Reads) -> Usage:
    """Concurrency other functions hold reserved. A function being redeployed gives its own back first."""
    limit = r.lambda_settings()["AccountLimit"]
    reserved_total = limit["ConcurrentExecutions"] - limit["UnreservedConcurrentExecutions"]
    own = sum(r.own_function_reservation(n) for n in r.stack.function_names)
    return {"region": max(0, reserved_total - own)}


@counts(catalog.LAMBDA_CODE_STORAGE)
def lambda_code_storage(r: Reads) -> Usage:
    # This stack's own code is a few kilobytes of 75 GB; it is not subtracted (that would cost a
    # GetFunction per function on every run).
    return {"region": r.lambda_settings()["AccountUsage"]["TotalCodeSize"]}


@counts(catalog.KINESIS_SHARDS)
def kinesis_shards(r: Reads) -> Usage:
    own = sum(r.own_stream_shards().values())
    return {"region": max(0, r.kinesis_limits()["OpenShardCount"] - own)}


def _stream_tags(client: Any, name: str) -> list[dict[str, str]]:
    tags: list[dict[str, str]] = []
    params: dict[str, Any] = {"StreamName": name, "Limit": 50}
    while True:
        page = call(client, "ListTagsForStream", **params)
        tags += page.get("Tags", [])
        if not page.get("HasMoreTags") or not tags:
            return tags
        params["ExclusiveStartTagKey"] = tags[-1]["Key"]


@counts(catalog.DYNAMODB_TABLES)
def dynamodb_tables(r: Reads) -> Usage:
    client = r.aws.client("dynamodb")
    names = r.table_names()
    own = sum(
        1
        for name in r.stack.tables
        if name in names and r.tags_of(f"dynamodb:{name}", lambda name=name: _table_tags(client, name))
    )
    return {"region": len(names) - own}


def _table_tags(client: Any, name: str) -> list[dict[str, str]]:
    arn = call(client, "DescribeTable", TableName=name)["Table"]["TableArn"]
    tags: list[dict[str, str]] = []
    params: dict[str, Any] = {"ResourceArn": arn}
    while True:
        page = call(client, "ListTagsOfResource", **params)
        tags += page.get("Tags", [])
        if not page.get("NextToken"):
            return tags
        params["NextToken"] = page["NextToken"]


@counts(catalog.S3_BUCKETS)
def s3_buckets(r: Reads) -> Usage:
    names = r.bucket_names()
    client = r.aws.client("s3", home_region(r.aws.region))
    own = sum(
        1
        for name in r.stack.buckets
        if name in names and r.tags_of(f"s3:{name}", lambda name=name: _bucket_tags(client, name))
    )
    return {"global": len(names) - own}


def _bucket_tags(client: Any, name: str) -> list[dict[str, str]]:
    try:
        return call(client, "GetBucketTagging", Bucket=name).get("TagSet", [])
    except AwsCallError as exc:
        if exc.code == "NoSuchTagSet":  # S3's answer for a bucket without tags
            return []
        raise


@counts(catalog.SNS_TOPICS)
def sns_topics(r: Reads) -> Usage:
    client = r.aws.client("sns")
    arns = r.topic_arns()
    own = 0
    for name in r.stack.topics:
        arn = next((a for a in arns if a.endswith(f":{name}")), None)
        if arn is not None and r.tags_of(
            f"sns:{arn}", lambda arn=arn: call(client, "ListTagsForResource", ResourceArn=arn).get("Tags", [])
        ):
            own += 1
    return {"region": len(arns) - own}


@counts(catalog.IAM_ROLES)
def iam_roles(r: Reads) -> Usage:
    roles = r.iam_summary()["Roles"]
    return {"global": roles - (1 if r.own_role() else 0)}


@counts(catalog.MANAGED_POLICIES_PER_ROLE)
def role_managed_policies(r: Reads) -> Usage:
    """Policies attached to this stack's role outside the stack stay attached after the deploy."""
    if not r.own_role():  # no role yet (or someone else's of that name): the stack's starts empty
        return {}
    client = r.aws.client("iam", home_region(r.aws.region))
    attached = paginate(client, "ListAttachedRolePolicies", "AttachedPolicies", RoleName=r.stack.role_name)
    foreign = [p for p in attached if p["PolicyArn"] not in r.stack.managed_policies]
    return {f"role:{r.stack.role_name}": len(foreign)}
