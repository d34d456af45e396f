"""Quota rules the emulated account applies on create, with AWS's error codes: ENIs per Region,
subnets per VPC, security groups and their rules, SNS topics, IAM roles and policies per role."""

from __future__ import annotations

import json

from preflight.sandbox import Sandbox

from .helpers import code_of, error_of, status_of

ASSUME = json.dumps({"Version": "2012-10-17", "Statement": []})


def test_network_interfaces_per_region_count_endpoint_interfaces(fresh: Sandbox) -> None:
    fresh.set_applied_quota("vpc", "L-DF5E4CA3", 3)
    ec2 = fresh.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    ec2.create_network_interface(SubnetId=subnets[0])
    ec2.create_network_interface(SubnetId=subnets[1])

    def endpoint() -> object:
        return ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName="com.amazonaws.us-east-1.sqs",
            VpcEndpointType="Interface",
            SubnetIds=subnets,
        )

    err = error_of(endpoint)  # 2 ENIs + one per subnet of the endpoint = 4 > 3
    assert (code_of(err), status_of(err)) == ("NetworkInterfaceLimitExceeded", 400)
    ec2.create_network_interface(SubnetId=subnets[0])  # the third fits exactly
    assert code_of(error_of(lambda: ec2.create_network_interface(SubnetId=subnets[1]))) == (
        "NetworkInterfaceLimitExceeded"
    )


def test_subnets_groups_and_rules(fresh: Sandbox) -> None:
    fresh.set_applied_quota("vpc", "L-407747CB", 1)
    fresh.set_applied_quota("vpc", "L-0EA8095F", 2)
    ec2 = fresh.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    ec2.create_subnet(VpcId=vpc, CidrBlock="10.2.1.0/24")
    err = error_of(lambda: ec2.create_subnet(VpcId=vpc, CidrBlock="10.2.2.0/24"))
    assert code_of(err) == "SubnetLimitExceeded"
    group = ec2.create_security_group(GroupName="g", Description="g", VpcId=vpc)["GroupId"]

    def allow(*cidrs: str) -> None:
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "IpRanges": [{"CidrIp": c} for c in cidrs],
                }
            ],
        )

    allow("10.0.0.0/8")
    assert code_of(error_of(lambda: allow("172.16.0.0/12", "192.168.0.0/16"))) == (
        "RulesPerSecurityGroupLimitExceeded"
    )
    allow("172.16.0.0/12")  # exactly the limit still fits
    groups = len(ec2.describe_security_groups(MaxResults=1000)["SecurityGroups"])
    fresh.set_applied_quota("vpc", "L-E79EC296", groups)
    err = error_of(lambda: ec2.create_security_group(GroupName="h", Description="h", VpcId=vpc))
    assert code_of(err) == "SecurityGroupLimitExceeded"


def test_sns_topics_per_account(fresh: Sandbox) -> None:
    fresh.set_applied_quota("sns", "L-61103206", 1)
    sns = fresh.client("sns")
    sns.create_topic(Name="a")
    sns.create_topic(Name="a")  # the same name again is idempotent, not a second topic
    err = error_of(lambda: sns.create_topic(Name="b"))
    assert (code_of(err), status_of(err)) == ("TopicLimitExceeded", 403)


def test_iam_roles_and_policies_per_role(fresh: Sandbox) -> None:
    iam = fresh.client("iam")
    roles = len(iam.list_roles()["Roles"])
    fresh.set_applied_quota("iam", "L-FE177D64", roles + 1)
    fresh.set_applied_quota("iam", "L-0DA4ABF3", 1)
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=ASSUME)
    err = error_of(lambda: iam.create_role(RoleName="s", AssumeRolePolicyDocument=ASSUME))
    assert (code_of(err), status_of(err)) == ("LimitExceeded", 409)
    assert "RolesPerAccount" in err.response["Error"]["Message"]
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    arns = [iam.create_policy(PolicyName=f"p{i}", PolicyDocument=document)["Policy"]["Arn"] for i in (1, 2)]
    iam.attach_role_policy(RoleName="r", PolicyArn=arns[0])
    err = error_of(lambda: iam.attach_role_policy(RoleName="r", PolicyArn=arns[1]))
    assert code_of(err) == "LimitExceeded" and "PoliciesPerRole: 1" in err.response["Error"]["Message"]


def test_vpc_functions_get_shared_enis_within_the_lambda_eni_quota(fresh: Sandbox) -> None:
    import io
    import zipfile

    from .helpers import raw_client

    fresh.set_applied_quota("lambda", "L-9FEE3D26", 3)
    ec2 = fresh.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.3.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    groups = [ec2.create_security_group(GroupName=n, Description=n, VpcId=vpc)["GroupId"] for n in ("a", "b")]
    role = fresh.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=ASSUME)["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("index.py", "def handler(e, c):\n    return 1\n")
    lam = raw_client(fresh, "lambda")

    def vpc_of(group: str) -> dict[str, list[str]]:
        return {"SubnetIds": subnets, "SecurityGroupIds": [group]}

    def create(name: str, group: str) -> object:
        return lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler",
            Code={"ZipFile": buffer.getvalue()}, VpcConfig=vpc_of(group),
        )  # fmt: skip

    def lambda_enis() -> int:
        found = ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [vpc]}], MaxResults=100)
        return sum(1 for e in found["NetworkInterfaces"] if e["InterfaceType"] == "lambda")

    create("one", groups[0])
    assert lambda_enis() == 2  # one per subnet
    create("two", groups[0])
    assert lambda_enis() == 2  # the same subnets and group: shared
    err = error_of(lambda: create("three", groups[1]))
    assert (code_of(err), status_of(err)) == ("ENILimitReachedException", 502)
    # A redeploy that moves a function onto other groups needs their ENIs too, within the same quota.
    err = error_of(lambda: lam.update_function_configuration(FunctionName="two", VpcConfig=vpc_of(groups[1])))
    assert (code_of(err), status_of(err)) == ("ENILimitReachedException", 502)
    fresh.set_applied_quota("lambda", "L-9FEE3D26", 4)
    lam.update_function_configuration(FunctionName="two", VpcConfig=vpc_of(groups[1]))
    assert lambda_enis() == 4
