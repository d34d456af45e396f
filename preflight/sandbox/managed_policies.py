"""The AWS managed policies the pipeline's role attaches, kept by the layer in the sandbox's account.

Every real account has AWS's managed policies; moto loads all 1,500 of them into each account's IAM
(its documented `iam: load_aws_managed_policies` setting: +88 ms and +14 MiB peak per account, over
the 150 MiB budget of `check --sandbox seed-account`) or none. The sandbox needs two. The layer makes
each as a customer managed policy of the account through IAM's API (same name, path, document and
default version: the stand-in) and speaks of it as AWS's: requests naming the AWS ARN reach moto
naming the stand-in (`iam_request`), answers naming the stand-in leave naming the AWS ARN, with AWS's
dates, in AWS's scope of ListPolicies and out of the account's own policy counts (`iam_answer`).
Attaching, listing, detaching, counting attachments and the DeleteConflict of an attached role are
moto's own. Other accounts of the sandbox have neither (as before).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from preflight.sandbox import motoserver
from preflight.sandbox.protocol import Call, Response
from preflight.sandbox.state import ACCOUNT_ID, SandboxState, acting_as, current_account


@dataclass(frozen=True)
class AwsPolicy:
    name: str
    default_version: str  # v1, v3...: the stand-in's versions are made up to it
    created: str  # CreateDate, as IAM writes it
    updated: str  # UpdateDate; the default version's CreateDate too
    document: dict[str, Any]
    path: str = "/service-role/"

    @property
    def aws_arn(self) -> str:
        return f"arn:aws:iam::aws:policy{self.path}{self.name}"

    @property
    def stand_in_arn(self) -> str:
        return f"arn:aws:iam::{ACCOUNT_ID}:policy{self.path}{self.name}"


_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
_ENIS = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]
# AWS's documents, versions and dates (the IAM console's and `aws iam get-policy-version`'s).
POLICIES = (
    AwsPolicy(
        "AWSLambdaBasicExecutionRole",
        "v1",
        "2015-04-09T15:03:43Z",
        "2015-04-09T15:03:43Z",
        {"Statement": [{"Action": _LOGS, "Effect": "Allow", "Resource": "*"}], "Version": "2012-10-17"},
    ),
    AwsPolicy(
        "AWSLambdaVPCAccessExecutionRole",
        "v3",
        "2016-02-11T23:15:26Z",
        "2024-01-05T22:38:26Z",
        {
            "Statement": [
                {
                    "Action": _LOGS + _ENIS,
                    "Effect": "Allow",
                    "Resource": "*",
                    "Sid": "AWSLambdaVPCAccessExecutionPermissions",
                }
            ],
            "Version": "2012-10-17",
        },
    ),
)
BY_AWS_ARN = {p.aws_arn: p for p in POLICIES}
BY_STAND_IN = {p.stand_in_arn: p for p in POLICIES}


def install(state: SandboxState) -> None:
    """The stand-ins in the sandbox's account, each at AWS's default version (a fresh account)."""
    with acting_as(ACCOUNT_ID):
        iam = motoserver.client("iam", "us-east-1")
        for policy in POLICIES:
            document = json.dumps(policy.document)
            iam.create_policy(PolicyName=policy.name, Path=policy.path, PolicyDocument=document)
            last = int(policy.default_version.removeprefix("v"))
            for _ in range(1, last):
                iam.create_policy_version(
                    PolicyArn=policy.stand_in_arn, PolicyDocument=document, SetAsDefault=True
                )
            for number in range(1, last):
                iam.delete_policy_version(PolicyArn=policy.stand_in_arn, VersionId=f"v{number}")
            state.aws_policies.add(policy.name)


def _ours() -> bool:
    return current_account() == ACCOUNT_ID


def iam_request(call: Call) -> dict[str, str] | None:
    """The request as moto is to see it: the stand-ins' ARNs for AWS's, AWS's ListPolicies scope
    as the account's own (the stand-ins are); None when nothing changes."""
    if not _ours():
        return None
    params = call.params
    changed = {k: BY_AWS_ARN[v].stand_in_arn if v in BY_AWS_ARN else v for k, v in params.items()}
    if call.operation == "ListPolicies" and params.get("Scope") == "AWS":
        changed["Scope"] = "Local"
    return None if changed == params else changed


