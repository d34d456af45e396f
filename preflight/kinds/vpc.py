"""The stack's VPC with its subnets (one private per zone, a public one too if asked), route tables,
internet gateway and, with the NAT route, NAT gateways and their Elastic IPs.

The subnets, gateways and route tables are part of this kind: none exists without the VPC, and their
names derive from its name (they carry the environment suffix too).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal, Protocol

from pydantic import Field, field_validator

from preflight.kinds.base import (
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
    Resolving,
    StepFailed,
    Strict,
    tag_spec,
)
from preflight.quotas.catalog import (
    ELASTIC_IPS,
    INTERNET_GATEWAYS,
    NAT_GATEWAYS_PER_AZ,
    NETWORK_INTERFACES,
    SECURITY_GROUPS,
    SUBNETS_PER_VPC,
    VPCS,
)

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
EIP = "aws:ec2/eip:Eip"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
LABELS = {  # in the order an inventory lists them
    VPC: "VPC",
    SUBNET: "subnet",
    INTERNET_GATEWAY: "internet gateway",
    EIP: "Elastic IP",
    NAT_GATEWAY: "NAT gateway",
    ROUTE_TABLE: "route table",
    ROUTE_TABLE_ASSOCIATION: "route table association",
}
# Its names are tags, or unique only inside the stack's own new VPC: no name of it can be taken.
NAME_CHECK = None


class VpcSpec(Strict):
    """The stack's VPC: one private subnet per availability zone, plus public ones if asked."""

    name: Name = Field("vpc", description="Logical name; the AWS name adds namePrefix and the environment.")
    cidr: str = Field(
        "10.0.0.0/16",
        description="IPv4 range of the VPC, /16 to /24; subnets are carved from it.",
        examples=["10.0.0.0/16"],
    )
    az_count: int = Field(
        2,
        alias="azCount",
        ge=1,
        le=6,
        description="Availability zones to span (subnets per kind).",
        examples=[2],
    )
    public_subnets: bool = Field(
        True,
        alias="publicSubnets",
        description="Create public subnets and an internet gateway (needed by vpc-with-nat).",
    )
    optional: bool = Field(
        False,
        description=(
            "plan --adapt may leave the VPC out (with its subnets, route tables and internet gateway) "
            "when no function stays in it and no endpoint needs it, which also frees the VPC and "
            "internet gateway quota they would hold. A deployment that fits as requested keeps it."
        ),
    )

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        net = ipaddress.ip_network(value, strict=True)
        if net.version != 4 or not 16 <= net.prefixlen <= 24:
            raise ValueError("must be an IPv4 CIDR between /16 and /24")
        return value


class SubnetPlan(Frozen):
    name: str
    cidr: str
    az: str
    kind: Literal["public", "private"]


class VpcPlan(Frozen):
    path: str = "vpc"
    name: str
    cidr: str
    azs: tuple[str, ...]
    subnets: tuple[SubnetPlan, ...]
    internet_gateway: bool
    nat_gateway_azs: tuple[str, ...] = ()  # one NAT gateway (and its EIP) in each of these AZs
    # False: an adapted plan leaves the VPC out (no function in it, `vpc.optional`): then it has no
    # subnets, gateways or route tables either; `azs` stay, for the record.
    created: bool = True


class Uses(Protocol):
    @property
    def vpc(self) -> VpcPlan: ...

    @property
    def region(self) -> str: ...


def plan(spec: VpcSpec, physical: Physical, azs: tuple[str, ...], nat_azs: tuple[str, ...]) -> VpcPlan:
    name = physical(spec.name)
    return VpcPlan(
        name=name,
        cidr=spec.cidr,
        azs=azs,
        subnets=subnets(spec, azs, name),
        internet_gateway=spec.public_subnets,
        nat_gateway_azs=nat_azs,
    )


