"""A VPC endpoint the functions reach an AWS service through: a gateway one against the region's gateway
endpoint quota, an interface one against the VPC's interface endpoint quota and one ENI per zone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

from pydantic import Field, model_validator

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
    Strict,
    tag_spec,
)
from preflight.kinds.security_group import SECURITY_GROUP
from preflight.kinds.vpc import VPC, VpcPlan, private_route_table_ids, private_subnet_ids, scope
from preflight.quotas.catalog import GATEWAY_ENDPOINTS, INTERFACE_ENDPOINTS_PER_VPC, NETWORK_INTERFACES

# What an interface endpoint (PrivateLink) of each service offers, as the services document it.
#
# * Amazon S3 (AWS PrivateLink for Amazon S3, "Private DNS"): an S3 interface endpoint supports private
#   DNS, but with private DNS on, "Enable private DNS only for inbound endpoints" is selected by default
#   and needs a gateway endpoint in the VPC (in-VPC traffic keeps using the gateway). Without a gateway
#   endpoint the option must be off (`PrivateDnsOnlyForInboundResolverEndpoint: false`) so that the
#   functions' S3 calls resolve to the interface endpoint.
# * Amazon DynamoDB (AWS PrivateLink for DynamoDB, since March 2024): interface endpoints exist, but do
#   not support private DNS; clients must be given the endpoint-specific name
#   (`https://vpce-...dynamodb.<region>.vpce.amazonaws.com`). The AWS SDKs read it from
#   `AWS_ENDPOINT_URL_DYNAMODB` (service-specific endpoint variables), and the handlers pass it on.
# * Kinesis Data Streams: private DNS, as most services.
#
# Interface endpoints count against "Interface and Gateway Load Balancer endpoints per VPC" (vpc /
# L-29B6F2EB, 50 by default) and make one network interface per subnet; they cost about $0.01 per hour
# per AZ plus $0.01 per GB processed (us-east-1, estimate). Gateway endpoints are free and count
# against "Gateway VPC endpoints per Region" (vpc / L-1B52E74A, 20).

# Services whose interface endpoints offer no private DNS: the variable the functions get its URL in.
URL_VARIABLE = {"dynamodb": "AWS_ENDPOINT_URL_DYNAMODB"}
# Services whose private DNS is "inbound only" unless told otherwise (that mode needs a gateway endpoint).
INBOUND_ONLY_BY_DEFAULT = frozenset({"s3"})


def private_dns(service: str) -> bool:
    """Whether the service's interface endpoint can answer for the service's own DNS name."""
    return service not in URL_VARIABLE


def url_variable(service: str) -> str | None:
    """The environment variable the functions get the endpoint's URL in (None: private DNS does it)."""
    return URL_VARIABLE.get(service)


VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
LABELS = {VPC_ENDPOINT: "VPC endpoint"}
Service = Literal["s3", "dynamodb", "kinesis-streams"]
SERVICES = "s3, dynamodb or kinesis-streams"
# Its names are tags, or unique only inside the stack's own new VPC: no name of it can be taken.
NAME_CHECK = None


class EndpointSpec(Strict):
    """A VPC endpoint the functions reach an AWS service through (counts against the VPC endpoint quotas)."""

    name: Name = Field(description=LOGICAL, examples=["s3"])
    service: Service = Field(description=f"AWS service the endpoint serves: {SERVICES}.")
    type: Literal["gateway", "interface"] = Field(
        description="gateway (s3, dynamodb only) or interface (an ENI per zone; needs securityGroup)."
    )
    optional: bool = Field(
        True,
        description="plan --adapt may drop it when the account has no room (functions then leave the VPC).",
    )
    security_group: Name | None = Field(
        None,
        alias="securityGroup",
        description="Name of an entry of securityGroups attached to an interface endpoint.",
        examples=["endpoints"],
    )

    @model_validator(mode="after")
    def _type_matches(self) -> EndpointSpec:
        if self.type == "gateway" and self.service not in ("s3", "dynamodb"):
            raise ValueError(f"{self.service} has no gateway endpoint; use type: interface")
        if self.type == "interface" and not self.security_group:
            raise ValueError("an interface endpoint needs a securityGroup")
        return self


