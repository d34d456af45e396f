"""`preflight.plan.impact`: the cost, security and performance of each kind of adaptation, in words and
in dollars a month (us-east-1 list prices, estimates)."""

from __future__ import annotations

import pytest

from preflight.plan import impact


def test_dropping_a_gateway_endpoint_is_free_but_leaves_the_private_route() -> None:
    i = impact.drop_gateway_endpoint("s3")
    assert i.monthly_cost_delta_usd == 0.0 and i.cost.startswith("none: gateway endpoints are free")
    assert "s3 traffic no longer stays on the VPC's private route to s3" == i.security
    assert i.performance.startswith("low")


@pytest.mark.parametrize(("azs", "saved"), [(1, 7.30), (2, 14.60), (3, 21.90)])
def test_dropping_an_interface_endpoint_saves_its_hours_in_every_az(azs: int, saved: float) -> None:
    i = impact.drop_interface_endpoint("kinesis-streams", azs)
    assert i.monthly_cost_delta_usd == pytest.approx(-saved)
    assert i.cost.startswith(f"saves about ${saved:.2f}/month ({azs} AZ x $7.30)")
    assert "PrivateLink" in i.security and "kinesis-streams" in i.security


@pytest.mark.parametrize(("gateways", "monthly"), [(1, 36.50), (3, 109.50)])
def test_a_nat_route_costs_each_gateway_and_its_elastic_ip(gateways: int, monthly: float) -> None:
    i = impact.nat_route(gateways)
    assert i.monthly_cost_delta_usd == pytest.approx(monthly)  # $32.85 + $3.65 each
    assert f"${monthly:.2f}/month for {gateways} NAT gateway(s)" in i.cost
    assert "private subnets" in i.security and "single-AZ" in i.performance


def test_leaving_the_vpc_costs_nothing_and_says_what_isolation_is_lost() -> None:
    i = impact.leave_vpc()
    assert i.monthly_cost_delta_usd == 0.0
    assert "lose network isolation" in i.security and "IAM" in i.security
    assert i.performance.startswith("none for invocations")


def test_the_execution_policy_change_says_which_way_privilege_moves() -> None:
    assert impact.execution_policy(True).security.startswith("better: least privilege")
    assert "gains the ENI permissions" in impact.execution_policy(False).security


def test_shared_and_dropped_reservations_name_the_capacity_lost() -> None:
    shared = impact.share_concurrency(500, 50)
    assert "50 concurrent executions in total instead of 500" in shared.performance
    assert shared.cost.startswith("none") and shared.monthly_cost_delta_usd == 0.0
    dropped = impact.drop_reservations(3)
    assert dropped.performance.startswith("medium: 3 function(s) run without reserved capacity")


def test_the_interface_fallback_costs_each_endpoint_in_each_az_and_names_the_dns_caveats() -> None:
    i = impact.interface_fallback(
        [("s3", None), ("dynamodb", "AWS_ENDPOINT_URL_DYNAMODB")], 2, "sg-endpoints"
    )
    assert i.monthly_cost_delta_usd == pytest.approx(2 * 2 * 7.30)
    assert i.cost.startswith("adds about $29.20/month (2 endpoint(s) x 2 AZ x $7.30)")
    assert "security group sg-endpoints" in i.security
    assert "dynamodb interface endpoints offer no private DNS" in i.security
    assert (
        "AWS_ENDPOINT_URL_DYNAMODB" in i.security
        and "s3 private DNS answers for every resolver" in i.security
    )
    only_dynamodb = impact.interface_fallback([("dynamodb", "AWS_ENDPOINT_URL_DYNAMODB")], 3, "g")
    assert only_dynamodb.monthly_cost_delta_usd == pytest.approx(3 * 7.30)
    assert "s3 private DNS" not in only_dynamodb.security


def test_an_unused_endpoint_costs_what_its_kind_costs() -> None:
    interface = impact.unused_endpoint("kinesis-streams", "interface", 2)
    assert interface.monthly_cost_delta_usd == pytest.approx(14.60)
    assert interface.cost.startswith("about $14.60/month (2 AZ x $7.30) for nothing")
    gateway = impact.unused_endpoint("s3", "gateway", 2)
    assert gateway.monthly_cost_delta_usd == 0.0 and gateway.cost.startswith("none")


def test_an_idle_or_dropped_vpc_names_the_quota_it_holds() -> None:
    idle = impact.idle_vpc(4, True)
    assert "1 of VPCs per Region (L-F678F1CE)" in idle.cost
    assert "1 of internet gateways per Region (L-A4707A72)" in idle.cost and "4 subnet(s)" in idle.cost
    assert "internet gateways per Region" not in impact.idle_vpc(2, False).cost
    dropped = impact.drop_vpc(2, False)
    assert dropped.cost.startswith(
        "none in money (estimate); frees 1 of VPCs per Region (L-F678F1CE), 2 subnet(s)"
    )
    assert dropped.monthly_cost_delta_usd == 0.0


def test_dropping_a_security_group_changes_nothing_else() -> None:
    i = impact.drop_security_group()
    assert (i.cost, i.performance) == ("none", "none") and "nothing uses the group" in i.security


def test_giving_up_a_nat_route_saves_each_gateway_and_says_where_the_functions_can_still_go() -> None:
    kept = impact.drop_nat_route(2, attached=True)
    assert kept.monthly_cost_delta_usd == pytest.approx(-73.0)
    assert kept.cost.startswith("saves about $73.00/month for 2 NAT gateway(s)")
    assert "only the services the VPC has endpoints for" in kept.security
    assert "endpoints" not in impact.drop_nat_route(1, attached=False).security


def test_a_stand_in_deployed_as_its_gateway_saves_its_hours() -> None:
    i = impact.gateway_kept(["s3"], 3)
    assert i.monthly_cost_delta_usd == pytest.approx(-21.90)
    assert "s3 traffic takes the VPC's gateway route" in i.security and "L-1B52E74A" in i.performance


def test_combined_effects_add_their_costs_and_keep_each_text() -> None:
    one = impact.leave_vpc()
    assert impact.combined([one]) == one
    both = impact.combined([one, impact.drop_nat_route(1, attached=False)])
    assert both.monthly_cost_delta_usd == pytest.approx(-36.5)
    assert both.cost.startswith(one.cost + "; saves about $36.50")
    assert both.security.startswith(one.security)
