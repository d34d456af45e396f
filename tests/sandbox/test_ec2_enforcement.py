"""EC2 quota enforcement with AWS's error codes (query-protocol XML errors, HTTP 400)."""

from __future__ import annotations

from typing import Any

from preflight.sandbox import Sandbox

from .helpers import code_of, error_of, status_of


def gateway_endpoint(ec2: Any, vpc_id: str, service: str = "s3") -> dict[str, Any]:
    return ec2.create_vpc_endpoint(
        VpcId=vpc_id, ServiceName=f"com.amazonaws.us-east-1.{service}", VpcEndpointType="Gateway"
    )["VpcEndpoint"]


def test_seed_s3_gateway_endpoint_is_over_the_quota(seed: Sandbox) -> None:
    """Issue 3 acceptance: every gateway endpoint of the region is taken by other stacks."""
    ec2 = seed.client("ec2")
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-endpoint-type", "Values": ["Gateway"]}])
    assert len(endpoints["VpcEndpoints"]) == 20
    vpc_id = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]  # a new stack's VPC still fits
    err = error_of(lambda: gateway_endpoint(ec2, vpc_id))
    assert code_of(err) == "VpcEndpointLimitExceeded"
    assert status_of(err) == 400
    # Untyped requests are gateway endpoints too.
    untyped = error_of(
        lambda: ec2.create_vpc_endpoint(VpcId=vpc_id, ServiceName="com.amazonaws.us-east-1.dynamodb")
    )
    assert code_of(untyped) == "VpcEndpointLimitExceeded"


def test_deleted_gateway_endpoints_free_their_slot(seed: Sandbox) -> None:
    ec2 = seed.client("ec2")
    one = ec2.describe_vpc_endpoints()["VpcEndpoints"][0]
    ec2.delete_vpc_endpoints(VpcEndpointIds=[one["VpcEndpointId"]])
    gateway_endpoint(ec2, one["VpcId"])
    assert code_of(error_of(lambda: gateway_endpoint(ec2, one["VpcId"]))) == "VpcEndpointLimitExceeded"


def test_gateway_endpoints_count_per_region(seed: Sandbox) -> None:
    # us-east-1 is full (20 of 20); us-west-2 has its own allowance of 20.
    east = seed.client("ec2")
    east_vpc = east.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    assert code_of(error_of(lambda: gateway_endpoint(east, east_vpc))) == "VpcEndpointLimitExceeded"
    west = seed.client("ec2", "us-west-2")
    vpc_id = west.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    for _ in range(20):
        made = west.create_vpc_endpoint(
            VpcId=vpc_id, ServiceName="com.amazonaws.us-west-2.s3", VpcEndpointType="Gateway"
        )
        assert made["VpcEndpoint"]["VpcEndpointType"] == "Gateway"
    err = error_of(
        lambda: west.create_vpc_endpoint(
            VpcId=vpc_id, ServiceName="com.amazonaws.us-west-2.s3", VpcEndpointType="Gateway"
        )
    )
    assert code_of(err) == "VpcEndpointLimitExceeded"  # the 21st in us-west-2: its own quota is full
    assert len(west.describe_vpc_endpoints()["VpcEndpoints"]) == 20
    assert len(east.describe_vpc_endpoints()["VpcEndpoints"]) == 20


def test_interface_endpoints_count_per_vpc(fresh: Sandbox) -> None:
    fresh.set_applied_quota("vpc", "L-29B6F2EB", 2)
    ec2 = fresh.client("ec2")
    vpcs = [ec2.create_vpc(CidrBlock=f"10.{i}.0.0/16")["Vpc"]["VpcId"] for i in (1, 2)]
    subnet = ec2.create_subnet(VpcId=vpcs[0], CidrBlock="10.1.0.0/24")["Subnet"]["SubnetId"]

    def interface(vpc_id: str, service: str) -> Any:
        return ec2.create_vpc_endpoint(
            VpcId=vpc_id,
            ServiceName=f"com.amazonaws.us-east-1.{service}",
            VpcEndpointType="Interface",
            SubnetIds=[subnet] if vpc_id == vpcs[0] else [],
        )

    interface(vpcs[0], "kinesis-streams")
    interface(vpcs[0], "sqs")
    assert code_of(error_of(lambda: interface(vpcs[0], "sns"))) == "VpcEndpointLimitExceeded"
    interface(vpcs[1], "sns")  # another VPC has its own allowance
    gateway_endpoint(ec2, vpcs[0])  # gateway endpoints are a different quota