class EndpointPlan(Frozen):
    path: str
    key: str
    name: str
    service: str  # e.g. "s3", "dynamodb", "kinesis-streams"
    type: Literal["gateway", "interface"]
    security_group: str | None = None  # physical name, interface endpoints only
    # Interface endpoints: whether the service's own DNS name resolves to the endpoint in the VPC. Where
    # the service offers no private DNS (DynamoDB), the functions get the endpoint's URL in
    # `url_variable` instead (see `private_dns` above).
    private_dns: bool = True
    url_variable: str | None = None
    stands_in_for_gateway: bool = False  # an interface endpoint deployed where the manifest has a gateway


class Uses(Protocol):
    @property
    def vpc(self) -> VpcPlan: ...

    @property
    def region(self) -> str: ...

    @property
    def endpoints(self) -> tuple[EndpointPlan, ...]: ...


def plans(specs: Sequence[EndpointSpec], physical: Physical) -> tuple[EndpointPlan, ...]:
    return tuple(
        EndpointPlan(
            path=f"endpoints[{i}]",
            key=ep.name,
            name=physical(f"{ep.name}-endpoint"),
            service=ep.service,
            type=ep.type,
            security_group=physical(ep.security_group) if ep.security_group else None,
        )
        for i, ep in enumerate(specs)
    )


def service_name(region: str, service: str) -> str:
    return f"com.amazonaws.{region}.{service}"


def endpoint_needs(ep: EndpointPlan, vpc: VpcPlan) -> Needs:
    if ep.type == "gateway":
        yield GATEWAY_ENDPOINTS, "region", 1, ep.path
    else:
        yield INTERFACE_ENDPOINTS_PER_VPC, scope(vpc), 1, ep.path
        yield NETWORK_INTERFACES, "region", len(vpc.azs), ep.path  # one ENI per AZ subnet


PART = Part(
    manifest={
        "endpoints": (
            list[EndpointSpec],
            Field(
                default_factory=list,
                max_length=1000,
                description="VPC endpoints for the functions' AWS services.",
            ),
        )
    },
    deployment={"endpoints": tuple[EndpointPlan, ...]},
    resolve=lambda doc, r: {"endpoints": plans(doc.endpoints, r.physical)},
)


def needs(d: Uses) -> Needs:
    for ep in d.endpoints:
        yield from endpoint_needs(ep, d.vpc)


def own_enis(a: Account, d: Uses) -> set[str]:
    """The ENIs of the stack's interface endpoints: AWS makes them untagged, the endpoint lists them."""
    return {
        eni
        for e in a.ec2("DescribeVpcEndpoints", "VpcEndpoints")
        if a.owns(e.get("Tags"))
        for eni in e.get("NetworkInterfaceIds") or []
    }


def register(p: Program, d: Uses) -> None:
    p.made["endpoints"] = []
    # Service -> (environment variable, URL) for interface endpoints without private DNS.
    p.made["endpoint_urls"] = {}
    for ep in d.endpoints:
        common = {
            "vpc_id": p.made["vpc"].id,
            "service_name": service_name(d.region, ep.service),
            "tags": p.tags(ep.name),
            "opts": p.child,
        }
        if ep.type == "gateway":
            ids = [rt.id for rt in p.made["private_route_tables"]]
            made = p.aws.ec2.VpcEndpoint(ep.name, vpc_endpoint_type="Gateway", route_table_ids=ids, **common)
        else:
            made = _interface(p, ep, common)
        p.made["endpoints"].append(made)


def _interface(p: Program, ep: EndpointPlan, common: dict[str, Any]) -> Any:
    assert ep.security_group is not None  # check_deployment made sure
    ec2 = p.aws.ec2
    endpoint = ec2.VpcEndpoint(
        ep.name,
        vpc_endpoint_type="Interface",
        private_dns_enabled=ep.private_dns,
        # S3's private DNS is "inbound only" unless told otherwise, which needs a gateway endpoint:
        # the plan has none where an interface endpoint stands in for it.
        dns_options=ec2.VpcEndpointDnsOptionsArgs(private_dns_only_for_inbound_resolver_endpoint=False)
        if ep.private_dns and ep.service in INBOUND_ONLY_BY_DEFAULT
        else None,
        subnet_ids=p.made["private_subnet_ids"],
        security_group_ids=[p.made["security_groups"][ep.security_group].id],
        **common,
    )
    if ep.url_variable:
        # No private DNS: the functions get the endpoint's own name (its first DNS entry is the regional one).
        p.made["endpoint_urls"][ep.service] = (ep.url_variable, endpoint.dns_entries.apply(first_url))
    return endpoint