def subnets(spec: VpcSpec, azs: tuple[str, ...], prefix: str) -> tuple[SubnetPlan, ...]:
    net = ipaddress.ip_network(spec.cidr)
    blocks = net.subnets(new_prefix=min(net.prefixlen + 4, 28))
    out = []
    for i, az in enumerate(azs):
        if spec.public_subnets:
            out.append(
                SubnetPlan(name=f"{prefix}-public-{i + 1}", cidr=str(next(blocks)), az=az, kind="public")
            )
        out.append(
            SubnetPlan(name=f"{prefix}-private-{i + 1}", cidr=str(next(blocks)), az=az, kind="private")
        )
    return tuple(out)


# --- names and shapes derived from the VPC's ------------------------------------------------------


def scope(vpc: VpcPlan) -> str:
    """The quota scope of what counts per VPC."""
    return f"vpc:{vpc.name}"


def internet_gateway_name(vpc: VpcPlan) -> str:
    return f"{vpc.name}-igw"


def public_route_table_name(vpc: VpcPlan) -> str:
    return f"{vpc.name}-public-rt"


def private_route_table_name(vpc: VpcPlan, az: str) -> str:
    return f"{vpc.name}-private-rt-{vpc.azs.index(az) + 1}"


def eip_name(vpc: VpcPlan, az: str) -> str:
    return f"{vpc.name}-nat-eip-{vpc.azs.index(az) + 1}"


def nat_gateway_name(vpc: VpcPlan, az: str) -> str:
    return f"{vpc.name}-nat-{vpc.azs.index(az) + 1}"


def association_name(subnet: SubnetPlan) -> str:
    return f"{subnet.name}-rta"


def public_subnets(vpc: VpcPlan) -> tuple[SubnetPlan, ...]:
    return tuple(s for s in vpc.subnets if s.kind == "public")


def private_subnets(vpc: VpcPlan) -> tuple[SubnetPlan, ...]:
    return tuple(s for s in vpc.subnets if s.kind == "private")


def private_route_table_azs(vpc: VpcPlan) -> tuple[str, ...]:
    """One private route table per AZ that has a private subnet (a per-AZ NAT route needs its own)."""
    return tuple(dict.fromkeys(s.az for s in private_subnets(vpc)))


def nat_for_az(vpc: VpcPlan, az: str) -> str | None:
    """The AZ whose NAT gateway serves `az`'s private subnets: its own if it has one, else the first."""
    if not vpc.nat_gateway_azs:
        return None
    return az if az in vpc.nat_gateway_azs else vpc.nat_gateway_azs[0]


def nat_gateway_azs(mode: str, nat_gateways: str, azs: tuple[str, ...]) -> tuple[str, ...]:
    """The zones that get a NAT gateway: none without a NAT route, else the first or every one."""
    if mode != "vpc-with-nat":
        return ()
    return azs if nat_gateways == "per-az" else azs[:1]


def resolve(doc: Any, r: Resolving) -> dict[str, Any]:
    """The VPC on the region's first `azCount` zones, with the NAT gateways the networking asks for."""
    azs = r.azs[: doc.vpc.az_count]
    nat_azs = nat_gateway_azs(r.mode, doc.lambda_.networking.nat_gateways, azs)
    return {"vpc": plan(doc.vpc, r.physical, azs, nat_azs)}


PART = Part(
    manifest={"vpc": (VpcSpec, Field(default_factory=VpcSpec, description="The stack's VPC."))},
    deployment={"vpc": VpcPlan},
    resolve=resolve,
)


# --- quotas -----------------------------------------------------------------------------------------


def needs(d: Uses) -> Needs:
    vpc = d.vpc
    if not vpc.created:
        return
    yield VPCS, "region", 1, vpc.path
    yield SECURITY_GROUPS, "region", 1, vpc.path  # the VPC's default security group
    yield SUBNETS_PER_VPC, scope(vpc), len(vpc.subnets), f"{vpc.path}.azCount"
    if vpc.internet_gateway or vpc.nat_gateway_azs:
        yield INTERNET_GATEWAYS, "region", 1, f"{vpc.path}.publicSubnets"
    for az in vpc.nat_gateway_azs:
        # A public NAT gateway holds an Elastic IP and an ENI in its AZ's public subnet.
        yield NAT_GATEWAYS_PER_AZ, f"az:{az}", 1, "lambda.networking"
        yield ELASTIC_IPS, "region", 1, "lambda.networking"
        yield NETWORK_INTERFACES, "region", 1, "lambda.networking"


