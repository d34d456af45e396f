"""The TAP pipeline as one Pulumi component, built from a `Deployment` and nothing else.

What the plan has is created, what it does not have is not: no endpoint the plan dropped, no
`vpc_config` on a function the plan keeps out of the VPC, exactly the role policies the plan lists,
reserved concurrency only when the plan reserves some, and each alarm created once, with its SNS action.
Physical names are the plan's (they carry the environment suffix); every taggable resource carries
the stack's tags (tap:project / tap:environment, what `check` recognises) plus Name.
"""

from __future__ import annotations

import os
from pathlib import Path

import pulumi
import pulumi_aws as aws

from preflight import privatelink
from preflight.errors import InputError
from preflight.model import CurrentStack, Deployment, FunctionPlan, Rule
from preflight.program import names
from preflight.project import project_root, source_problem
from preflight.redeploy import reservation_steps


class Pipeline(pulumi.ComponentResource):
    """Every resource of one TAP pipeline deployment, as children of one component."""

    def __init__(
        self,
        deployment: Deployment,
        *,
        base_dir: Path,
        opts: pulumi.ResourceOptions | None = None,
        current: CurrentStack | None = None,
    ) -> None:
        check_deployment(deployment, base_dir)
        super().__init__(names.PIPELINE, names.component_name(deployment), None, opts)
        self.deployment = d = deployment
        self.current = current or CurrentStack()
        self._child = pulumi.ResourceOptions(parent=self)

        self._network(d)
        self._security_groups(d)
        self._endpoints(d)
        self._role(d)
        self._data(d)
        self._functions(d, base_dir)
        self._alarms(d)

        self.register_outputs(
            {
                "vpcId": self.vpc.id if self.vpc else None,
                "functionArns": {f.key: fn.arn for f, fn in zip(d.functions, self.functions, strict=True)},
                "streamArns": {s.key: self.streams[s.name].arn for s in d.streams},
                "tableNames": {t.key: self.tables[t.name].name for t in d.tables},
                "bucketNames": {b.key: self.buckets[b.name].bucket for b in d.buckets},
                "topicArns": {t.key: self.topics[t.name].arn for t in d.topics},
            }
        )

    def _tags(self, name: str) -> dict[str, str]:
        return names.stack_tags(self.deployment, name)

    # --- network --------------------------------------------------------------------------------

    def _network(self, d: Deployment) -> None:
        self.vpc: aws.ec2.Vpc | None = None
        self.subnets: dict[str, aws.ec2.Subnet] = {}
        self.private_subnet_ids: list[pulumi.Output[str]] = []
        self.internet_gateway: aws.ec2.InternetGateway | None = None
        self.nat_gateways: dict[str, aws.ec2.NatGateway] = {}
        self.private_route_tables: list[aws.ec2.RouteTable] = []
        if not d.vpc.created:
            return  # the plan leaves the VPC out: nothing runs in it (check_deployment made sure)
        self.vpc = aws.ec2.Vpc(
            d.vpc.name,
            cidr_block=d.vpc.cidr,
            # Interface endpoints with private DNS need both.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=self._tags(d.vpc.name),
            opts=self._child,
        )
        vpc_id = self.vpc.id
        self.subnets = {
            s.name: aws.ec2.Subnet(
                s.name,
                vpc_id=vpc_id,
                cidr_block=s.cidr,
                availability_zone=s.az,
                tags=self._tags(s.name),
                opts=self._child,
            )
            for s in d.vpc.subnets
        }
        self.private_subnet_ids = [self.subnets[s.name].id for s in names.private_subnets(d)]

        if d.vpc.internet_gateway:
            igw_name = names.internet_gateway_name(d)
            self.internet_gateway = aws.ec2.InternetGateway(
                igw_name, vpc_id=vpc_id, tags=self._tags(igw_name), opts=self._child
            )

        public = names.public_subnets(d)
        if public:
            rt_name = names.public_route_table_name(d)
            routes = (
                [aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=self.internet_gateway.id)]
                if self.internet_gateway
                else []
            )
            public_rt = aws.ec2.RouteTable(
                rt_name, vpc_id=vpc_id, routes=routes, tags=self._tags(rt_name), opts=self._child
            )
            for s in public:
                aws.ec2.RouteTableAssociation(
                    names.association_name(s),
                    subnet_id=self.subnets[s.name].id,
                    route_table_id=public_rt.id,
                    opts=self._child,
                )

        # NAT gateways (and their EIPs) only where the plan puts them, each in its AZ's public subnet.
        for az in d.vpc.nat_gateway_azs:
            eip_name = names.eip_name(d, az)
            eip = aws.ec2.Eip(eip_name, domain="vpc", tags=self._tags(eip_name), opts=self._child)
            subnet = next(s for s in public if s.az == az)
            nat_name = names.nat_gateway_name(d, az)
            self.nat_gateways[az] = aws.ec2.NatGateway(
                nat_name,
                allocation_id=eip.allocation_id,
                subnet_id=self.subnets[subnet.name].id,
                tags=self._tags(nat_name),
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[self.internet_gateway] if self.internet_gateway else []
                ),
            )

        for az in names.private_route_table_azs(d):
            rt_name = names.private_route_table_name(d, az)
            nat_az = names.nat_for_az(d, az)
            routes = (
                [
                    aws.ec2.RouteTableRouteArgs(
                        cidr_block="0.0.0.0/0", nat_gateway_id=self.nat_gateways[nat_az].id
                    )
                ]
                if nat_az
                else []
            )
            rt = aws.ec2.RouteTable(
                rt_name, vpc_id=vpc_id, routes=routes, tags=self._tags(rt_name), opts=self._child
            )
            self.private_route_tables.append(rt)
            for s in names.private_subnets(d):
                if s.az == az:
                    aws.ec2.RouteTableAssociation(
                        names.association_name(s),
                        subnet_id=self.subnets[s.name].id,
                        route_table_id=rt.id,
                        opts=self._child,
                    )

    def _security_groups(self, d: Deployment) -> None:
        # Inline rules: the group's rules are exactly the plan's (the default allow-all egress goes).
        self.security_groups: dict[str, aws.ec2.SecurityGroup] = {
            sg.name: aws.ec2.SecurityGroup(
                sg.name,
                name=sg.name,
                description=sg.description or sg.name,
                vpc_id=self.vpc.id,
                ingress=[aws.ec2.SecurityGroupIngressArgs(**_rule(r)) for r in sg.ingress],
                egress=[aws.ec2.SecurityGroupEgressArgs(**_rule(r)) for r in sg.egress],
                tags=self._tags(sg.name),
                opts=self._child,
            )
            for sg in d.security_groups
        }

    def _endpoints(self, d: Deployment) -> None:
        self.endpoints: list[aws.ec2.VpcEndpoint] = []
        # Service -> (environment variable, URL) for interface endpoints without private DNS.
        self.endpoint_urls: dict[str, tuple[str, pulumi.Output[str]]] = {}
        for ep in d.endpoints:
            common = {
                "vpc_id": self.vpc.id,
                "service_name": names.service_name(d, ep.service),
                "tags": self._tags(ep.name),
                "opts": self._child,
            }
            if ep.type == "gateway":
                endpoint = aws.ec2.VpcEndpoint(
                    ep.name,
                    vpc_endpoint_type="Gateway",
                    route_table_ids=[rt.id for rt in self.private_route_tables],
                    **common,
                )
            else:
                assert ep.security_group is not None  # check_deployment made sure
                endpoint = aws.ec2.VpcEndpoint(
                    ep.name,
                    vpc_endpoint_type="Interface",
                    private_dns_enabled=ep.private_dns,
                    # S3's private DNS is "inbound only" unless told otherwise, which needs a gateway
                    # endpoint: the plan has none where an interface endpoint stands in for it.
                    dns_options=aws.ec2.VpcEndpointDnsOptionsArgs(
                        private_dns_only_for_inbound_resolver_endpoint=False
                    )
                    if ep.private_dns and ep.service in privatelink.INBOUND_ONLY_BY_DEFAULT
                    else None,
                    subnet_ids=self.private_subnet_ids,
                    security_group_ids=[self.security_groups[ep.security_group].id],
                    **common,
                )
                if ep.url_variable:
                    # No private DNS: the functions get the endpoint's own name (its first DNS entry
                    # is the regional one).
                    self.endpoint_urls[ep.service] = (ep.url_variable, endpoint.dns_entries.apply(_first_url))
            self.endpoints.append(endpoint)

    # --- identity, data, compute ----------------------------------------------------------------

    def _role(self, d: Deployment) -> None:
        self.role = aws.iam.Role(
            d.role.name,
            name=d.role.name,
            assume_role_policy=names.LAMBDA_ASSUME_ROLE_POLICY,
            tags=self._tags(d.role.name),
            opts=self._child,
        )
        # Exactly the plan's policies: the execution policy follows the networking the plan chose.
        self.policy_attachments = [
            aws.iam.RolePolicyAttachment(
                f"{d.role.name}-{arn.rsplit('/', 1)[-1]}",
                role=self.role.name,
                policy_arn=arn,
                opts=self._child,
            )
            for arn in d.role.managed_policies
        ]

    def _data(self, d: Deployment) -> None:
        self.streams = {
            s.name: aws.kinesis.Stream(
                s.name,
                name=s.name,
                shard_count=s.shards,
                retention_period=s.retention_hours,
                tags=self._tags(s.name),
                opts=self._child,
            )
            for s in d.streams
        }
        self.tables = {
            t.name: aws.dynamodb.Table(
                t.name,
                name=t.name,
                hash_key=t.hash_key,
                attributes=[aws.dynamodb.TableAttributeArgs(name=t.hash_key, type="S")],
                billing_mode=t.billing_mode,
                tags=self._tags(t.name),
                opts=self._child,
            )
            for t in d.tables
        }
        self.buckets = {
            b.name: aws.s3.Bucket(b.name, bucket=b.name, tags=self._tags(b.name), opts=self._child)
            for b in d.buckets
        }
        self.topics = {
            t.name: aws.sns.Topic(t.name, name=t.name, tags=self._tags(t.name), opts=self._child)
            for t in d.topics
        }

    def _functions(self, d: Deployment, base_dir: Path) -> None:
        lambda_sg = (
            self.security_groups[d.lambda_security_group]
            if d.lambda_security_group in self.security_groups
            else None
        )
        # A function in the VPC reaches the AWS APIs through the endpoints or a NAT gateway: create
        # it after them, so it never runs without a path (and a rehearsal meets endpoint quotas first).
        network_deps: list[pulumi.Resource] = [*self.endpoints, *self.nat_gateways.values()]
        env = names.data_variables(d)
        # A redeploy lowers reservations before it raises others: PutFunctionConcurrency checks the
        # unreserved floor on every call, and Pulumi would otherwise update the functions in parallel.
        steps = reservation_steps(
            self.current.reservations, {f.name: f.reserved_concurrency for f in d.functions}
        )
        cuts: list[pulumi.Resource] = []
        made: dict[str, aws.lambda_.Function] = {}
        # Which functions each function's update waits for (function names): for reviews and tests.
        self.waits_for: dict[str, tuple[str, ...]] = {
            f.name: steps.cuts if f.name in steps.raises else () for f in d.functions
        }
        for fn in sorted(d.functions, key=lambda f: f.name in steps.raises):  # cuts registered first
            vpc_config = None
            if fn.vpc_attached:
                assert lambda_sg is not None  # check_deployment made sure
                vpc_config = aws.lambda_.FunctionVpcConfigArgs(
                    subnet_ids=self.private_subnet_ids, security_group_ids=[lambda_sg.id]
                )
            # reserved_concurrent_executions stays unset when the plan reserves nothing: 0 would
            # throttle the function completely, and None sends no PutFunctionConcurrency at all.
            reserved = fn.reserved_concurrency
            made[fn.name] = aws.lambda_.Function(
                fn.name,
                name=fn.name,
                runtime=fn.runtime,
                handler=fn.handler,
                role=self.role.arn,
                code=_code(fn, base_dir),
                memory_size=fn.memory_mb,
                timeout=fn.timeout_s,
                reserved_concurrent_executions=reserved,
                vpc_config=vpc_config,
                environment=aws.lambda_.FunctionEnvironmentArgs(variables={**env, **self._urls_for(fn)}),
                tags=self._tags(fn.name),
                # Policies first: creating a VPC-attached function checks the role's ENI permissions.
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[
                        *self.policy_attachments,
                        *(network_deps if fn.vpc_attached else []),
                        *(cuts if fn.name in steps.raises else []),
                    ],
                ),
            )
            if fn.name in steps.cuts:
                cuts.append(made[fn.name])
        self.functions = [made[f.name] for f in d.functions]  # in the plan's order

    def _urls_for(self, fn: FunctionPlan) -> dict[str, pulumi.Output[str]]:
        """The endpoint URLs a VPC-attached function needs (services it uses without private DNS)."""
        if not fn.vpc_attached:
            return {}
        return {var: url for service, (var, url) in self.endpoint_urls.items() if service in fn.uses}

    def _alarms(self, d: Deployment) -> None:
        # Each alarm once, with its action set at creation: never a second MetricAlarm of the same name.
        self.alarms: list[aws.cloudwatch.MetricAlarm] = [
            aws.cloudwatch.MetricAlarm(
                a.name,
                name=a.name,
                namespace=a.namespace,
                metric_name=a.metric,
                dimensions=dict(a.dimensions),
                statistic=a.statistic,
                threshold=a.threshold,
                period=a.period_s,
                evaluation_periods=a.evaluation_periods,
                comparison_operator=a.comparison,
                alarm_actions=[self.topics[a.topic].arn],
                tags=self._tags(a.name),
                opts=self._child,
            )
            for a in d.alarms
        ]


