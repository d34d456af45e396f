"""A security group of the stack's VPC, with its rules inline: one against the region's group quota, its
ingress and egress rules each against the per-group rule quota."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import Field, field_validator

from preflight.kinds.base import (
    LOGICAL,
    Account,
    Checker,
    Created,
    Expected,
    Frozen,
    Inventory,
    Name,
    Needs,
    Part,
    Physical,
    Program,
    StepFailed,
    Strict,
    tag_spec,
)
from preflight.kinds.vpc import VPC, VpcPlan
from preflight.quotas.catalog import RULES_PER_SECURITY_GROUP, SECURITY_GROUPS
from preflight.support.bounds import Port

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
LABELS = {SECURITY_GROUP: "security group"}
# Its names are tags, or unique only inside the stack's own new VPC: no name of it can be taken.
NAME_CHECK = None


class RuleSpec(Strict):
    """One security group rule."""

    protocol: str = Field(
        "tcp", description="IP protocol: tcp, udp, icmp or -1 (all).", examples=["tcp", "-1"]
    )
    from_port: Port = Field(
        0,
        alias="fromPort",
        ge=-1,
        le=65535,
        description="First port of the range (-1 or 0 with protocol -1: all ports).",
        examples=[443],
    )
    to_port: Port = Field(
        0, alias="toPort", ge=-1, le=65535, description="Last port of the range, inclusive.", examples=[443]
    )
    cidr: str = Field(
        "0.0.0.0/0", description="IPv4 or IPv6 range the rule allows.", examples=["10.0.0.0/16"]
    )

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        ipaddress.ip_network(value, strict=False)
        return value


class SecurityGroupSpec(Strict):
    """A security group of the stack's VPC."""

    name: Name = Field(description=LOGICAL, examples=["lambda"])
    description: str = Field(
        "", description="The group's description in AWS (default: derived from its name)."
    )
    ingress: list[RuleSpec] = Field(
        default_factory=list, max_length=1000, description="Inbound rules (none: nothing may connect in)."
    )
    egress: list[RuleSpec] = Field(default_factory=list, max_length=1000, description="Outbound rules.")


class Rule(Frozen):
    protocol: str = "tcp"
    from_port: Port = 0
    to_port: Port = 0
    cidr: str = "0.0.0.0/0"


class SecurityGroupPlan(Frozen):
    path: str
    key: str
    name: str
    description: str = ""
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()


class Uses(Protocol):
    @property
    def vpc(self) -> VpcPlan: ...

    @property
    def security_groups(self) -> tuple[SecurityGroupPlan, ...]: ...


def plans(
    specs: Sequence[SecurityGroupSpec], physical: Physical, default_description: str
) -> tuple[SecurityGroupPlan, ...]:
    """Every group of the manifest (`prune` keeps those a deployment uses); a group without a
    description gets `<name> (<default_description>)`."""
    return tuple(
        SecurityGroupPlan(
            path=f"securityGroups[{i}]",
            key=sg.name,
            name=physical(sg.name),
            description=sg.description or f"{sg.name} ({default_description})",
            ingress=_rules(sg.ingress),
            egress=_rules(sg.egress),
        )
        for i, sg in enumerate(specs)
    )


def _rules(rules: list[RuleSpec]) -> tuple[Rule, ...]:
    return tuple(
        Rule(protocol=r.protocol, from_port=r.from_port, to_port=r.to_port, cidr=r.cidr) for r in rules
    )


def group_needs(sg: SecurityGroupPlan) -> Needs:
    yield SECURITY_GROUPS, "region", 1, sg.path
    yield RULES_PER_SECURITY_GROUP, f"sg:{sg.name}:ingress", len(sg.ingress), f"{sg.path}.ingress"
    yield RULES_PER_SECURITY_GROUP, f"sg:{sg.name}:egress", len(sg.egress), f"{sg.path}.egress"


PART = Part(
    manifest={
        "security_groups": (
            list[SecurityGroupSpec],
            Field(
                default_factory=list,
                alias="securityGroups",
                description="Security groups of the VPC, by name.",
            ),
        )
    },
    deployment={"security_groups": tuple[SecurityGroupPlan, ...]},
    resolve=lambda doc, r: {"security_groups": plans(doc.security_groups, r.physical, r.stack)},
)


def needs(d: Uses) -> Needs:
    for sg in d.security_groups:
        yield from group_needs(sg)


# --- the stack's own in an account ---------------------------------------------------------------

# (group name, "ingress" | "egress", protocol, from port, to port, CIDR or referenced group)
RuleKey = tuple[str, str, str, int, int, str]


def own_groups(a: Account) -> dict[str, str]:
    """The stack's groups in the account (those with its tags): group id -> group name."""
    return {
        g["GroupId"]: g["GroupName"]
        for g in a.ec2("DescribeSecurityGroups", "SecurityGroups")
        if a.owns(g.get("Tags"))
    }


