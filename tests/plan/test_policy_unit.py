"""`preflight.plan.policy`: the manifest's degradation policy, read once, and the rules it states."""

from __future__ import annotations

from pathlib import Path

from preflight.manifest import Manifest
from preflight.plan.policy import degradation_policy
from tests.unit_helpers import with_doc, with_lambda


def test_the_shipped_policy(manifest: Manifest) -> None:
    policy = degradation_policy(manifest)
    assert policy.networking == ("vpc-with-endpoints", "no-vpc")
    assert (policy.nat_gateways, policy.vpc_optional, policy.az_count) == ("single", False, 2)
    assert list(policy.endpoints) == ["s3", "dynamodb", "kinesis"] and all(
        ep.optional for ep in policy.endpoints.values()
    )
    assert (policy.sharing, policy.when_floors_do_not_fit) == ("water-fill", "drop-reservations")
    assert [(f.request, f.floor, f.weight, f.required) for f in policy.functions.values()] == [
        (100, 5, 1.0, False)
    ] * 5
    assert [sg.key for sg in policy.security_groups] == ["endpoints", "lambda"]
    lines = Path(manifest.path).read_text().splitlines()
    assert lines[policy.line_of("lambda.networking.preference") - 1].strip().startswith("preference:")


def test_each_gateway_has_its_interface_stand_in_and_only_dynamodb_a_url_variable(manifest: Manifest) -> None:
    endpoints = degradation_policy(
        with_lambda(manifest, networking={"interface_security_group": "endpoints"})
    ).endpoints
    s3, dynamodb, kinesis = endpoints["s3"], endpoints["dynamodb"], endpoints["kinesis"]
    assert kinesis.stand_in is None and not kinesis.gateway
    assert s3.stand_in is not None and dynamodb.stand_in is not None
    assert (s3.stand_in.type, s3.stand_in.private_dns, s3.stand_in.url_variable) == ("interface", True, None)
    assert (dynamodb.stand_in.private_dns, dynamodb.stand_in.url_variable) == (
        False,
        "AWS_ENDPOINT_URL_DYNAMODB",
    )
    assert (
        dynamodb.stand_in.security_group == "pipeline-endpoints-prod"
        and dynamodb.stand_in.stands_in_for_gateway
    )
    # Only vpc-with-interface-endpoints replaces a gateway, and only those it is told to (None: all).
    assert s3.as_deployed("vpc-with-endpoints") == s3.declared
    assert s3.as_deployed("vpc-with-interface-endpoints") == s3.stand_in
    assert s3.as_deployed("vpc-with-interface-endpoints", frozenset({"dynamodb"})) == s3.declared
    assert kinesis.as_deployed("vpc-with-interface-endpoints") == kinesis.declared


def test_required_endpoints_follow_the_mode_and_the_optional_flag(manifest: Manifest) -> None:
    policy = degradation_policy(manifest)
    # Without a NAT route, endpoints are the functions' only path to the services they use.
    assert policy.required_endpoints("vpc-with-endpoints") == {"s3", "dynamodb", "kinesis"}
    assert policy.required_endpoints("vpc-with-interface-endpoints") == {"s3", "dynamodb", "kinesis"}
    assert policy.required_endpoints("vpc-with-nat") == frozenset()
    assert policy.required_endpoints("no-vpc") == frozenset()
    s3_kept = with_doc(
        manifest,
        endpoints=[ep.model_copy(update={"optional": ep.name != "s3"}) for ep in manifest.doc.endpoints],
    )
    assert degradation_policy(s3_kept).required_endpoints("no-vpc") == {"s3"}


def test_the_vpc_goes_only_when_optional_out_of_it_and_with_no_endpoint(manifest: Manifest) -> None:
    assert not degradation_policy(manifest).vpc_can_go("no-vpc", ())
    optional = degradation_policy(
        with_doc(manifest, vpc=manifest.doc.vpc.model_copy(update={"optional": True}))
    )
    assert optional.vpc_can_go("no-vpc", ())
    assert not optional.vpc_can_go("no-vpc", ("s3",))
    assert not optional.vpc_can_go("vpc-with-nat", ())


def test_floors_and_drops_follow_the_concurrency_policy(manifest: Manifest) -> None:
    policy = degradation_policy(manifest)
    assert policy.floor_of("ingest") == 5 and policy.may_drop_reservation("ingest")
    assert (
        degradation_policy(with_lambda(manifest, concurrency={"sharing": "none"})).floor_of("ingest") == 100
    )
    no_go = degradation_policy(with_lambda(manifest, concurrency={"when_floors_do_not_fit": "no-go"}))
    assert not no_go.may_drop_reservation("ingest")
    required = with_doc(
        manifest,
        functions=[
            f.model_copy(update={"reservation_required": f.name == "enrich"}) for f in manifest.doc.functions
        ],
    )
    assert not degradation_policy(required).may_drop_reservation("enrich")
    assert degradation_policy(required).may_drop_reservation("ingest")
