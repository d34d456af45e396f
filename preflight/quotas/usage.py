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

Each resource kind says how its own instances are recognised (`own_*` in `preflight/kinds/`); the
counters ask it, handing it the account's reads (`Reads`: each AWS read made once a run).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from preflight import kinds
from preflight.account.aws import Aws, AwsCallError, call, paginate
from preflight.deployment import TAG_ENVIRONMENT, TAG_PROJECT, Deployment
from preflight.kinds import bucket, function, role, security_group, stream, table, topic, vpc
from preflight.kinds.base import Read, Tags
from preflight.quotas import catalog
from preflight.quotas.catalog import GLOBAL_SERVICE_CODES, Quota, home_region

NAT_COUNTED_STATES = ("pending", "available", "deleting")
# An endpoint being deleted still counts until it is gone (AWS frees the slot at "deleted").
ENDPOINT_GONE_STATES = {"deleted", "rejected", "failed", "expired"}
# Up to this many of the stack's functions are looked up by name (see Reads.looks_up_functions_by_name).
FUNCTION_LOOKUPS_BY_NAME = 20


@dataclass(frozen=True)
class Stack:
    """This stack in an account: its tags, and its deployment, from which each resource kind tells its
    own resources (`own_*` in `preflight/kinds/`)."""

    deployment: Deployment

    @classmethod
    def of(cls, d: Deployment) -> Stack:
        return cls(deployment=d)

    @property
    def project(self) -> str:
        return self.deployment.project

    @property
    def environment(self) -> str:
        return self.deployment.environment

    def owns(self, tags: Tags) -> bool:
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

    def owns(self, tags: Tags) -> bool:
        return self.stack.owns(tags)

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

    def independent(self) -> list[Read]:
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
        reads: list[Read] = [
            ("ec2", f"ec2:{op}", lambda op=op, key=key: self.ec2(op, key)) for op, key in ec2
        ]
        reads += [
            ("ec2", "ec2:DescribeNatGateways", self.nat_gateways),
            ("ec2", "ec2:DescribeAddresses", self.addresses),
            ("lambda", "lambda:GetAccountSettings", self.lambda_settings),
            ("kinesis", "kinesis:DescribeLimits", self.kinesis_limits),
            ("iam", "iam:GetAccountSummary", self.iam_summary),
            ("s3", "s3:ListBuckets", self.bucket_names),
            ("sns", "sns:ListTopics", self.topic_arns),
            ("dynamodb", "dynamodb:ListTables", self.table_names),
        ]
        # Then what each kind recognises its own with (the stack's role, streams, functions): each
        # after its service's listings, as `read_account` starts them per service in this order.
        return reads + kinds.own_reads(self, self.stack.deployment)

    def nat_gateways(self) -> list[dict[str, Any]]:
        """NAT gateways in the states that count (one read, whoever asks first)."""
        return self.ec2(
            "DescribeNatGateways",
            "NatGateways",
            Filters=[{"Name": "state", "Values": list(NAT_COUNTED_STATES)}],
        )

    def own_vpc_scope(self) -> str:
        return vpc.scope(self.stack.deployment.vpc)

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

    def role(self, name: str) -> dict[str, Any] | None:
        """GetRole's role `name`, or None when there is none."""
        client = self.client("iam")

        def fetch() -> dict[str, Any] | None:
            try:
                return call(client, "GetRole", RoleName=name)["Role"]
            except AwsCallError as exc:
                if exc.code == "NoSuchEntity":
                    return None
                raise

        return self.once(f"iam:GetRole:{name}", fetch)

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
        return len(self.stack.deployment.functions) <= FUNCTION_LOOKUPS_BY_NAME

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

    def table_tags(self, name: str) -> list[dict[str, str]]:
        client = self.client("dynamodb")
        return self.once(f"tags:dynamodb:{name}", lambda: _table_tags(client, name))

    def bucket_tags(self, name: str) -> list[dict[str, str]]:
        client = self.client("s3")
        return self.once(f"tags:s3:{name}", lambda: _bucket_tags(client, name))

    def topic_tags(self, arn: str) -> list[dict[str, str]]:
        client = self.client("sns")
        return self.once(
            f"tags:sns:{arn}", lambda: call(client, "ListTagsForResource", ResourceArn=arn).get("Tags", [])
        )

    def lambda_enis(self, vpc_id: str) -> list[dict[str, Any]]:
        """Lambda's ENIs in the VPC `vpc_id` (filtered: in a large account most ENIs are not Lambda's)."""
        client = self.aws.client("ec2")
        filters = [{"Name": "interface-type", "Values": ["lambda"]}, {"Name": "vpc-id", "Values": [vpc_id]}]
        return self.once(
            "ec2:DescribeNetworkInterfaces:lambda",
            lambda: paginate(client, "DescribeNetworkInterfaces", "NetworkInterfaces", Filters=filters),
        )

    def attached_role_policies(self, name: str) -> list[dict[str, Any]]:
        client = self.client("iam")
        return paginate(client, "ListAttachedRolePolicies", "AttachedPolicies", RoleName=name)


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