# --- the stack's own in an account ---------------------------------------------------------------


def own_vpc_id(a: Account) -> str | None:
    """The id of the VPC that carries the stack's tags (None: it does not exist yet)."""
    own = [v["VpcId"] for v in a.ec2("DescribeVpcs", "Vpcs") if a.owns(v.get("Tags"))]
    return own[0] if own else None


def own_enis(a: Account, d: Uses) -> set[str]:
    """The ENIs of the stack's NAT gateways: AWS makes them untagged, the gateway lists them."""
    return {
        address["NetworkInterfaceId"]
        for nat in a.nat_gateways()
        if a.owns(nat.get("Tags"))
        for address in nat.get("NatGatewayAddresses") or []
        if "NetworkInterfaceId" in address
    }


# --- the program ------------------------------------------------------------------------------------


def register(p: Program, d: Uses) -> None:
    p.made.update(
        vpc=None,
        subnets={},
        private_subnet_ids=[],
        internet_gateway=None,
        nat_gateways={},
        private_route_tables=[],
    )
    vpc = d.vpc
    if not vpc.created:
        return  # the plan leaves the VPC out: nothing runs in it (check_deployment made sure)
    aws = p.aws
    # Interface endpoints with private DNS need both DNS settings.
    made = aws.ec2.Vpc(
        vpc.name,
        cidr_block=vpc.cidr,
        enable_dns_support=True,
        enable_dns_hostnames=True,
        tags=p.tags(vpc.name),
        opts=p.child,
    )
    p.made["vpc"] = made
    p.made["subnets"] = {
        s.name: aws.ec2.Subnet(
            s.name,
            vpc_id=made.id,
            cidr_block=s.cidr,
            availability_zone=s.az,
            tags=p.tags(s.name),
            opts=p.child,
        )
        for s in vpc.subnets
    }
    p.made["private_subnet_ids"] = [p.made["subnets"][s.name].id for s in private_subnets(vpc)]
    if vpc.internet_gateway:
        name = internet_gateway_name(vpc)
        p.made["internet_gateway"] = aws.ec2.InternetGateway(
            name, vpc_id=made.id, tags=p.tags(name), opts=p.child
        )
    _public_routes(p, vpc)
    _nat_gateways(p, vpc)
    _private_routes(p, vpc)


def _route_table(p: Program, name: str, routes: list[Any], members: tuple[SubnetPlan, ...]) -> Any:
    table = p.aws.ec2.RouteTable(
        name, vpc_id=p.made["vpc"].id, routes=routes, tags=p.tags(name), opts=p.child
    )
    for s in members:
        p.aws.ec2.RouteTableAssociation(
            association_name(s), subnet_id=p.made["subnets"][s.name].id, route_table_id=table.id, opts=p.child
        )
    return table


def _public_routes(p: Program, vpc: VpcPlan) -> None:
    public = public_subnets(vpc)
    if not public:
        return
    igw = p.made["internet_gateway"]
    routes = [p.aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)] if igw else []
    _route_table(p, public_route_table_name(vpc), routes, public)


def _nat_gateways(p: Program, vpc: VpcPlan) -> None:
    """NAT gateways (and their EIPs) only where the plan puts them, each in its AZ's public subnet."""
    igw = p.made["internet_gateway"]
    for az in vpc.nat_gateway_azs:
        eip = p.aws.ec2.Eip(eip_name(vpc, az), domain="vpc", tags=p.tags(eip_name(vpc, az)), opts=p.child)
        subnet = next(s for s in public_subnets(vpc) if s.az == az)
        name = nat_gateway_name(vpc, az)
        p.made["nat_gateways"][az] = p.aws.ec2.NatGateway(
            name,
            allocation_id=eip.allocation_id,
            subnet_id=p.made["subnets"][subnet.name].id,
            tags=p.tags(name),
            opts=p.options([igw] if igw else []),
        )


