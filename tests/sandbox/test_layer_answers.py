"""What clients see of the behaviours the layer in front of moto keeps itself (issue 12 item 5).

Each behaviour here was once made by reaching into moto's backends; these tests assert, through
boto3 over HTTP, what a client sees, so that they hold whichever side of the layer makes it.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from preflight.sandbox import Sandbox

from .helpers import code_of, error_of, status_of

ASSUME_LAMBDA = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
    '"Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
)


# --- DescribeVpcEndpointServices ---------------------------------------------------------------


def _every_service(ec2: Any, **params: Any) -> list[dict[str, Any]]:
    return [s for page in ec2.get_paginator("describe_vpc_endpoint_services").paginate(**params)
            for s in page["ServiceDetails"]]  # fmt: skip


def _by_name(services: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [s for s in services if s["ServiceName"] == name]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_endpoint_services_are_aws_s_in_every_zone_of_the_region(fresh: Sandbox, region: str) -> None:
    ec2 = fresh.client("ec2", region)
    zones = sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"])
    answer = ec2.describe_vpc_endpoint_services()
    services = answer["ServiceDetails"]
    assert len(services) > 200 and "NextToken" not in answer
    assert answer["ServiceNames"] == [s["ServiceName"] for s in services] == sorted(answer["ServiceNames"])
    assert all(sorted(s["AvailabilityZones"]) == zones for s in services)
    assert all(s["Owner"] == "amazon" and s["AcceptanceRequired"] is False for s in services)
    for short in ("lambda", "sts", "logs", "kinesis-streams", "sns", "monitoring", "ssm"):
        (one,) = _by_name(services, f"com.amazonaws.{region}.{short}")
        assert [t["ServiceType"] for t in one["ServiceType"]] == ["Interface"]
        assert one["ServiceId"].startswith("vpce-svc-")
    (fn,) = _by_name(services, f"com.amazonaws.{region}.lambda")
    assert fn["PrivateDnsName"] == f"lambda.{region}.amazonaws.com"
    assert fn["BaseEndpointDnsNames"] == [f"lambda.{region}.vpce.amazonaws.com"]
    assert fn["PrivateDnsNames"] == [{"PrivateDnsName": f"lambda.{region}.amazonaws.com"}]
    (stream,) = _by_name(services, f"com.amazonaws.{region}.kinesis-streams")
    assert stream["PrivateDnsName"] == f"kinesis.{region}.amazonaws.com"
    dynamodb = _by_name(services, f"com.amazonaws.{region}.dynamodb")
    assert [t["ServiceType"] for s in dynamodb for t in s["ServiceType"]] == ["Gateway", "Interface"]
    assert not any("PrivateDnsName" in s for s in dynamodb)  # DynamoDB's interface has no private DNS
    assert dynamodb[0]["BaseEndpointDnsNames"] == [f"dynamodb.{region}.amazonaws.com"]
    s3 = _by_name(services, f"com.amazonaws.{region}.s3")
    assert [t["ServiceType"] for s in s3 for t in s["ServiceType"]] == ["Interface", "Gateway"]
    assert _by_name(services, "com.amazonaws.s3-global.accesspoint")


def test_endpoint_services_by_name_filter_and_page(fresh: Sandbox) -> None:
    ec2 = fresh.client("ec2")
    names = ["com.amazonaws.us-east-1.s3", "com.amazonaws.us-east-1.lambda"]
    asked = ec2.describe_vpc_endpoint_services(ServiceNames=names)
    assert asked["ServiceNames"] == [names[1], names[0], names[0]]  # by name; S3's two types
    gateways = ec2.describe_vpc_endpoint_services(Filters=[{"Name": "service-type", "Values": ["Gateway"]}])
    assert gateways["ServiceNames"] == ["com.amazonaws.us-east-1.dynamodb", "com.amazonaws.us-east-1.s3"]
    tagged = ec2.describe_vpc_endpoint_services(Filters=[{"Name": "tag-key", "Values": ["Name"]}])
    assert tagged["ServiceDetails"] == []  # AWS's own services carry no tags
    whole = ec2.describe_vpc_endpoint_services()["ServiceDetails"]
    first = ec2.describe_vpc_endpoint_services(MaxResults=100)
    assert len(first["ServiceDetails"]) == 100 and first["NextToken"] == whole[100]["ServiceId"]
    assert _every_service(ec2, PaginationConfig={"PageSize": 100}) == whole  # the same ids every time


def test_endpoint_services_by_the_service_name_filter(fresh: Sandbox) -> None:
    """EC2's service-name filter (moto's own answer failed on it: a 501)."""
    ec2 = fresh.client("ec2")
    name = "com.amazonaws.us-east-1.lambda"
    by_filter = ec2.describe_vpc_endpoint_services(
        Filters=[
            {"Name": "service-name", "Values": [name]},
            {"Name": "service-type", "Values": ["Interface"]},
        ]
    )
    assert by_filter["ServiceNames"] == [name]


def test_endpoint_services_refuse_what_ec2_refuses(fresh: Sandbox) -> None:
    ec2 = fresh.client("ec2")
    err = error_of(lambda: ec2.describe_vpc_endpoint_services(ServiceNames=["com.amazonaws.us-east-1.nope"]))
    assert (code_of(err), status_of(err)) == ("InvalidServiceName", 400)
    assert "com.amazonaws.us-east-1.nope" in err.response["Error"]["Message"]
    err = error_of(lambda: ec2.describe_vpc_endpoint_services(Filters=[{"Name": "owner", "Values": ["x"]}]))
    assert (code_of(err), status_of(err)) == ("InvalidFilter", 400)
    err = error_of(lambda: ec2.describe_vpc_endpoint_services(NextToken="vpce-svc-nothere"))
    assert (code_of(err), status_of(err)) == ("InvalidNextToken", 400)


def test_a_scenario_offers_a_service_in_some_zones_until_the_next_account(tmp_path: Path) -> None:
    scenario = tmp_path / "zones.yaml"
    scenario.write_text("endpointServices:\n  - {service: lambda, zones: [a, c]}\n")
    name = "com.amazonaws.us-east-1.lambda"
    with Sandbox(str(scenario)) as sb:
        ec2 = sb.client("ec2")
        (limited,) = ec2.describe_vpc_endpoint_services(ServiceNames=[name])["ServiceDetails"]
        assert limited["AvailabilityZones"] == ["us-east-1a", "us-east-1c"]
        (other,) = ec2.describe_vpc_endpoint_services(ServiceNames=["com.amazonaws.us-east-1.sts"])[
            "ServiceDetails"
        ]
        assert len(other["AvailabilityZones"]) == 6
        (elsewhere,) = sb.client("ec2", "eu-west-1").describe_vpc_endpoint_services(
            ServiceNames=["com.amazonaws.eu-west-1.lambda"]
        )["ServiceDetails"]
        assert len(elsewhere["AvailabilityZones"]) == 3
        sb.reset(None)
        (again,) = ec2.describe_vpc_endpoint_services(ServiceNames=[name])["ServiceDetails"]
        assert len(again["AvailabilityZones"]) == 6


# --- S3: a bucket of another account -------------------------------------------------------------


def _other_account_s3(sb: Sandbox, account: str = "210987654321") -> Any:
    import boto3

    from preflight.sandbox.organization import allow_assume_from

    allow_assume_from(account, "bucket-owner")
    creds = sb.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/bucket-owner", RoleSessionName="test"
    )["Credentials"]
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=sb.endpoint_url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def test_head_bucket_of_another_account_s_bucket_is_forbidden(fresh: Sandbox) -> None:
    s3 = fresh.client("s3")
    theirs = _other_account_s3(fresh)
    theirs.create_bucket(Bucket="their-bucket")
    s3.create_bucket(Bucket="our-bucket")
    err = error_of(lambda: s3.head_bucket(Bucket="their-bucket"))
    assert status_of(err) == 403
    assert theirs.head_bucket(Bucket="their-bucket")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.head_bucket(Bucket="our-bucket")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert status_of(error_of(lambda: theirs.head_bucket(Bucket="our-bucket"))) == 403
    assert status_of(error_of(lambda: s3.head_bucket(Bucket="nobody-s-bucket"))) == 404
    theirs.delete_bucket(Bucket="their-bucket")
    assert status_of(error_of(lambda: s3.head_bucket(Bucket="their-bucket"))) == 404
    s3.create_bucket(Bucket="their-bucket")  # the name is free again: now ours
    assert s3.head_bucket(Bucket="their-bucket")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert status_of(error_of(lambda: theirs.head_bucket(Bucket="their-bucket"))) == 403


def test_a_scenario_s_bucket_of_another_account_is_forbidden_after_a_reset(tmp_path: Path) -> None:
    scenario = tmp_path / "taken.yaml"
    scenario.write_text("buckets:\n  - {name: taken-name, otherAccount: true}\n  - {name: own-name}\n")
    with Sandbox(str(scenario)) as sb:
        s3 = sb.client("s3")
        assert status_of(error_of(lambda: s3.head_bucket(Bucket="taken-name"))) == 403
        assert s3.head_bucket(Bucket="own-name")["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["own-name"]
        sb.reset(None)
        assert status_of(error_of(lambda: s3.head_bucket(Bucket="taken-name"))) == 404


# --- Lambda's network interfaces -----------------------------------------------------------------


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("index.py", "def handler(e, c):\n    return 1\n")
    return buffer.getvalue()


def _vpc_function_world(sb: Sandbox) -> dict[str, Any]:
    ec2 = sb.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.3.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    group = ec2.create_security_group(GroupName="fn", Description="fn", VpcId=vpc)["GroupId"]
    plain = ec2.create_network_interface(SubnetId=subnets[0])["NetworkInterface"]["NetworkInterfaceId"]
    role = sb.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=ASSUME_LAMBDA)["Role"]["Arn"]
    sb.client("lambda").create_function(
        FunctionName="in-vpc", Runtime="python3.12", Role=role, Handler="index.handler",
        Code={"ZipFile": _code()}, VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [group]},
    )  # fmt: skip
    return {"ec2": ec2, "vpc": vpc, "subnets": subnets, "group": group, "plain": plain}


def test_a_vpc_function_s_interfaces_are_lambda_s_and_requester_managed(fresh: Sandbox) -> None:
    world = _vpc_function_world(fresh)
    ec2 = world["ec2"]
    found = ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [world["vpc"]]}])
    by_id = {e["NetworkInterfaceId"]: e for e in found["NetworkInterfaces"]}
    assert set(by_id) > {world["plain"]} and len(by_id) == 3
    plain = by_id.pop(world["plain"])
    assert (plain["InterfaceType"], plain["RequesterManaged"]) == ("interface", False)
    assert sorted(e["SubnetId"] for e in by_id.values()) == sorted(world["subnets"])
    for eni in by_id.values():
        assert (eni["InterfaceType"], eni["RequesterManaged"]) == ("lambda", True)
        assert eni["Description"] == "AWS Lambda VPC ENI-in-vpc"
        assert [g["GroupId"] for g in eni["Groups"]] == [world["group"]]
        assert eni["VpcId"] == world["vpc"]
    paged = ec2.describe_network_interfaces(
        Filters=[{"Name": "vpc-id", "Values": [world["vpc"]]}], MaxResults=5
    )
    assert sorted(e["InterfaceType"] for e in paged["NetworkInterfaces"]) == ["interface", "lambda", "lambda"]
    one = ec2.describe_network_interfaces(NetworkInterfaceIds=sorted(by_id)[:1])["NetworkInterfaces"]
    assert [(e["InterfaceType"], e["RequesterManaged"]) for e in one] == [("lambda", True)]


def test_the_interface_type_filter_finds_lambda_s_interfaces(fresh: Sandbox) -> None:
    world = _vpc_function_world(fresh)
    ec2 = world["ec2"]

    def ids(*filters: tuple[str, list[str]], **params: Any) -> list[str]:
        asked = [{"Name": n, "Values": v} for n, v in filters]
        found = ec2.describe_network_interfaces(Filters=asked, **params)["NetworkInterfaces"]
        return sorted(e["NetworkInterfaceId"] for e in found)

    lambdas = ids(("interface-type", ["lambda"]))
    assert len(lambdas) == 2 and world["plain"] not in lambdas
    assert ids(("interface-type", ["lambda"]), ("vpc-id", [world["vpc"]])) == lambdas
    assert ids(("interface-type", ["lambda"]), ("vpc-id", [world["vpc"]]), MaxResults=5) == lambdas
    assert ids(("interface-type", ["lambda"]), ("vpc-id", ["vpc-00000000"])) == []
    assert ids(("interface-type", ["lambda"]), ("subnet-id", [world["subnets"][0]])) == [
        e for e in lambdas if e in ids(("subnet-id", [world["subnets"][0]]))
    ]
    assert ids(("interface-type", ["interface"])) == [world["plain"]]
    assert ids(("interface-type", ["interface", "lambda"])) == sorted([*lambdas, world["plain"]])
    assert ids(("interface-type", ["efa"])) == []


def test_interfaces_of_a_fresh_account_have_no_lambda_s(fresh: Sandbox) -> None:
    ec2 = fresh.client("ec2")
    found = ec2.describe_network_interfaces(Filters=[{"Name": "interface-type", "Values": ["lambda"]}])
    assert found["NetworkInterfaces"] == []
    _vpc_function_world(fresh)
    fresh.reset(None)
    found = ec2.describe_network_interfaces(Filters=[{"Name": "interface-type", "Values": ["lambda"]}])
    assert found["NetworkInterfaces"] == []


# --- the scenario's organisation -------------------------------------------------------------------

DEV, CLOSED_ONE = "300000000001", "300000000049"


def _as_member(sb: Sandbox, account_id: str, service: str) -> Any:
    import boto3

    creds = sb.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="test"
    )["Credentials"]
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=sb.endpoint_url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


@pytest.fixture
def org() -> Any:
    with Sandbox("organization") as sb:
        yield sb


def test_the_organisation_s_accounts_under_the_scenario_s_ids_states_and_join_times(org: Sandbox) -> None:
    organizations = org.client("organizations")
    described = organizations.describe_organization()["Organization"]
    assert described["MasterAccountId"] == "123456789012" and described["FeatureSet"] == "ALL"
    accounts = [
        a for page in organizations.get_paginator("list_accounts").paginate() for a in page["Accounts"]
    ]
    ids = [a["Id"] for a in accounts]
    assert ids == ["123456789012", *(f"3000000000{n:02d}" for n in range(1, 50))]
    joined = [a["JoinedTimestamp"] for a in accounts]
    assert joined == sorted(joined) and len(set(joined)) == 50  # a day apart, the management first
    assert (joined[-1] - joined[0]).days == 49
    dev = organizations.describe_account(AccountId=DEV)["Account"]
    assert (dev["Name"], dev["Email"], dev["State"], dev["Status"]) == (
        "dev-001",
        "dev-001@example.com",
        "ACTIVE",
        "ACTIVE",
    )
    assert dev["Arn"] == f"arn:aws:organizations::123456789012:account/{described['Id']}/{DEV}"
    assert dev["JoinedTimestamp"] == joined[1]
    closed = organizations.describe_account(AccountId=CLOSED_ONE)["Account"]
    assert (closed["Name"], closed["State"], closed["Status"]) == ("closed-001", "CLOSED", "SUSPENDED")
    err = error_of(lambda: organizations.describe_account(AccountId="399999999999"))
    assert code_of(err) == "AccountNotFoundException"


def test_the_organisation_s_tree_names_the_scenario_s_ids(org: Sandbox) -> None:
    organizations = org.client("organizations")
    (root,) = organizations.list_roots()["Roots"]
    children = organizations.list_children(ParentId=root["Id"], ChildType="ACCOUNT")["Children"]
    assert [c["Id"] for c in children][:3] == ["123456789012", DEV, "300000000002"] and len(children) == 50
    under = [
        a["Id"]
        for page in organizations.get_paginator("list_accounts_for_parent").paginate(ParentId=root["Id"])
        for a in page["Accounts"]
    ]
    assert sorted(under) == sorted(c["Id"] for c in children)
    assert organizations.list_parents(ChildId=DEV)["Parents"] == [{"Id": root["Id"], "Type": "ROOT"}]


def test_a_member_sees_its_organisation_and_its_role_trusts_the_management_account(org: Sandbox) -> None:
    member = _as_member(org, DEV, "organizations")
    management = org.client("organizations").describe_organization()["Organization"]
    assert member.describe_organization()["Organization"] == management
    assert member.list_roots()["Roots"] == org.client("organizations").list_roots()["Roots"]
    assert code_of(error_of(member.list_accounts)) == "AccessDeniedException"
    role = _as_member(org, DEV, "iam").get_role(RoleName="OrganizationAccountAccessRole")["Role"]
    assert role["Arn"] == f"arn:aws:iam::{DEV}:role/OrganizationAccountAccessRole"
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert _as_member(org, DEV, "sts").get_caller_identity()["Account"] == DEV


# --- the AWS managed policies the pipeline's role attaches ---------------------------------------

BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
EMPTY_POLICY = (
    '{"Version": "2012-10-17", "Statement": '
    '[{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}'
)
VPC_ACCESS = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"


def _policy_arns(listing: dict[str, Any]) -> list[str]:
    return [p["Arn"] for p in listing["Policies"]]


def test_the_two_aws_managed_policies_are_aws_s(fresh: Sandbox) -> None:
    iam = fresh.client("iam")
    basic = iam.get_policy(PolicyArn=BASIC)["Policy"]
    assert (basic["PolicyName"], basic["Path"], basic["DefaultVersionId"]) == (
        "AWSLambdaBasicExecutionRole",
        "/service-role/",
        "v1",
    )
    assert basic["IsAttachable"] is True and basic["AttachmentCount"] == 0
    assert (basic["CreateDate"].isoformat(), basic["UpdateDate"].isoformat()) == (
        "2015-04-09T15:03:43+00:00",
        "2015-04-09T15:03:43+00:00",
    )
    vpc = iam.get_policy(PolicyArn=VPC_ACCESS)["Policy"]
    assert vpc["DefaultVersionId"] == "v3" and vpc["UpdateDate"].isoformat() == "2024-01-05T22:38:26+00:00"
    version = iam.get_policy_version(PolicyArn=VPC_ACCESS, VersionId="v3")["PolicyVersion"]
    assert version["IsDefaultVersion"] is True
    assert version["CreateDate"] == vpc["UpdateDate"]  # the default version is the last update
    (statement,) = version["Document"]["Statement"]
    assert "ec2:CreateNetworkInterface" in statement["Action"] and statement["Resource"] == "*"
    versions = iam.list_policy_versions(PolicyArn=BASIC)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [("v1", True)]
    assert versions[0]["CreateDate"].isoformat() == "2015-04-09T15:03:43+00:00"
    assert _policy_arns(iam.list_policies(Scope="AWS")) == [BASIC, VPC_ACCESS]
    assert _policy_arns(iam.list_policies()) == [BASIC, VPC_ACCESS]
    assert _policy_arns(iam.list_policies(Scope="Local")) == []
    summary = iam.get_account_summary()["SummaryMap"]
    assert (summary["Policies"], summary["PolicyVersionsInUse"]) == (0, 0)
    err = error_of(lambda: iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"))
    assert code_of(err) == "NoSuchEntity"


def test_a_role_attaches_lists_and_detaches_an_aws_managed_policy(fresh: Sandbox) -> None:
    iam = fresh.client("iam")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=ASSUME_LAMBDA)
    own = iam.create_policy(PolicyName="own", PolicyDocument=EMPTY_POLICY)
    own_arn = own["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="r", PolicyArn=BASIC)
    iam.attach_role_policy(RoleName="r", PolicyArn=own_arn)
    attached = iam.list_attached_role_policies(RoleName="r")["AttachedPolicies"]
    assert sorted((p["PolicyName"], p["PolicyArn"]) for p in attached) == [
        ("AWSLambdaBasicExecutionRole", BASIC),
        ("own", own_arn),
    ]
    assert _policy_arns(iam.list_policies(Scope="AWS", OnlyAttached=True)) == [BASIC]
    assert _policy_arns(iam.list_policies(Scope="Local")) == [own_arn]
    assert iam.get_policy(PolicyArn=BASIC)["Policy"]["AttachmentCount"] >= 1
    entities = iam.list_entities_for_policy(PolicyArn=BASIC)
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == ["r"]
    summary = iam.get_account_summary()["SummaryMap"]
    assert (summary["Policies"], summary["PolicyVersionsInUse"]) == (1, 2)
    details = iam.get_account_authorization_details(Filter=["Role"])["RoleDetailList"]
    assert sorted(p["PolicyArn"] for p in details[0]["AttachedManagedPolicies"]) == sorted([BASIC, own_arn])
    err = error_of(lambda: iam.delete_role(RoleName="r"))
    assert (code_of(err), status_of(err)) == ("DeleteConflict", 409)
    err = error_of(lambda: iam.detach_role_policy(RoleName="r", PolicyArn=VPC_ACCESS))
    assert code_of(err) == "NoSuchEntity" and VPC_ACCESS in err.response["Error"]["Message"]
    iam.detach_role_policy(RoleName="r", PolicyArn=BASIC)
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="r")["AttachedPolicies"]] == [
        own_arn
    ]
    err = error_of(lambda: iam.attach_role_policy(RoleName="nope", PolicyArn=BASIC))
    assert code_of(err) == "NoSuchEntity"
    err = error_of(
        lambda: iam.attach_role_policy(RoleName="r", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    )
    assert code_of(err) == "NoSuchEntity" and "AdministratorAccess" in err.response["Error"]["Message"]


def test_a_user_attaches_an_aws_managed_policy(fresh: Sandbox) -> None:
    iam = fresh.client("iam")
    iam.create_user(UserName="u")
    iam.attach_user_policy(UserName="u", PolicyArn=VPC_ACCESS)
    attached = iam.list_attached_user_policies(UserName="u")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AWSLambdaVPCAccessExecutionRole", "PolicyArn": VPC_ACCESS}]
    users = iam.get_account_authorization_details(Filter=["User"])["UserDetailList"]
    assert users[0]["AttachedManagedPolicies"] == attached


def test_another_account_has_not_the_two_policies(org: Sandbox) -> None:
    iam = _as_member(org, DEV, "iam")
    assert code_of(error_of(lambda: iam.get_policy(PolicyArn=BASIC))) == "NoSuchEntity"