def first_url(entries: list[object] | None) -> str:
    """`https://` and the first DNS name of an endpoint (`dns_entries` as the provider answers it)."""
    for entry in entries or []:
        name = entry.get("dns_name") if isinstance(entry, dict) else getattr(entry, "dns_name", None)
        if name:
            return f"https://{name}"
    raise ValueError("the interface endpoint has no DNS entry: the functions would have no URL for it")


def mock_dns_name(endpoint_id: str, inputs: dict[str, Any]) -> str:
    """The DNS name verify-program's mocks give an interface endpoint (AWS: vpce-...vpce.amazonaws.com)."""
    service = str(inputs.get("serviceName", "")).removeprefix("com.amazonaws.")
    return f"{endpoint_id}.{service}.vpce.amazonaws.com"


def expected(d: Uses) -> Expected:
    return {VPC_ENDPOINT: [ep.name for ep in d.endpoints]}


def verify(d: Uses, inv: Inventory, check: Checker) -> None:
    vpc_id = inv.id_of(VPC, d.vpc.name)
    for ep in d.endpoints:
        r = inv.one(VPC_ENDPOINT, ep.name)
        if not r:
            continue
        label, inputs = f"VPC endpoint {ep.name}", r["inputs"]
        check.eq(label, "vpcId", inputs.get("vpcId"), vpc_id)
        check.eq(label, "serviceName", inputs.get("serviceName"), service_name(d.region, ep.service))
        check.eq(label, "vpcEndpointType", inputs.get("vpcEndpointType"), ep.type.capitalize())
        if ep.type == "gateway":
            check.eq(
                label,
                "routeTableIds",
                sorted(inputs.get("routeTableIds") or []),
                private_route_table_ids(d.vpc, inv),
            )
        else:
            _verify_interface(d, ep, inv, check, label, inputs)


def _verify_interface(
    d: Uses, ep: EndpointPlan, inv: Inventory, check: Checker, label: str, inputs: dict[str, Any]
) -> None:
    check.eq(label, "privateDnsEnabled", inputs.get("privateDnsEnabled"), ep.private_dns)
    inbound_only = ep.private_dns and ep.service in INBOUND_ONLY_BY_DEFAULT
    check.eq(
        label,
        "dnsOptions",
        inputs.get("dnsOptions"),
        {"privateDnsOnlyForInboundResolverEndpoint": False} if inbound_only else None,
    )
    check.eq(label, "subnetIds", inputs.get("subnetIds"), private_subnet_ids(d.vpc, inv))
    sg_id = inv.id_of(SECURITY_GROUP, ep.security_group or "")
    check.eq(label, "securityGroupIds", inputs.get("securityGroupIds"), [sg_id])


def create(c: Any, i: dict[str, Any]) -> Created:
    params: dict[str, Any] = {
        "VpcEndpointType": i.get("vpcEndpointType") or "Gateway",
        "VpcId": i["vpcId"],
        "ServiceName": i["serviceName"],
        "TagSpecifications": tag_spec("vpc-endpoint", i),
    }
    for key in ("routeTableIds", "subnetIds", "securityGroupIds"):
        if i.get(key):
            params[key[0].upper() + key[1:]] = list(i[key])
    if i.get("privateDnsEnabled") is not None:
        params["PrivateDnsEnabled"] = bool(i["privateDnsEnabled"])
    inbound_only = (i.get("dnsOptions") or {}).get("privateDnsOnlyForInboundResolverEndpoint")
    if inbound_only is not None:
        params["DnsOptions"] = {"PrivateDnsOnlyForInboundResolverEndpoint": bool(inbound_only)}
    endpoint = c("ec2").create_vpc_endpoint(**params)["VpcEndpoint"]
    entries = [
        {"dnsName": e["DnsName"], "hostedZoneId": e.get("HostedZoneId", "")}
        for e in endpoint.get("DnsEntries") or ()
        if e.get("DnsName")
    ]
    return endpoint["VpcEndpointId"], {"dnsEntries": entries}


CREATORS = {VPC_ENDPOINT: create}
UPDATERS: dict[str, Any] = {}


def named(d: Uses) -> list[tuple[str, str]]:
    return []