# --- answers -------------------------------------------------------------------------------------------

_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
_NS = f"{{{_NAMESPACE}}}"


def iam_answer(state: SandboxState, call: Call, answer: Response) -> Response:
    """moto's answer as AWS gives it: AWS's ARNs, dates and scope for the two policies."""
    if not _ours():
        return answer
    asked = call.original_params or call.params
    if call.operation == "DeletePolicy" and asked.get("PolicyArn") in BY_AWS_ARN and answer.status < 300:
        state.aws_policies.discard(BY_AWS_ARN[asked["PolicyArn"]].name)
    if call.operation == "GetAccountSummary":
        return _summary_without_stand_ins(state, answer)
    text = answer.body.decode("utf-8", "replace")
    named = [p for p in POLICIES if p.stand_in_arn in text]
    versions_of = BY_AWS_ARN.get(asked.get("PolicyArn", ""))
    if not named and versions_of is None:
        return answer
    for policy in named:
        text = text.replace(policy.stand_in_arn, policy.aws_arn)
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return Response(answer.status, _without_length(answer), text.encode())
    _set_dates(root)
    if versions_of is not None and call.operation in ("GetPolicyVersion", "ListPolicyVersions"):
        for version in root.iter(f"{_NS}CreateDate"):
            version.text = versions_of.updated
    _keep_scope(root, call.operation, asked)
    ET.register_namespace("", _NAMESPACE)
    return Response(answer.status, _without_length(answer), ET.tostring(root, encoding="unicode").encode())


def _without_length(answer: Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in answer.headers if k.lower() != "content-length"]


def _set_dates(root: ET.Element) -> None:
    """Each description of one of the two policies gets AWS's dates (and its versions, their date)."""
    for node in root.iter():
        policy = BY_AWS_ARN.get(node.findtext(f"{_NS}Arn") or "")
        if policy is None:
            continue
        for name, value in (("CreateDate", policy.created), ("UpdateDate", policy.updated)):
            field = node.find(f"{_NS}{name}")
            if field is not None:
                field.text = value
        for listed in node.iter(f"{_NS}PolicyVersionList"):
            for date in listed.iter(f"{_NS}CreateDate"):
                date.text = policy.updated


def _keep_scope(root: ET.Element, operation: str, asked: dict[str, str]) -> None:
    """ListPolicies: AWS's scope lists the two, Local the account's own; the authorization
    details list no AWS managed policy (as moto's did)."""
    if operation == "ListPolicies":
        scope = asked.get("Scope", "All")
        keep_aws, keep_local = scope in ("All", "AWS"), scope in ("All", "Local")
    elif operation == "GetAccountAuthorizationDetails":
        keep_aws, keep_local = False, True
    else:
        return
    for holder in root.iter(f"{_NS}Policies"):
        for member in list(holder):
            aws = (member.findtext(f"{_NS}Arn") or "") in BY_AWS_ARN
            if (aws and not keep_aws) or (not aws and not keep_local):
                holder.remove(member)


def _summary_without_stand_ins(state: SandboxState, answer: Response) -> Response:
    """The account's own managed policies, without the stand-ins moto counts among them."""
    body = answer.body.decode()
    found = re.search(r"(<key>Policies</key>\s*<value>)(\d+)(</value>)", body)
    if found is None or not state.aws_policies:
        return answer
    own = max(0, int(found.group(2)) - len(state.aws_policies))
    body = body[: found.start(2)] + str(own) + body[found.end(2) :]
    return Response(answer.status, _without_length(answer), body.encode())
