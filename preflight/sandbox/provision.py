"""Applying a scenario to a running sandbox: applied quotas in its state, resources through boto3.

Resources are created over HTTP against the sandbox itself, so moto's state is exactly what an AWS
client would have made (and quota enforcement applies: a scenario that does not fit its own quotas
is an input error). Independent resources are created in parallel to keep a start fast.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, NamedTuple

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from preflight.sandbox import accelerators
from preflight.sandbox.scenario import Scenario, Vpc, expand, subnet_cidrs
from preflight.sandbox.state import ACCOUNT_ID
from preflight.sandbox.target import ASSUME_LAMBDA, ProvisionTarget, code_zip

WORKERS = 8
OTHER_ACCOUNT_ID = "210987654321"  # another account of the sandbox, holding globally named buckets
LAMBDA_ROLE = "sandbox-scenario-lambda-role"
EMPTY_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}],
    }
)


TABLE: dict[str, Any] = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}


class Job(NamedTuple):
    path: tuple[str | int, ...]  # the scenario entry it comes from, for error messages
    what: str
    run: Callable[[], object]


def _tags(name: str) -> list[dict[str, Any]]:
    return [{"Key": "Name", "Value": name}, {"Key": "preflight:sandbox", "Value": "other-stack"}]


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _alarm(name: str) -> dict[str, Any]:
    return {
        "AlarmName": name,
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    }


def _spec(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": _tags(name)}]


def _subnets(ec2: Any, vpc: Vpc, region: str, name: str, vpc_id: str, cidr: str) -> list[str]:
    """The VPC's subnets, created in order: their ids."""
    subnet_ids = []
    for k, (subnet, block) in enumerate(zip(vpc.subnets, subnet_cidrs(cidr, vpc.subnets), strict=True)):
        az = subnet.az if len(subnet.az) > 1 else f"{region}{subnet.az}"
        created = ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=block,
            AvailabilityZone=az,
            TagSpecifications=_spec("subnet", f"{name}-{k}"),
        )
        subnet_ids.append(created["Subnet"]["SubnetId"])
    return subnet_ids


def _endpoints(ec2: Any, vpc: Vpc, region: str, name: str, vpc_id: str, subnet_ids: list[str]) -> None:
    """The VPC's gateway endpoints, then its interface endpoints (in every one of its subnets)."""
    for ep in vpc.gateway_endpoints:
        for _ in range(ep.count):
            ec2.create_vpc_endpoint(
                VpcId=vpc_id,
                ServiceName=f"com.amazonaws.{region}.{ep.service}",
                VpcEndpointType="Gateway",
                TagSpecifications=_spec("vpc-endpoint", name),
            )
    for ep in vpc.interface_endpoints:
        for _ in range(ep.count):
            ec2.create_vpc_endpoint(
                VpcId=vpc_id,
                ServiceName=f"com.amazonaws.{region}.{ep.service}",
                VpcEndpointType="Interface",
                SubnetIds=subnet_ids,
                # Others' endpoints count, their DNS does not (DynamoDB's has no private DNS).
                PrivateDnsEnabled=False,
                TagSpecifications=_spec("vpc-endpoint", name),
            )


