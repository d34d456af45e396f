"""`preflight.demand`: what a deployment needs of each quota, in each scope, including what its
resources imply (a NAT gateway's Elastic IP and ENI, an interface endpoint's ENI per AZ, Lambda's
Hyperplane ENIs, reservations on the concurrency quota)."""

from __future__ import annotations

from preflight.demand import compute_demand
from preflight.deployment import Deployment, EndpointPlan
from preflight.quotas import catalog

VPC = "vpc:pipeline-vpc-prod"
AZS3 = ("us-east-1a", "us-east-1b", "us-east-1c")


def amounts(d: Deployment) -> dict[tuple[str, str], float]:
    return {(x.quota_code, x.scope): x.amount for x in compute_demand(d)}


def code(q: catalog.Quota) -> str:
    return q.quota_code


def with_vpc(d: Deployment, **changes: object) -> Deployment:
    return d.model_copy(update={"vpc": d.vpc.model_copy(update=changes)})


def test_the_shipped_deployment_needs_what_its_resources_imply(requested: Deployment) -> None:
    need = amounts(requested)
    assert need[(code(catalog.VPCS), "region")] == 1
    assert need[(code(catalog.SUBNETS_PER_VPC), VPC)] == 4  # a public and a private subnet per AZ
    assert need[(code(catalog.GATEWAY_ENDPOINTS), "region")] == 2  # s3, dynamodb
    assert need[(code(catalog.INTERFACE_ENDPOINTS_PER_VPC), VPC)] == 1  # kinesis
    # The Kinesis endpoint's ENI in each of the 2 AZs, and Lambda's 2 Hyperplane ENIs (one per private
    # subnet, shared by the five functions).
    assert need[(code(catalog.NETWORK_INTERFACES), "region")] == 2 + 2
    assert need[(code(catalog.LAMBDA_ENIS_PER_VPC), VPC)] == 2
    assert need[(code(catalog.LAMBDA_CONCURRENCY), "region")] == 500
    assert (code(catalog.NAT_GATEWAYS_PER_AZ), "az:us-east-1a") not in need
    assert (code(catalog.ELASTIC_IPS), "region") not in need


def test_a_nat_gateway_brings_its_elastic_ip_and_network_interface(requested: Deployment) -> None:
    before = amounts(requested)
    one = amounts(with_vpc(requested, nat_gateway_azs=("us-east-1a",)))
    assert one[(code(catalog.NAT_GATEWAYS_PER_AZ), "az:us-east-1a")] == 1
    assert (code(catalog.NAT_GATEWAYS_PER_AZ), "az:us-east-1b") not in one
    assert one[(code(catalog.ELASTIC_IPS), "region")] == 1
    eni = (code(catalog.NETWORK_INTERFACES), "region")
    assert one[eni] == before[eni] + 1

    per_az = amounts(with_vpc(requested, nat_gateway_azs=("us-east-1a", "us-east-1b")))
    assert per_az[(code(catalog.NAT_GATEWAYS_PER_AZ), "az:us-east-1b")] == 1
    assert per_az[(code(catalog.ELASTIC_IPS), "region")] == 2
    assert per_az[eni] == before[eni] + 2


def test_a_nat_gateway_needs_the_internet_gateway_even_without_public_subnets_asked(
    requested: Deployment,
) -> None:
    igw = (code(catalog.INTERNET_GATEWAYS), "region")
    assert igw not in amounts(with_vpc(requested, internet_gateway=False))
    assert amounts(with_vpc(requested, internet_gateway=False, nat_gateway_azs=("us-east-1a",)))[igw] == 1


def test_an_interface_endpoint_has_one_network_interface_per_az_a_gateway_none(requested: Deployment) -> None:
    base = requested.model_copy(update={"endpoints": ()})
    sqs = EndpointPlan(path="endpoints[9]", key="x", name="x", service="sqs", type="interface")
    eni = (code(catalog.NETWORK_INTERFACES), "region")
    with_interface = amounts(base.model_copy(update={"endpoints": (sqs,)}))
    assert with_interface[eni] == amounts(base)[eni] + 2  # 2 AZs
    assert with_interface[(code(catalog.INTERFACE_ENDPOINTS_PER_VPC), VPC)] == 1

    three_azs = base.model_copy(
        update={"endpoints": (sqs,), "vpc": base.vpc.model_copy(update={"azs": AZS3})}
    )
    assert amounts(three_azs)[eni] - amounts(base)[eni] == 3

    gateway = sqs.model_copy(update={"service": "s3", "type": "gateway"})
    with_gateway = amounts(base.model_copy(update={"endpoints": (gateway,)}))
    assert with_gateway[eni] == amounts(base)[eni]
    assert with_gateway[(code(catalog.GATEWAY_ENDPOINTS), "region")] == 1


def test_hyperplane_enis_are_per_private_subnet_not_per_function(requested: Deployment) -> None:
    lambda_enis = (code(catalog.LAMBDA_ENIS_PER_VPC), VPC)
    one = requested.model_copy(update={"functions": requested.functions[:1]})
    assert amounts(one)[lambda_enis] == amounts(requested)[lambda_enis] == 2
    detached = requested.model_copy(
        update={"functions": tuple(f.model_copy(update={"vpc_attached": False}) for f in requested.functions)}
    )
    need = amounts(detached)
    assert lambda_enis not in need
    # Only the Kinesis endpoint's two ENIs remain.
    assert need[(code(catalog.NETWORK_INTERFACES), "region")] == 2


def test_reservations_are_one_demand_on_the_concurrency_quota_with_their_paths(requested: Deployment) -> None:
    functions = list(requested.functions)
    functions[1] = functions[1].model_copy(update={"reserved_concurrency": None})
    functions[2] = functions[2].model_copy(update={"reserved_concurrency": 7})
    d = requested.model_copy(update={"functions": tuple(functions)})
    (concurrency,) = [x for x in compute_demand(d) if x.quota_code == code(catalog.LAMBDA_CONCURRENCY)]
    assert (concurrency.scope, concurrency.amount) == ("region", 100 + 7 + 100 + 100)
    assert concurrency.resources == (
        "functions[0].reservedConcurrency",
        "functions[2].reservedConcurrency",
        "functions[3].reservedConcurrency",
        "functions[4].reservedConcurrency",
    )


def test_no_vpc_needs_nothing_of_the_network(requested: Deployment) -> None:
    gone = with_vpc(requested, created=False, subnets=(), internet_gateway=False)
    gone = gone.model_copy(
        update={
            "endpoints": (),
            "security_groups": (),
            "functions": tuple(f.model_copy(update={"vpc_attached": False}) for f in requested.functions),
        }
    )
    network = {code(q) for q in (catalog.VPCS, catalog.SUBNETS_PER_VPC, catalog.NETWORK_INTERFACES,
                                 catalog.SECURITY_GROUPS, catalog.INTERNET_GATEWAYS)}  # fmt: skip
    assert not {c for c, _ in amounts(gone)} & network
    assert amounts(gone)[(code(catalog.LAMBDA_CONCURRENCY), "region")] == 500