@counts(catalog.VPCS)
def vpcs(r: Reads) -> Usage:
    return {"region": sum(1 for v in r.ec2("DescribeVpcs", "Vpcs") if not r.owns(v.get("Tags")))}


@counts(catalog.INTERNET_GATEWAYS)
def internet_gateways(r: Reads) -> Usage:
    igws = r.ec2("DescribeInternetGateways", "InternetGateways")
    return {"region": sum(1 for g in igws if not r.owns(g.get("Tags")))}


@counts(catalog.NAT_GATEWAYS_PER_AZ)
def nat_gateways_per_az(r: Reads) -> Usage:
    subnet_az = {s["SubnetId"]: s["AvailabilityZone"] for s in r.ec2("DescribeSubnets", "Subnets")}
    nats = r.nat_gateways()
    counts: Counter[str] = Counter()
    for nat in nats:
        if nat.get("State") in NAT_COUNTED_STATES and not r.owns(nat.get("Tags")):
            counts[f"az:{subnet_az.get(nat.get('SubnetId', ''), 'unknown')}"] += 1
    return dict(counts)


@counts(catalog.ELASTIC_IPS)
def elastic_ips(r: Reads) -> Usage:
    addresses = r.addresses()
    return {"region": sum(1 for a in addresses if not r.owns(a.get("Tags")))}


@counts(catalog.SUBNETS_PER_VPC)
def subnets_per_vpc(r: Reads) -> Usage:
    own = vpc.own_vpc_id(r)
    if own is None:
        return {}
    subnets = r.ec2("DescribeSubnets", "Subnets")
    # An untagged subnet in this stack's VPC is a neighbour's: the deploy does not remove it.
    return {r.own_vpc_scope(): sum(1 for s in subnets if s["VpcId"] == own and not r.owns(s.get("Tags")))}


@counts(catalog.SECURITY_GROUPS)
def security_groups(r: Reads) -> Usage:
    own_vpc = vpc.own_vpc_id(r)
    groups = r.ec2("DescribeSecurityGroups", "SecurityGroups")
    return {"region": sum(1 for g in groups if not security_group.is_own(r, g, own_vpc))}


@counts(catalog.RULES_PER_SECURITY_GROUP)
def security_group_rules(r: Reads) -> Usage:
    """Rules on this stack's existing groups that the stack does not define, per group and direction.

    A deploy sends only the changes from the stack's last state: rules added to its groups outside the
    stack stay, and count toward the per-group quota with the stack's own. A new group starts empty.
    """
    groups = security_group.own_groups(r)
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
    own_rules = security_group.own_rules(r.stack.deployment)
    for rule in rules:
        name = groups.get(rule.get("GroupId", ""))
        if name is None:
            continue
        key = security_group.found_rule_key(name, rule)
        if key not in own_rules:
            direction = key[1]  # "ingress" | "egress"
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
            and not r.owns(e.get("Tags"))
        )
    }


@counts(catalog.INTERFACE_ENDPOINTS_PER_VPC)
def interface_endpoints_per_vpc(r: Reads) -> Usage:
    own = vpc.own_vpc_id(r)
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
            and not r.owns(e.get("Tags"))
        )
    }