class _Provisioner:
    def __init__(self, scenario: Scenario, sandbox: ProvisionTarget) -> None:
        self.scenario = scenario
        self.sandbox = sandbox
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def region(self, item: Any) -> str:
        return getattr(item, "region", None) or self.sandbox.region

    def client(self, service: str, region: str) -> Any:
        # Made only for services the scenario uses (a client costs ~30 ms), under a lock: creating
        # clients is not thread-safe, using them is.
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self.sandbox.setup_client(service, region)
            return self._clients[key]

    def run(self) -> None:
        s = self.scenario
        self._set_quotas()
        if not s.default_vpc:
            regions = {self.sandbox.region} | {self.region(item) for item in [*s.vpcs, *s.elastic_ips]}
            for region in sorted(regions):
                self._delete_default_vpc(region)
        jobs = [*self._network_jobs(), *self._compute_jobs(), *self._storage_jobs(), *self._other_jobs()]
        for limited in s.endpoint_services:
            region = self.region(limited)
            zones = tuple(z if len(z) > 1 else f"{region}{z}" for z in limited.zones)
            service = f"com.amazonaws.{region}.{limited.service}"
            self.sandbox.state.limit_endpoint_service(region, service, zones)
        self.sandbox.state.enabled_regions = tuple(s.enabled_regions)
        self._run_all(jobs)
        if any(s.bulk.model_dump().values()):
            self._bulk()
        if s.organization is not None:
            from preflight.sandbox.organization import apply_organization

            apply_organization(s, self.sandbox)

    def _set_quotas(self) -> None:
        s = self.scenario
        for i, setting in enumerate(s.quotas):
            try:
                self.sandbox.set_applied_quota(
                    setting.service or "",
                    setting.code,
                    setting.value,
                    setting.region or self.sandbox.region,
                    listed=setting.listed,
                )
            except (KeyError, ValueError) as exc:
                raise s.error(("quotas", i), str(exc)) from None

    def _network_jobs(self) -> list[Job]:
        jobs: list[Job] = []
        cidr_index = 0
        for i, vpc in enumerate(self.scenario.vpcs):
            for name in expand(vpc.name, vpc.count):
                cidr_index += 1
                cidr = vpc.cidr or f"10.{(cidr_index - 1) % 255 + 1}.0.0/16"
                jobs.append(Job(("vpcs", i), f"VPC {name}", self._vpc_job(vpc, name, cidr)))
        for i, eips in enumerate(self.scenario.elastic_ips):
            allocate = partial(self.client("ec2", self.region(eips)).allocate_address, Domain="vpc")
            jobs += [Job(("elasticIps", i), "Elastic IP", allocate)] * eips.count
        return jobs

    def _compute_jobs(self) -> list[Job]:
        s, jobs = self.scenario, []
        if s.functions:
            self._lambda_role()
        for i, fn in enumerate(s.functions):
            for name in expand(fn.name, fn.count):
                jobs.append(Job(("functions", i), f"function {name}", self._function_job(fn, name)))
        for i, stream in enumerate(s.streams):
            if stream.mode == "on-demand":
                mode: dict[str, Any] = {"StreamModeDetails": {"StreamMode": "ON_DEMAND"}}
            else:
                mode = {"ShardCount": stream.shards}
            for name in expand(stream.name, stream.count):
                jobs.append(Job(("streams", i), f"stream {name}", self._stream_job(stream, name, mode)))
        return jobs

    def _storage_jobs(self) -> list[Job]:
        jobs: list[Job] = []
        for i, table in enumerate(self.scenario.tables):
            create_table = self.client("dynamodb", self.region(table)).create_table
            tagged = {"Tags": _tag_list(table.tags)} if table.tags else {}
            for name in expand(table.name, table.count):
                create = partial(create_table, TableName=name, **TABLE, **tagged)
                jobs.append(Job(("tables", i), f"table {name}", create))
        for i, bucket in enumerate(self.scenario.buckets):
            region = self.region(bucket)
            s3 = (
                self._other_account_client("s3", region)
                if bucket.other_account
                else self.client("s3", region)
            )
            # us-east-1 is the one region S3 wants no location constraint for.
            where = (
                {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            )
            for name in expand(bucket.name, bucket.count):
                create = partial(s3.create_bucket, Bucket=name, **where)
                jobs.append(Job(("buckets", i), f"bucket {name}", create))
        return jobs

    def _other_jobs(self) -> list[Job]:
        """Topics, roles and alarms."""
        s, jobs = self.scenario, []
        for i, topic in enumerate(s.topics):
            create_topic = self.client("sns", self.region(topic)).create_topic
            tagged = {"Tags": _tag_list(topic.tags)} if topic.tags else {}
            for name in expand(topic.name, topic.count):
                jobs.append(Job(("topics", i), f"topic {name}", partial(create_topic, Name=name, **tagged)))
        for i, role in enumerate(s.roles):
            for name in expand(role.name, role.count):
                create = self._role_job(name, role.managed_policies, role.tags)
                jobs.append(Job(("roles", i), f"role {name}", create))
        for i, alarm in enumerate(s.alarms):
            put_alarm = self.client("cloudwatch", self.region(alarm)).put_metric_alarm
            tags = _tag_list(alarm.tags or {"preflight:sandbox": "other-stack"})
            for name in expand(alarm.name, alarm.count):
                create = partial(put_alarm, **_alarm(name), Tags=tags)
                jobs.append(Job(("alarms", i), f"alarm {name}", create))
        return jobs

    def _run_all(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="sandbox-setup") as pool:
            futures = [(job.path, job.what, pool.submit(job.run)) for job in jobs]
            for path, what, future in futures:
                exc = future.exception()
                if exc is None:
                    continue
                if isinstance(exc, ClientError):
                    err = exc.response.get("Error", {})
                    detail = f"{err.get('Code', 'Error')}: {err.get('Message', '')}".rstrip(": ")
                elif isinstance(exc, BotoCoreError):
                    detail = str(exc)
                else:
                    raise exc
                raise self.scenario.error(path, f"could not create {what} ({detail})")

    # --- resources -----------------------------------------------------------------------------

    def _delete_default_vpc(self, region: str) -> None:
        ec2 = self.client("ec2", region)
        for vpc in ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]:
            subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
            for subnet in subnets:
                ec2.delete_subnet(SubnetId=subnet["SubnetId"])
            ec2.delete_vpc(VpcId=vpc["VpcId"])

    def _vpc_job(self, vpc: Vpc, name: str, cidr: str) -> Callable[[], None]:
        region = self.region(vpc)
        ec2 = self.client("ec2", region)

        def create() -> None:
            # A VPC given a stack's tags is that stack's, not "other-stack"'s.
            tags = (
                [{"Key": "Name", "Value": name}, *({"Key": k, "Value": v} for k, v in vpc.tags.items())]
                if vpc.tags
                else _tags(name)
            )
            vpc_id = ec2.create_vpc(
                CidrBlock=cidr, TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}]
            )["Vpc"]["VpcId"]
            subnet_ids = _subnets(ec2, vpc, region, name, vpc_id, cidr)
            if vpc.internet_gateway:
                igw = ec2.create_internet_gateway(TagSpecifications=_spec("internet-gateway", name))
                igw_id = igw["InternetGateway"]["InternetGatewayId"]
                ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
            for nat in vpc.nat_gateways:
                for _ in range(nat.count):
                    alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
                    ec2.create_nat_gateway(
                        SubnetId=subnet_ids[nat.subnet],
                        AllocationId=alloc,
                        TagSpecifications=_spec("natgateway", name),
                    )
            _endpoints(ec2, vpc, region, name, vpc_id, subnet_ids)
            for eni in vpc.network_interfaces:
                for _ in range(eni.count):
                    ec2.create_network_interface(
                        SubnetId=subnet_ids[eni.subnet], TagSpecifications=_spec("network-interface", name)
                    )

        return create

    def _bulk(self) -> None:
        """The scenario's bulk resources: straight into moto's backends where moto is shaped as
        expected (an accelerator: tens of thousands in seconds), else through the AWS API over the
        layer (minutes for a large account; the same account)."""
        bulk, region = self.scenario.bulk, self.sandbox.region
        limits = {
            "buckets": ("L-DC2B2D3D", bulk.buckets),
            "networkInterfaces": ("L-DF5E4CA3", bulk.network_interfaces),
            "securityGroups": ("L-E79EC296", bulk.security_groups),
        }
        for key, (code, count) in limits.items():
            limit = self.sandbox.state.limit(code, region)
            if count > limit:
                raise self.scenario.error(
                    ("bulk", key), f"{count} is over the account's quota {code} of {int(limit)}: raise it"
                )
        subnet_id = None
        if bulk.network_interfaces or bulk.security_groups:
            ec2 = self.client("ec2", region)
            vpc = ec2.create_vpc(CidrBlock="10.250.0.0/16", TagSpecifications=_spec("vpc", "bulk"))["Vpc"]
            subnet_id = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.250.0.0/17")["Subnet"]["SubnetId"]
        if bulk.functions and not self.scenario.functions:
            self._lambda_role()
        if accelerators.usable(BULK, _bulk_backends_shaped):
            try:
                _BulkInBackends(self, subnet_id).run()
                return
            except accelerators.SHAPE_ERRORS as error:
                accelerators.drop(BULK, error)
        self._run_all(_BulkThroughApi(self, subnet_id).jobs())  # what the backends did not make

    def _lambda_role(self) -> None:
        iam = self.client("iam", "us-east-1")
        iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=ASSUME_LAMBDA)

    def _function_job(self, fn: Any, name: str) -> Callable[[], None]:
        client = self.client("lambda", self.region(fn))
        role = f"arn:aws:iam::{self.sandbox.account_id}:role/{LAMBDA_ROLE}"
        code = code_zip()

        def create() -> None:
            client.create_function(
                FunctionName=name,
                Runtime=fn.runtime,
                Role=role,
                Handler="index.handler",
                Code={"ZipFile": code},
                MemorySize=fn.memory_mb,
                Tags=fn.tags or {"preflight:sandbox": "other-stack"},
            )
            if fn.reserved_concurrency is not None:
                client.put_function_concurrency(
                    FunctionName=name, ReservedConcurrentExecutions=fn.reserved_concurrency
                )

        return create

    def _stream_job(self, stream: Any, name: str, mode: dict[str, Any]) -> Callable[[], None]:
        kinesis = self.client("kinesis", self.region(stream))

        def create() -> None:
            kinesis.create_stream(StreamName=name, **mode)
            if stream.tags:
                kinesis.add_tags_to_stream(StreamName=name, Tags=dict(stream.tags))

        return create

    def _other_account_client(self, service: str, region: str) -> Any:
        """A client of another account of the sandbox (moto maps an assumed role's keys to its account)."""
        from preflight.sandbox.organization import allow_assume_from

        allow_assume_from(OTHER_ACCOUNT_ID, "sandbox-other-account")  # AssumeRole needs a role that trusts us
        sts = self.client("sts", region)
        role = f"arn:aws:iam::{OTHER_ACCOUNT_ID}:role/sandbox-other-account"
        creds = sts.assume_role(RoleArn=role, RoleSessionName="sandbox-scenario")["Credentials"]
        with self._lock:
            return boto3.client(
                service,
                region_name=region,
                endpoint_url=self.sandbox.endpoint_url,
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )

    def _role_job(self, name: str, policies: int, tags: dict[str, str] | None = None) -> Callable[[], None]:
        iam = self.client("iam", "us-east-1")
        tagged = {"Tags": _tag_list(tags)} if tags else {}

        def create() -> None:
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=ASSUME_LAMBDA, **tagged)
            for k in range(1, policies + 1):
                arn = iam.create_policy(PolicyName=f"{name}-policy-{k}", PolicyDocument=EMPTY_POLICY)[
                    "Policy"
                ]["Arn"]
                iam.attach_role_policy(RoleName=name, PolicyArn=arn)

        return create