def is_own(a: Account, group: dict[str, Any], own_vpc_id: str | None) -> bool:
    """A group with the stack's tags, or the default group of the stack's VPC (it comes with the VPC,
    whose demand counts it again). Any other group is someone else's, in the stack's VPC or not."""
    default_of_own_vpc = group.get("VpcId") == own_vpc_id and group.get("GroupName") == "default"
    return a.owns(group.get("Tags")) or default_of_own_vpc


def own_rules(d: Uses) -> frozenset[RuleKey]:
    """Every rule the stack defines on its groups: a rule found on them that is not one of these was
    added outside the stack, stays after a deploy, and counts toward the per-group quota."""
    return frozenset(
        rule_key(sg.name, direction, r.protocol, r.from_port, r.to_port, r.cidr)
        for sg in d.security_groups
        for direction, rules in (("ingress", sg.ingress), ("egress", sg.egress))
        for r in rules
    )


def found_rule_key(group: str, rule: dict[str, Any]) -> RuleKey:
    """The key of a rule as DescribeSecurityGroupRules answers it, on the group named `group`."""
    direction = "egress" if rule.get("IsEgress") else "ingress"
    cidr = rule.get("CidrIpv4") or rule.get("CidrIpv6") or rule.get("ReferencedGroupInfo", {}).get("GroupId")
    return rule_key(
        group, direction, rule.get("IpProtocol", ""), rule.get("FromPort"), rule.get("ToPort"), cidr
    )


def rule_key(
    group: str, direction: str, protocol: str, from_port: int | None, to_port: int | None, cidr: str | None
) -> RuleKey:
    # "-1" (all traffic) has no ports: AWS answers -1/-1 where the manifest may say 0/0.
    protocol = str(protocol).lower()
    if protocol in ("-1", "all"):
        return group, direction, "-1", -1, -1, cidr or ""
    return group, direction, protocol, int(from_port or 0), int(to_port or 0), cidr or ""


# --- the program ------------------------------------------------------------------------------------


def register(p: Program, d: Uses) -> None:
    # Inline rules: the group's rules are exactly the plan's (the default allow-all egress goes).
    ec2 = p.aws.ec2
    p.made["security_groups"] = {
        sg.name: ec2.SecurityGroup(
            sg.name,
            name=sg.name,
            description=sg.description or sg.name,
            vpc_id=p.made["vpc"].id,
            ingress=[ec2.SecurityGroupIngressArgs(**_rule(r)) for r in sg.ingress],
            egress=[ec2.SecurityGroupEgressArgs(**_rule(r)) for r in sg.egress],
            tags=p.tags(sg.name),
            opts=p.child,
        )
        for sg in d.security_groups
    }


def _rule(rule: Rule) -> dict[str, object]:
    return {
        "protocol": rule.protocol,
        "from_port": rule.from_port,
        "to_port": rule.to_port,
        "cidr_blocks": [rule.cidr],
    }


def expected(d: Uses) -> Expected:
    return {SECURITY_GROUP: [sg.name for sg in d.security_groups]}


def verify(d: Uses, inv: Inventory, check: Checker) -> None:
    vpc_id = inv.id_of(VPC, d.vpc.name)
    for sg in d.security_groups:
        r = inv.one(SECURITY_GROUP, sg.name)
        if r:
            label = f"security group {sg.name}"
            check.eq(label, "vpcId", r["inputs"].get("vpcId"), vpc_id)
            check.eq(label, "ingress", _recorded_rules(r["inputs"].get("ingress")), _plan_rules(sg.ingress))
            check.eq(label, "egress", _recorded_rules(r["inputs"].get("egress")), _plan_rules(sg.egress))


def _recorded_rules(rules: Any) -> list[tuple[Any, ...]]:
    return sorted(
        (str(r.get("protocol")), r.get("fromPort"), r.get("toPort"), tuple(r.get("cidrBlocks") or ()))
        for r in rules or []
    )


def _plan_rules(rules: tuple[Rule, ...]) -> list[tuple[Any, ...]]:
    return sorted((r.protocol, r.from_port, r.to_port, (r.cidr,)) for r in rules)


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


def create(c: Any, i: dict[str, Any]) -> Created:
    from botocore.exceptions import ClientError

    ec2 = c("ec2")
    group_id = ec2.create_security_group(
        GroupName=i["name"],
        Description=i.get("description") or i["name"],
        VpcId=i["vpcId"],
        TagSpecifications=tag_spec("security-group", i),
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
        raise StepFailed("created, but setting its rules failed", exc) from exc
    return group_id, {"arn": f"arn:aws:ec2:{c.region}::security-group/{group_id}"}


CREATORS = {SECURITY_GROUP: create}
UPDATERS: dict[str, Any] = {}


def named(d: Uses) -> list[tuple[str, str]]:
    return []
