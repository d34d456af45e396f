"""`preflight.plan.decisions`: one networking choice realized along the graph, with the functions the
requested deployment is resolved with, and a plan file's decisions checked against the policy."""

from __future__ import annotations

from preflight.deployment import BASIC_EXECUTION_POLICY, VPC_ACCESS_POLICY, Decisions, Deployment
from preflight.manifest import Manifest
from preflight.plan.decisions import check_decisions, decisions_of, realize, rebuild, serving_endpoints
from preflight.plan.policy import degradation_policy
from tests.unit_helpers import AZS, with_lambda

ALL = frozenset({"s3", "dynamodb", "kinesis"})


def test_realizing_the_requested_choice_gives_the_requested_deployment(
    manifest: Manifest, requested: Deployment
) -> None:
    assert realize(requested, degradation_policy(manifest), "vpc-with-endpoints", ALL) == requested


def test_a_nat_route_brings_its_gateways_and_the_internet_gateway(
    manifest: Manifest, requested: Deployment
) -> None:
    single = realize(requested, degradation_policy(manifest), "vpc-with-nat", frozenset())
    assert single.vpc.nat_gateway_azs == ("us-east-1a",) and single.vpc.internet_gateway
    assert single.endpoints == () and [sg.key for sg in single.security_groups] == ["lambda"]
    per_az = degradation_policy(with_lambda(manifest, networking={"nat_gateways": "per-az"}))
    assert realize(requested, per_az, "vpc-with-nat", frozenset()).vpc.nat_gateway_azs == AZS[:2]


def test_out_of_the_vpc_the_role_and_groups_follow(manifest: Manifest, requested: Deployment) -> None:
    policy = degradation_policy(manifest)
    out = realize(requested, policy, "no-vpc", frozenset())
    assert out.role.managed_policies == (BASIC_EXECUTION_POLICY,)
    assert not any(f.vpc_attached for f in out.functions) and out.security_groups == ()
    assert out.vpc.created  # kept unless the caller lets it go
    gone = realize(requested, policy, "no-vpc", frozenset(), keep_vpc=False)
    assert not gone.vpc.created and gone.vpc.subnets == () and not gone.vpc.internet_gateway
    back = realize(out, policy, "vpc-with-endpoints", ALL)  # endpoints come from its input: none here
    assert back.role.managed_policies == (VPC_ACCESS_POLICY,) and back.endpoints == ()
    assert [sg.key for sg in back.security_groups] == ["lambda"]


def test_serving_endpoints_are_those_an_attached_function_uses(requested: Deployment) -> None:
    assert serving_endpoints(requested, "vpc-with-nat") == ALL
    assert serving_endpoints(requested, "no-vpc") == frozenset()
    only_archive = requested.model_copy(update={"functions": requested.functions[4:]})  # uses s3
    assert serving_endpoints(only_archive, "vpc-with-endpoints") == {"s3"}


def test_decisions_round_trip_and_refusals_name_the_field(manifest: Manifest, requested: Deployment) -> None:
    decisions = decisions_of(requested)
    assert check_decisions(manifest, "us-east-1", decisions) == []
    assert rebuild(manifest, "us-east-1", decisions) == requested
    bad = Decisions(
        azs=("us-east-1a", "eu-west-1b"),
        networking="vpc-with-nat",
        endpoints=("s3",),
        reservations={**decisions.reservations, "ingest": 4, "enrich": None},
        vpc=False,
        interface=("s3",),
    )
    problems = dict(check_decisions(manifest, "us-east-1", bad))
    assert problems["azs[1]"] == "'eu-west-1b' is not an availability zone of us-east-1"
    assert problems["networking"] == "vpc-with-nat is not allowed by lambda.networking.preference"
    assert problems["interface[0]"] == "'s3': only vpc-with-interface-endpoints replaces gateways"
    assert problems["vpc"].startswith("false: the VPC may be left out only when vpc.optional")
    assert problems["reservations.ingest"] == "4: the manifest allows 5 to 100 for ingest"
    assert "reservations.enrich" not in problems  # dropping is allowed (drop-reservations)
    required = check_decisions(manifest, "us-east-1", decisions.model_copy(update={"endpoints": ("s3",)}))
    assert required == [
        ("endpoints", "'dynamodb' is required with vpc-with-endpoints"),
        ("endpoints", "'kinesis' is required with vpc-with-endpoints"),
    ]