BULK = "bulk resources made in moto's backends"  # the accelerator's name (accelerators.py)


def _bulk_bucket(i: int, account: str) -> str:
    return f"bulk-bucket-{i:05d}-{account}"


def _bulk_group(i: int) -> str:
    return f"bulk-group-{i:05d}"


def _bulk_function(i: int) -> str:
    return f"bulk-function-{i:05d}"


def _bulk_backends_shaped() -> bool:
    """The accelerator's probe: moto's backends make buckets, groups, interfaces and functions from the
    arguments it passes."""
    from moto.backends import get_backend

    account, region = ACCOUNT_ID, "us-east-1"  # backends moto makes anyway; a probe makes no resource
    s3 = get_backend("s3")[account]["aws"]
    return (
        accelerators.has_parameters(s3, "create_bucket", ("bucket_name", "region_name"))
        and all(
            accelerators.has_parameters(get_backend("ec2")[account][region], method, parameters)
            for method, parameters in (
                ("create_security_group", ("name", "description", "vpc_id")),
                ("get_subnet", ("subnet_id",)),
                ("create_network_interface", ("subnet", "private_ip_address")),
            )
        )
        and accelerators.has_parameters(get_backend("lambda")[account][region], "create_function", ("spec",))
    )


class _Bulk:
    """The scenario's bulk resources, made in one account and region (the stack's subnet, if any)."""

    def __init__(self, provisioner: _Provisioner, subnet_id: str | None) -> None:
        self.p, self.subnet_id = provisioner, subnet_id
        self.bulk, self.region, self.account = (
            provisioner.scenario.bulk,
            provisioner.sandbox.region,
            provisioner.sandbox.account_id,
        )