def _private_routes(p: Program, vpc: VpcPlan) -> None:
    for az in private_route_table_azs(vpc):
        nat_az = nat_for_az(vpc, az)
        routes = (
            [
                p.aws.ec2.RouteTableRouteArgs(
                    cidr_block="0.0.0.0/0", nat_gateway_id=p.made["nat_gateways"][nat_az].id
                )
            ]
            if nat_az
            else []
        )
        members = tuple(s for s in private_subnets(vpc) if s.az == az)
        p.made["private_route_tables"].append(
            _route_table(p, private_route_table_name(vpc, az), routes, members)
        )


# --- verify-program ----------------------------------------------------------------------------------


def expected(d: Uses) -> Expected:
    vpc = d.vpc
    return {
        VPC: [vpc.name] if vpc.created else [],
        SUBNET: [s.name for s in vpc.subnets],
        ROUTE_TABLE: ([public_route_table_name(vpc)] if public_subnets(vpc) else [])
        + [private_route_table_name(vpc, az) for az in private_route_table_azs(vpc)],
        ROUTE_TABLE_ASSOCIATION: [s.name for s in vpc.subnets],
        INTERNET_GATEWAY: [internet_gateway_name(vpc)] if vpc.internet_gateway else [],
        EIP: [eip_name(vpc, az) for az in vpc.nat_gateway_azs],
        NAT_GATEWAY: [nat_gateway_name(vpc, az) for az in vpc.nat_gateway_azs],
    }


def private_subnet_ids(vpc: VpcPlan, inv: Inventory) -> list[str | None]:
    return [inv.id_of(SUBNET, s.name) for s in private_subnets(vpc)]


def private_route_table_ids(vpc: VpcPlan, inv: Inventory) -> list[str]:
    return sorted(
        str(inv.id_of(ROUTE_TABLE, private_route_table_name(vpc, az))) for az in private_route_table_azs(vpc)
    )


def verify(d: Uses, inv: Inventory, check: Checker) -> None:
    vpc = d.vpc
    vpc_id = inv.id_of(VPC, vpc.name)
    for s in vpc.subnets:
        r = inv.one(SUBNET, s.name)
        if r:
            label = f"subnet {s.name}"
            check.eq(label, "vpcId", r["inputs"].get("vpcId"), vpc_id)
            check.eq(label, "cidrBlock", r["inputs"].get("cidrBlock"), s.cidr)
            check.eq(label, "availabilityZone", r["inputs"].get("availabilityZone"), s.az)
    _verify_routes(vpc, inv, check)
    for az in vpc.nat_gateway_azs:
        r = inv.one(NAT_GATEWAY, nat_gateway_name(vpc, az))
        public = next((s for s in public_subnets(vpc) if s.az == az), None)
        if r and public:
            label = f"NAT gateway {r['name']}"
            check.eq(label, "subnetId", r["inputs"].get("subnetId"), inv.id_of(SUBNET, public.name))
            check.eq(
                label, "allocationId", r["inputs"].get("allocationId"), inv.id_of(EIP, eip_name(vpc, az))
            )


def _verify_routes(vpc: VpcPlan, inv: Inventory, check: Checker) -> None:
    igw_id = inv.id_of(INTERNET_GATEWAY, internet_gateway_name(vpc))
    if public_subnets(vpc):
        r = inv.one(ROUTE_TABLE, public_route_table_name(vpc))
        if r:
            want_routes = [("0.0.0.0/0", "gatewayId", igw_id)] if vpc.internet_gateway else []
            check.eq(f"route table {r['name']}", "routes", _routes(r), want_routes)
    for az in private_route_table_azs(vpc):
        r = inv.one(ROUTE_TABLE, private_route_table_name(vpc, az))
        if r:
            nat_az = nat_for_az(vpc, az)
            nat_id = inv.id_of(NAT_GATEWAY, nat_gateway_name(vpc, nat_az)) if nat_az else None
            want_routes = [("0.0.0.0/0", "natGatewayId", nat_id)] if nat_az else []
            check.eq(f"route table {r['name']}", "routes", _routes(r), want_routes)