def test_vpcs_per_region_counts_the_default_vpc(fresh: Sandbox) -> None:
    ec2 = fresh.client("ec2")
    assert len(ec2.describe_vpcs()["Vpcs"]) == 1  # the default VPC
    for i in range(4):
        ec2.create_vpc(CidrBlock=f"10.{i}.0.0/16")
    err = error_of(lambda: ec2.create_vpc(CidrBlock="10.9.0.0/16"))
    assert (code_of(err), status_of(err)) == ("VpcLimitExceeded", 400)
    fresh.client("service-quotas").request_service_quota_increase(
        ServiceCode="vpc", QuotaCode="L-F678F1CE", DesiredValue=6
    )
    ec2.create_vpc(CidrBlock="10.9.0.0/16")
    fresh.client("ec2", "eu-west-1").create_vpc(CidrBlock="10.9.0.0/16")  # another region's allowance


def test_elastic_ips(fresh: Sandbox) -> None:
    ec2 = fresh.client("ec2")
    allocations = [ec2.allocate_address(Domain="vpc")["AllocationId"] for _ in range(5)]
    assert code_of(error_of(lambda: ec2.allocate_address(Domain="vpc"))) == "AddressLimitExceeded"
    ec2.release_address(AllocationId=allocations[0])
    ec2.allocate_address(Domain="vpc")
    fresh.set_applied_quota("ec2", "L-0263D0A3", 6)
    ec2.allocate_address(Domain="vpc")
    attrs = ec2.describe_account_attributes(AttributeNames=["vpc-max-elastic-ips"])["AccountAttributes"]
    assert attrs[0]["AttributeValues"] == [{"AttributeValue": "6"}]


def test_nat_gateways_per_availability_zone(fresh: Sandbox) -> None:
    fresh.set_applied_quota("vpc", "L-FE5A380F", 2)
    fresh.set_applied_quota("ec2", "L-0263D0A3", 10)
    ec2 = fresh.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    zone_a = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")
    zone_a2 = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.2.0/24", AvailabilityZone="us-east-1a")
    zone_b = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.3.0/24", AvailabilityZone="us-east-1b")

    def nat(subnet: dict[str, Any]) -> str:
        alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
        made = ec2.create_nat_gateway(SubnetId=subnet["Subnet"]["SubnetId"], AllocationId=alloc)
        return str(made["NatGateway"]["NatGatewayId"])

    first = nat(zone_a)
    nat(zone_a2)  # same zone, another subnet: counts against the same AZ
    assert code_of(error_of(lambda: nat(zone_a))) == "NatGatewayLimitExceeded"
    nat(zone_b)
    ec2.delete_nat_gateway(NatGatewayId=first)  # deleted gateways stop counting
    nat(zone_a)


def test_internet_gateways(fresh: Sandbox) -> None:
    ec2 = fresh.client("ec2")
    for _ in range(5):
        ec2.create_internet_gateway()
    err = error_of(lambda: ec2.create_internet_gateway())
    assert (code_of(err), status_of(err)) == ("InternetGatewayLimitExceeded", 400)


def test_a_fresh_account_has_room_for_a_new_stack(fresh: Sandbox) -> None:
    ec2 = fresh.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24", AvailabilityZone="us-east-1a")
    alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.allocate_address(Domain="vpc")
    nat = ec2.create_nat_gateway(SubnetId=subnet["Subnet"]["SubnetId"], AllocationId=alloc)["NatGateway"]
    endpoints = [gateway_endpoint(ec2, vpc_id, service) for service in ("s3", "dynamodb")]
    # Everything a new stack makes is there, in the new VPC, none refused.
    assert nat["VpcId"] == vpc_id and nat["State"] in ("pending", "available")
    assert {e["ServiceName"] for e in endpoints} == {
        "com.amazonaws.us-east-1.s3",
        "com.amazonaws.us-east-1.dynamodb",
    }
    assert {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]} >= {vpc_id}
    [attached] = ec2.describe_internet_gateways(InternetGatewayIds=[igw])["InternetGateways"]
    assert attached["Attachments"] == [{"State": "available", "VpcId": vpc_id}]
    assert len(ec2.describe_addresses()["Addresses"]) == 2


def test_seed_account_has_room_for_one_vpc_but_no_gateway_endpoint(seed: Sandbox) -> None:
    ec2 = seed.client("ec2")
    assert len(ec2.describe_vpcs()["Vpcs"]) == 3
    ec2.create_vpc(CidrBlock="10.70.0.0/16")
    ec2.create_vpc(CidrBlock="10.71.0.0/16")
    assert code_of(error_of(lambda: ec2.create_vpc(CidrBlock="10.72.0.0/16"))) == "VpcLimitExceeded"


def test_owner_id_filter_is_understood(seed: Sandbox) -> None:
    """moto cannot filter internet gateways by owner; every sandbox resource is the account's own."""
    ec2 = seed.client("ec2")
    mine = ec2.describe_internet_gateways(Filters=[{"Name": "owner-id", "Values": ["123456789012"]}])
    assert len(mine["InternetGateways"]) == 1
    both = ec2.describe_internet_gateways(
        Filters=[
            {"Name": "owner-id", "Values": ["123456789012"]},
            {"Name": "attachment.state", "Values": ["available"]},
        ]
    )
    assert len(both["InternetGateways"]) == 1