def _first_url(entries: list[object] | None) -> str:
    """`https://` and the first DNS name of an endpoint (`dns_entries` as the provider answers it)."""
    for entry in entries or []:
        name = entry.get("dns_name") if isinstance(entry, dict) else getattr(entry, "dns_name", None)
        if name:
            return f"https://{name}"
    raise ValueError("the interface endpoint has no DNS entry: the functions would have no URL for it")


def _rule(rule: Rule) -> dict[str, object]:
    return {
        "protocol": rule.protocol,
        "from_port": rule.from_port,
        "to_port": rule.to_port,
        "cidr_blocks": [rule.cidr],
    }


def _code(fn: FunctionPlan, base_dir: Path) -> pulumi.AssetArchive:
    """The function's code: its handler source, under the module name its handler names."""
    path = os.path.normpath(base_dir / fn.source)
    return pulumi.AssetArchive({names.archive_member(fn): pulumi.FileAsset(path)})


def check_deployment(d: Deployment, base_dir: Path) -> None:
    """Refuse a deployment the program cannot build faithfully, before registering anything."""
    sg_names = {sg.name for sg in d.security_groups}
    problems: list[str] = []
    for ep in d.endpoints:
        if ep.type == "interface" and ep.security_group not in sg_names:
            problems.append(f"endpoint {ep.name}: security group {ep.security_group!r} is not in the plan")
        if ep.type == "interface" and ep.private_dns == bool(ep.url_variable):
            problems.append(
                f"endpoint {ep.name}: without private DNS the functions need its URL, and only then"
            )
    if d.vpc_attached and d.lambda_security_group not in sg_names:
        problems.append(
            f"functions are VPC-attached but the Lambda security group {d.lambda_security_group!r} "
            "is not in the plan"
        )
    if not d.vpc.created and (d.vpc_attached or d.endpoints or d.security_groups or d.vpc.subnets):
        problems.append("the plan leaves the VPC out but puts functions, endpoints, groups or subnets in it")
    public_azs = {s.az for s in names.public_subnets(d)}
    for az in d.vpc.nat_gateway_azs:
        if az not in public_azs:
            problems.append(f"NAT gateway in {az}: no public subnet there")
        elif not d.vpc.internet_gateway:
            problems.append(f"NAT gateway in {az}: the VPC has no internet gateway")
    for fn in d.functions:
        if fn.reserved_concurrency is not None and fn.reserved_concurrency < 1:
            problems.append(
                f"function {fn.name}: reserved concurrency {fn.reserved_concurrency} would throttle it "
                "completely (no reservation is null, not 0)"
            )
        # Sources stay inside the project: no absolute path, no `..` or symlink out (never /etc/passwd).
        problem = source_problem(project_root(base_dir), base_dir, fn.source)
        if problem:
            problems.append(f"function {fn.name}: {problem}")
    if problems:
        raise InputError("the plan cannot be deployed as it stands: " + "; ".join(problems))