class _BulkInBackends(_Bulk):
    """The accelerator: the bulk resources written into moto's backends in-process (seconds)."""

    def run(self) -> None:
        from moto.backends import get_backend

        s3 = get_backend("s3")[self.account]["aws"]
        for i in range(self.bulk.buckets):
            name = _bulk_bucket(i, self.account)
            s3.create_bucket(name, self.region)
            self.p.sandbox.state.own_bucket(name, self.account)  # the layer's record of who owns a name
        if self.subnet_id is not None:
            ec2 = get_backend("ec2")[self.account][self.region]
            subnet = ec2.get_subnet(self.subnet_id)
            for i in range(self.bulk.security_groups):
                ec2.create_security_group(_bulk_group(i), "bulk", subnet.vpc_id)
            for _ in range(self.bulk.network_interfaces):
                ec2.create_network_interface(subnet, None)
        if self.bulk.functions:
            lam = get_backend("lambda")[self.account][self.region]
            code = base64.b64encode(code_zip()).decode()
            for i in range(self.bulk.functions):
                lam.create_function(
                    {
                        "FunctionName": _bulk_function(i),
                        "Runtime": "python3.12",
                        "Role": f"arn:aws:iam::{self.account}:role/{LAMBDA_ROLE}",
                        "Handler": "index.handler",
                        "Code": {"ZipFile": code},
                    }
                )


