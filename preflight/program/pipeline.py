"""The TAP pipeline as one Pulumi component, built from a `Deployment` and nothing else: each resource
kind's `register` (`preflight/kinds/`) makes its resources, in the registry's order.

What the plan has is created, what it does not have is not: no endpoint the plan dropped, no
`vpc_config` on a function the plan keeps out of the VPC, exactly the role policies the plan lists,
reserved concurrency only when the plan reserves some, and each alarm created once, with its SNS action.
Physical names are the plan's (they carry the environment suffix); every taggable resource carries
the stack's tags (tap:project / tap:environment, what `check` recognises) plus Name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from preflight import kinds
from preflight.deployment import CurrentStack, Deployment
from preflight.kinds.vpc import public_subnets
from preflight.program import names
from preflight.support.errors import InputError
from preflight.support.project import project_root, source_problem


class Pipeline(pulumi.ComponentResource):
    """Every resource of one TAP pipeline deployment, as children of one component.

    Each resource kind registers its own resources (`register` in `preflight/kinds/<kind>.py`), in the
    registry's order; what a kind made is in `made` for the kinds after it (the VPC for the groups, the
    role for the functions, the topics for the alarms).
    """

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
        self.aws = aws
        self.pulumi = pulumi
        self.child = pulumi.ResourceOptions(parent=self)
        self.made: dict[str, Any] = {
            # Orders the changes only (cuts before raises); the values come from the deployment.
            "current_reservations": (current or CurrentStack()).reservations,
            "sources": {f.name: os.path.normpath(base_dir / f.source) for f in d.functions},
        }
        for kind in kinds.KINDS:
            kind.register(self, d)
        self.register_outputs(self._outputs(d))

    def tags(self, name: str) -> dict[str, str]:
        return names.stack_tags(self.deployment, name)

    def options(self, depends_on: list[Any]) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=depends_on)

    @property
    def vpc(self) -> Any:
        return self.made["vpc"]

    @property
    def functions(self) -> list[Any]:
        return self.made["functions"]

    @property
    def waits_for(self) -> dict[str, tuple[str, ...]]:
        """Which functions each function's update waits for (function names): for reviews and tests."""
        return self.made["waits_for"]

    def _outputs(self, d: Deployment) -> dict[str, Any]:
        made = self.made
        return {
            "vpcId": made["vpc"].id if made["vpc"] else None,
            "functionArns": {f.key: fn.arn for f, fn in zip(d.functions, made["functions"], strict=True)},
            "streamArns": {s.key: made["streams"][s.name].arn for s in d.streams},
            "tableNames": {t.key: made["tables"][t.name].name for t in d.tables},
            "bucketNames": {b.key: made["buckets"][b.name].bucket for b in d.buckets},
            "topicArns": {t.key: made["topics"][t.name].arn for t in d.topics},
        }


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
    public_azs = {s.az for s in public_subnets(d.vpc)}
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