@counts(catalog.NETWORK_INTERFACES)
def network_interfaces(r: Reads) -> Usage:
    """ENIs others use: not tagged as the stack's, and not made by AWS for the stack's resources (the
    kinds tie those back: its endpoints', NAT gateways' and functions' ENIs)."""
    enis = r.ec2("DescribeNetworkInterfaces", "NetworkInterfaces")
    own = r.once("own-enis", lambda: kinds.own_enis(r, r.stack.deployment))
    return {
        "region": sum(1 for e in enis if e["NetworkInterfaceId"] not in own and not r.owns(e.get("TagSet")))
    }


@counts(catalog.LAMBDA_ENIS_PER_VPC)
def lambda_enis_per_vpc(r: Reads) -> Usage:
    """Lambda's ENIs in this stack's VPC that other functions use (those the stack's functions will
    share: `function.uses_own_lambda_group`)."""
    own = vpc.own_vpc_id(r)
    if own is None:
        return {}
    enis = r.lambda_enis(own)
    others = [e for e in enis if not function.uses_own_lambda_group(r.stack.deployment, e)]
    return {r.own_vpc_scope(): len(others)}


@counts(catalog.LAMBDA_CONCURRENCY)
def lambda_reserved_concurrency(r: Reads) -> Usage:
    """Concurrency other functions hold reserved. A function being redeployed gives its own back first."""
    limit = r.lambda_settings()["AccountLimit"]
    reserved_total = limit["ConcurrentExecutions"] - limit["UnreservedConcurrentExecutions"]
    own = sum(function.own_reservation(r, f.name) for f in r.stack.deployment.functions)
    return {"region": max(0, reserved_total - own)}


@counts(catalog.LAMBDA_CODE_STORAGE)
def lambda_code_storage(r: Reads) -> Usage:
    # This stack's own code is a few kilobytes of 75 GB; it is not subtracted (that would cost a
    # GetFunction per function on every run).
    return {"region": r.lambda_settings()["AccountUsage"]["TotalCodeSize"]}


@counts(catalog.KINESIS_SHARDS)
def kinesis_shards(r: Reads) -> Usage:
    own = sum(stream.own_shards(r, r.stack.deployment).values())
    return {"region": max(0, r.kinesis_limits()["OpenShardCount"] - own)}


@counts(catalog.DYNAMODB_TABLES)
def dynamodb_tables(r: Reads) -> Usage:
    return {"region": len(r.table_names()) - len(table.own(r, r.stack.deployment))}


@counts(catalog.S3_BUCKETS)
def s3_buckets(r: Reads) -> Usage:
    return {"global": len(r.bucket_names()) - len(bucket.own(r, r.stack.deployment))}


@counts(catalog.SNS_TOPICS)
def sns_topics(r: Reads) -> Usage:
    return {"region": len(r.topic_arns()) - len(topic.own(r, r.stack.deployment))}


@counts(catalog.IAM_ROLES)
def iam_roles(r: Reads) -> Usage:
    roles = r.iam_summary()["Roles"]
    return {"global": roles - (1 if role.own_role(r, r.stack.deployment) else 0)}


@counts(catalog.MANAGED_POLICIES_PER_ROLE)
def role_managed_policies(r: Reads) -> Usage:
    """Policies attached to this stack's role outside the stack stay attached after the deploy."""
    d = r.stack.deployment
    if not role.own_role(r, d):  # no role yet (or someone else's of that name): the stack's starts empty
        return {}
    own = role.own_policies(d)
    foreign = [p for p in r.attached_role_policies(d.role.name) if p["PolicyArn"] not in own]
    return {f"role:{d.role.name}": len(foreign)}


def _stream_tags(client: Any, name: str) -> list[dict[str, str]]:
    tags: list[dict[str, str]] = []
    params: dict[str, Any] = {"StreamName": name, "Limit": 50}
    while True:
        page = call(client, "ListTagsForStream", **params)
        tags += page.get("Tags", [])
        if not page.get("HasMoreTags") or not tags:
            return tags
        params["ExclusiveStartTagKey"] = tags[-1]["Key"]


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


def _bucket_tags(client: Any, name: str) -> list[dict[str, str]]:
    try:
        return call(client, "GetBucketTagging", Bucket=name).get("TagSet", [])
    except AwsCallError as exc:
        if exc.code == "NoSuchTagSet":  # S3's answer for a bucket without tags
            return []
        raise