class _BulkThroughApi(_Bulk):
    """The documented path: the bulk resources the account lacks, made with the AWS API over the layer
    (in parallel; what the accelerator made before it failed is not made twice)."""

    def jobs(self) -> list[Job]:
        jobs = self._buckets()
        if self.subnet_id is not None:
            jobs += self._network()
        if self.bulk.functions:
            jobs += self._functions()
        return jobs

    def _buckets(self) -> list[Job]:
        if not self.bulk.buckets:
            return []
        s3, have, token = self.p.client("s3", self.region), set(), None
        while True:  # paged: an unpaginated ListBuckets is refused above 10,000 buckets' quota
            page = s3.list_buckets(MaxBuckets=10_000, **({"ContinuationToken": token} if token else {}))
            have |= {b["Name"] for b in page["Buckets"]}
            token = page.get("ContinuationToken")
            if not token:
                break
        where = {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        if self.region == "us-east-1":  # the one region S3 wants no location constraint for
            where = {}
        names = [_bulk_bucket(i, self.account) for i in range(self.bulk.buckets)]
        return [
            Job(("bulk", "buckets"), f"bucket {name}", partial(s3.create_bucket, Bucket=name, **where))
            for name in names
            if name not in have
        ]

    def _network(self) -> list[Job]:
        ec2 = self.p.client("ec2", self.region)
        subnet = ec2.describe_subnets(SubnetIds=[self.subnet_id])["Subnets"][0]
        in_vpc = [{"Name": "vpc-id", "Values": [subnet["VpcId"]]}]
        groups = ec2.get_paginator("describe_security_groups").paginate(Filters=in_vpc)
        have = {g["GroupName"] for page in groups for g in page["SecurityGroups"]}
        jobs = [
            Job(("bulk", "securityGroups"), f"security group {name}",
                partial(ec2.create_security_group, GroupName=name, Description="bulk", VpcId=subnet["VpcId"]))
            for name in map(_bulk_group, range(self.bulk.security_groups))
            if name not in have
        ]  # fmt: skip
        in_subnet = [{"Name": "subnet-id", "Values": [self.subnet_id]}]
        interfaces = ec2.get_paginator("describe_network_interfaces").paginate(Filters=in_subnet)
        made = sum(len(page["NetworkInterfaces"]) for page in interfaces)
        create = partial(ec2.create_network_interface, SubnetId=self.subnet_id)
        return jobs + [Job(("bulk", "networkInterfaces"), "network interface", create)] * max(
            0, self.bulk.network_interfaces - made
        )

    def _functions(self) -> list[Job]:
        lam = self.p.client("lambda", self.region)
        pages = lam.get_paginator("list_functions").paginate()
        have = {f["FunctionName"] for page in pages for f in page["Functions"]}
        create = partial(
            lam.create_function,
            Runtime="python3.12",
            Role=f"arn:aws:iam::{self.account}:role/{LAMBDA_ROLE}",
            Handler="index.handler",
            Code={"ZipFile": code_zip()},
        )
        return [
            Job(("bulk", "functions"), f"function {name}", partial(create, FunctionName=name))
            for name in map(_bulk_function, range(self.bulk.functions))
            if name not in have
        ]


def apply_scenario(scenario: Scenario, sandbox: ProvisionTarget) -> None:
    """Set the scenario's applied quotas and create its resources in the running sandbox."""
    _Provisioner(scenario, sandbox).run()
