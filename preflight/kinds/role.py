"""The functions' IAM role: one against the account's role quota; its policies against the per-role quota.

Its execution policy follows the Lambda networking (the VPC access policy only when a function is
attached); the manifest's extra managed policies come on top.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from pydantic import Field

from preflight.kinds.base import (
    AWS_DOCS,
    LOGICAL,
    NOT_FOUND,
    Account,
    Checker,
    Created,
    Expected,
    Found,
    Frozen,
    Inventory,
    Name,
    NameCheck,
    Named,
    Needs,
    Part,
    Physical,
    Program,
    Read,
    Strict,
    error_code_is,
    tag_dict,
    tag_list,
)
from preflight.quotas.catalog import IAM_ROLES, MANAGED_POLICIES_PER_ROLE, home_region

ROLE = "aws:iam/role:Role"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
LABELS = {ROLE: "IAM role", ROLE_POLICY_ATTACHMENT: "role policy attachment"}
BASIC_EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
VPC_ACCESS_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
LAMBDA_ASSUME_ROLE_POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", '
    '"Principal": {"Service": "lambda.amazonaws.com"}}]}'
)
GLOBAL_REGION = "us-east-1"  # IAM answers there
NAME_CHECK = NameCheck(
    "role",
    "TAP-C001",
    "IAM role",
    "EntityAlreadyExists",
    (ROLE,),
    title="IAM role name taken",
    help="CreateRole fails with EntityAlreadyExists.",
    help_uri=f"{AWS_DOCS}/IAM/latest/APIReference/API_CreateRole.html",
)


class RoleSpec(Strict):
    """The functions' execution role."""

    name: Name = Field("lambda", description=LOGICAL)
    # The execution policy (basic or VPC access) follows the Lambda networking; these come on top.
    extra_managed_policies: list[str] = Field(
        default_factory=list,
        alias="extraManagedPolicies",
        max_length=20,
        description="Managed policy ARNs attached on top of the execution policy (which follows networking).",
        examples=[["arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"]],
    )


class RolePlan(Frozen):
    path: str = "role"
    name: str
    managed_policies: tuple[str, ...]


class Uses(Protocol):
    @property
    def role(self) -> RolePlan: ...


def plan(spec: RoleSpec, physical: Physical, *, attached: bool) -> RolePlan:
    """The role with the execution policy `attached` (VPC-attached functions) calls for."""
    return RolePlan(
        name=physical(spec.name), managed_policies=managed_policies(attached, spec.extra_managed_policies)
    )


def managed_policies(attached: bool, extra: Iterable[str]) -> tuple[str, ...]:
    """The execution policy that follows the networking (VPC access only when a function is attached),
    and the manifest's extras on top."""
    return (VPC_ACCESS_POLICY if attached else BASIC_EXECUTION_POLICY, *extra)


PART = Part(
    manifest={
        "role": (RoleSpec, Field(default_factory=RoleSpec, description="The IAM role the functions run as."))
    },
    deployment={"role": RolePlan},
    resolve=lambda doc, r: {"role": plan(doc.role, r.physical, attached=r.mode != "no-vpc")},
)


def needs(d: Uses) -> Needs:
    yield IAM_ROLES, "global", 1, d.role.path
    yield (
        MANAGED_POLICIES_PER_ROLE,
        f"role:{d.role.name}",
        len(d.role.managed_policies),
        f"{d.role.path}.extraManagedPolicies",
    )


def own_reads(a: Account, d: Uses) -> list[Read]:
    return [("iam", "the stack's role", lambda: own_role(a, d))]


def own_role(a: Account, d: Uses) -> bool | None:
    """Whether the stack's role exists and carries its tags (None: no role of that name)."""
    role = a.role(d.role.name)
    return None if role is None else a.owns(role.get("Tags"))


def own_policies(d: Uses) -> frozenset[str]:
    """The managed policies the stack attaches to its role, whichever execution policy the networking
    chooses: any other policy found attached was attached outside the stack and stays."""
    return frozenset({BASIC_EXECUTION_POLICY, VPC_ACCESS_POLICY, *d.role.managed_policies})


def register(p: Program, d: Uses) -> None:
    role = p.aws.iam.Role(
        d.role.name,
        name=d.role.name,
        assume_role_policy=LAMBDA_ASSUME_ROLE_POLICY,
        tags=p.tags(d.role.name),
        opts=p.child,
    )
    p.made["role"] = role
    # Exactly the plan's policies: the execution policy follows the networking the plan chose.
    p.made["policy_attachments"] = [
        p.aws.iam.RolePolicyAttachment(
            f"{d.role.name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=p.child
        )
        for arn in d.role.managed_policies
    ]


def expected(d: Uses) -> Expected:
    return {
        ROLE: [d.role.name],
        ROLE_POLICY_ATTACHMENT: [f"{d.role.name} {arn}" for arn in d.role.managed_policies],
    }


def verify(d: Uses, inv: Inventory, check: Checker) -> None:
    """The role's trust, and where its policies are attached."""
    role = inv.one(ROLE, d.role.name)
    if role:
        check.eq(
            f"role {d.role.name}",
            "assumeRolePolicy principal",
            principal(role["inputs"].get("assumeRolePolicy")),
            "lambda.amazonaws.com",
        )
    for r in inv.records:
        if r["type"] == ROLE_POLICY_ATTACHMENT and r["inputs"].get("role") != d.role.name:
            check.add(f"role policy attachment {r['name']} is on role {r['inputs'].get('role')!r}")


def attached_policies(d: Uses, inv: Inventory) -> set[Any]:
    """The policy ARNs the program attaches to the role."""
    return {
        r["inputs"].get("policyArn")
        for r in inv.records
        if r["type"] == ROLE_POLICY_ATTACHMENT and r["inputs"].get("role") == d.role.name
    }


def principal(policy: Any) -> Any:
    try:
        doc = json.loads(policy) if isinstance(policy, str) else policy
        return doc["Statement"][0]["Principal"]["Service"]
    except (TypeError, ValueError, KeyError, IndexError):
        return None


def create_role(c: Any, i: dict[str, Any]) -> Created:
    role = c("iam", GLOBAL_REGION).create_role(
        RoleName=i["name"], AssumeRolePolicyDocument=i["assumeRolePolicy"], Tags=tag_list(i)
    )["Role"]
    return role["RoleName"], {"arn": role["Arn"], "name": role["RoleName"]}


def create_attachment(c: Any, i: dict[str, Any]) -> Created:
    c("iam", GLOBAL_REGION).attach_role_policy(RoleName=i["role"], PolicyArn=i["policyArn"])
    return f"{i['role']}-{i['policyArn'].rsplit('/', 1)[-1]}", {}


CREATORS = {ROLE: create_role, ROLE_POLICY_ATTACHMENT: create_attachment}
UPDATERS: dict[str, Any] = {}


def named(d: Uses) -> Named:
    return [(d.role.name, d.role.path)]


def find(aws: Any, reads: Account, name: str) -> Found:
    """Whether the role exists and whose it is: ListRoleTags answers both (NoSuchEntity), and GetRole is
    the quota counters' read already."""
    from preflight.account.aws import AwsCallError, paginate

    # IAM is global to a partition: read in its home region (GovCloud's and China's IAM are not us-east-1's).
    iam = aws.client("iam", home_region(aws.region))
    try:
        tags = paginate(iam, "ListRoleTags", "Tags", RoleName=name)
    except AwsCallError as exc:
        if error_code_is(exc, "NoSuchEntity"):
            return NOT_FOUND
        raise
    return Found(exists=True, tags=tag_dict(tags))
