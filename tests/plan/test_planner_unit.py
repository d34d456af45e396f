"""`preflight.plan.planner`, piece by piece on synthetic accounts: which optional endpoints an adapted
plan keeps (free ones first), which gateways stand in as interface endpoints (DynamoDB's kept first),
what fits as requested is returned unchanged, and a NO_GO shows the closest choice."""

from __future__ import annotations

from preflight.gate import GatePolicy
from preflight.manifest import Manifest
from preflight.plan.planner import plan, plan_manifest
from preflight.plan.policy import degradation_policy
from preflight.quotas import catalog
from tests.conftest import synthetic_state
from tests.unit_helpers import AZS, with_lambda

GATEWAYS = catalog.GATEWAY_ENDPOINTS.quota_code
INTERFACES = catalog.INTERFACE_ENDPOINTS_PER_VPC.quota_code


def gateway_room(room: int) -> dict:
    return {GATEWAYS: {"region": 20 - room}}  # the regional default is 20


def test_what_fits_is_returned_unchanged_with_go(manifest: Manifest) -> None:
    requested = manifest.requested("us-east-1", AZS)
    result = plan(requested, degradation_policy(manifest), synthetic_state(), GatePolicy())
    assert result.verdict == "GO" and result.adapted == requested == result.requested
    assert result.adaptations == () and result.attempts == () and result.notes == ()


def test_without_adapting_a_blocked_request_is_no_go_as_check_says(manifest: Manifest) -> None:
    result = plan_manifest(manifest, synthetic_state(usage=gateway_room(0)), GatePolicy(), adapt=False)
    assert result.verdict == "NO_GO" and result.adapted == result.requested and result.attempts == ()
    assert {r.quota_code: r.required for r in result.increase_requests} == {GATEWAYS: 22}


def test_optional_endpoints_are_kept_where_they_fit_gateways_first(manifest: Manifest) -> None:
    nat = with_lambda(manifest, networking={"preference": ["vpc-with-nat"]})
    result = plan_manifest(nat, synthetic_state(usage=gateway_room(1)), GatePolicy())
    # Candidates in order: the free gateways (dynamodb, then s3 by name), then kinesis (interface).
    assert result.verdict == "GO_WITH_ADAPTATIONS"
    assert [ep.key for ep in result.adapted.endpoints] == ["dynamodb", "kinesis"]
    (dropped,) = [a for a in result.adaptations if a.id == "endpoint-s3-dropped"]
    assert dropped.quota_code == GATEWAYS and dropped.reason.startswith(f"does not fit {GATEWAYS} ")
    assert dropped.reason.endswith("; the endpoint is optional")


def test_an_interface_quota_with_no_room_refuses_the_interface_endpoint(manifest: Manifest) -> None:
    nat = with_lambda(manifest, networking={"preference": ["vpc-with-nat"]})
    result = plan_manifest(nat, synthetic_state(limits={INTERFACES: 0}), GatePolicy())
    assert [ep.key for ep in result.adapted.endpoints] == ["s3", "dynamodb"]
    assert [a.quota_code for a in result.adaptations if a.id == "endpoint-kinesis-dropped"] == [INTERFACES]


def test_dynamodbs_gateway_is_kept_first_when_gateways_stand_in(manifest: Manifest) -> None:
    fallback = with_lambda(
        manifest,
        networking={
            "preference": ["vpc-with-endpoints", "vpc-with-interface-endpoints", "no-vpc"],
            "interface_security_group": "endpoints",
        },
    )
    result = plan_manifest(fallback, synthetic_state(usage=gateway_room(1)), GatePolicy())
    kinds = {ep.key: (ep.type, ep.stands_in_for_gateway) for ep in result.adapted.endpoints}
    # DynamoDB's interface endpoint has no private DNS: its gateway is the one the quota's room keeps.
    assert kinds == {
        "s3": ("interface", True),
        "dynamodb": ("gateway", False),
        "kinesis": ("interface", False),
    }
    assert result.adapted.networking == "vpc-with-interface-endpoints"
    (networking,) = [a for a in result.adaptations if a.id == "lambda-networking"]
    assert networking.quota_code == GATEWAYS and networking.impact.monthly_cost_delta_usd > 0


def test_no_go_shows_the_choice_with_the_fewest_quotas_in_the_way(manifest: Manifest) -> None:
    # No VPC can be created: every choice keeps the VPC (not optional) and is blocked by it; the
    # preferred one also by the gateway quota, so the closest is no-vpc.
    state = synthetic_state(usage={catalog.VPCS.quota_code: {"region": 5}, **gateway_room(0)})
    result = plan_manifest(manifest, state, GatePolicy())
    assert result.verdict == "NO_GO"
    assert [a.mode for a in result.attempts] == ["vpc-with-endpoints", "no-vpc"]
    assert {f.quota_code for f in result.attempts[0].blocking} == {catalog.VPCS.quota_code, GATEWAYS}
    assert result.adapted.networking == "no-vpc"


def test_unknown_blocks_the_plan_unless_allowed(manifest: Manifest) -> None:
    state = synthetic_state()
    unread = state.model_copy(
        update={"usage": {**state.usage, GATEWAYS: state.usage[GATEWAYS].model_copy(update={"scopes": None})}}
    )
    assert plan_manifest(manifest, unread, GatePolicy()).verdict == "GO_WITH_ADAPTATIONS"  # leaves the VPC
    allowed = plan_manifest(manifest, unread, GatePolicy.from_flags(allow_unknown=True))
    assert allowed.verdict == "GO" and allowed.adapted == allowed.requested