def _routes(record: dict[str, Any]) -> list[tuple[str, str, Any]]:
    out = []
    for route in record["inputs"].get("routes") or []:
        target = next(((k, v) for k, v in route.items() if k.endswith("Id") and v), ("", None))
        out.append((route.get("cidrBlock"), target[0], target[1]))
    return out


# --- rehearse ---------------------------------------------------------------------------------------


def create_vpc(c: Any, i: dict[str, Any]) -> Created:
    ec2 = c("ec2")
    vpc_id = ec2.create_vpc(CidrBlock=i["cidrBlock"], TagSpecifications=tag_spec("vpc", i))["Vpc"]["VpcId"]
    # One attribute per call (the API's rule).
    if i.get("enableDnsSupport") is not None:
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": bool(i["enableDnsSupport"])})
    if i.get("enableDnsHostnames") is not None:
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": bool(i["enableDnsHostnames"])})
    return vpc_id, {"arn": f"arn:aws:ec2:{c.region}::vpc/{vpc_id}"}


def create_subnet(c: Any, i: dict[str, Any]) -> Created:
    subnet = c("ec2").create_subnet(
        VpcId=i["vpcId"],
        CidrBlock=i["cidrBlock"],
        AvailabilityZone=i["availabilityZone"],
        TagSpecifications=tag_spec("subnet", i),
    )["Subnet"]
    return subnet["SubnetId"], {"arn": subnet.get("SubnetArn", "")}


def create_internet_gateway(c: Any, i: dict[str, Any]) -> Created:
    from botocore.exceptions import ClientError

    ec2 = c("ec2")
    answer = ec2.create_internet_gateway(TagSpecifications=tag_spec("internet-gateway", i))
    igw_id = answer["InternetGateway"]["InternetGatewayId"]
    if i.get("vpcId"):
        try:
            ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=i["vpcId"])
        except ClientError as exc:
            raise StepFailed("created, but AttachInternetGateway failed", exc) from exc
    return igw_id, {}


def create_route_table(c: Any, i: dict[str, Any]) -> Created:
    from botocore.exceptions import ClientError

    ec2 = c("ec2")
    answer = ec2.create_route_table(VpcId=i["vpcId"], TagSpecifications=tag_spec("route-table", i))
    rt_id = answer["RouteTable"]["RouteTableId"]
    for route in i.get("routes") or []:
        target = {
            key[0].upper() + key[1:]: value
            for key, value in route.items()
            if key in ("gatewayId", "natGatewayId", "vpcEndpointId", "transitGatewayId") and value
        }
        try:
            ec2.create_route(RouteTableId=rt_id, DestinationCidrBlock=route["cidrBlock"], **target)
        except ClientError as exc:
            raise StepFailed(f"created, but CreateRoute {route['cidrBlock']} failed", exc) from exc
    return rt_id, {}


def create_association(c: Any, i: dict[str, Any]) -> Created:
    answer = c("ec2").associate_route_table(RouteTableId=i["routeTableId"], SubnetId=i["subnetId"])
    return answer["AssociationId"], {}


def create_eip(c: Any, i: dict[str, Any]) -> Created:
    answer = c("ec2").allocate_address(
        Domain=i.get("domain") or "vpc", TagSpecifications=tag_spec("elastic-ip", i)
    )
    return answer["AllocationId"], {
        "allocationId": answer["AllocationId"],
        "publicIp": answer.get("PublicIp"),
    }


def create_nat_gateway(c: Any, i: dict[str, Any]) -> Created:
    nat = c("ec2").create_nat_gateway(
        SubnetId=i["subnetId"], AllocationId=i["allocationId"], TagSpecifications=tag_spec("natgateway", i)
    )["NatGateway"]
    return nat["NatGatewayId"], {}


CREATORS = {
    VPC: create_vpc,
    SUBNET: create_subnet,
    INTERNET_GATEWAY: create_internet_gateway,
    ROUTE_TABLE: create_route_table,
    ROUTE_TABLE_ASSOCIATION: create_association,
    EIP: create_eip,
    NAT_GATEWAY: create_nat_gateway,
}
UPDATERS: dict[str, Any] = {}


def named(d: Uses) -> list[tuple[str, str]]:
    return []
