"""`preflight.plan.concurrency`: water-filling what the account can still reserve, and dropping
reservations (lowest weight first) when even the floors do not fit, as the policy allows."""

from __future__ import annotations

from preflight.deployment import Deployment
from preflight.manifest import Manifest
from preflight.plan.concurrency import share, water_fill
from preflight.plan.policy import degradation_policy
from preflight.quotas import catalog
from tests.conftest import synthetic_state
from tests.unit_helpers import with_doc, with_lambda

LAMBDA = catalog.LAMBDA_CONCURRENCY.quota_code
KEYS = ("ingest", "transform", "enrich", "aggregate", "archive")  # 100 asked each, floors 5, weights 1


def account(limit: float, used: float = 0):
    return synthetic_state(limits={LAMBDA: limit}, usage={LAMBDA: {"region": used}})


def with_functions(manifest: Manifest, **changes: dict) -> Manifest:
    return with_doc(
        manifest, functions=[f.model_copy(update=changes.get(f.name, {})) for f in manifest.doc.functions]
    )


def test_equal_weights_share_equally() -> None:
    asks = {"a": 100, "b": 100, "c": 100}
    assert water_fill(asks, dict.fromkeys(asks, 5), dict.fromkeys(asks, 1.0), 150) == {
        "a": 50,
        "b": 50,
        "c": 50,
    }


def test_weights_share_in_proportion_and_a_small_request_frees_its_rest() -> None:
    asks = {"a": 100, "b": 100, "c": 100}
    floors = dict.fromkeys(asks, 5)
    assert water_fill(asks, floors, {"a": 2.0, "b": 1.0, "c": 1.0}, 100) == {"a": 50, "b": 25, "c": 25}
    assert water_fill({"a": 10, "b": 100}, {"a": 1, "b": 1}, {"a": 1.0, "b": 1.0}, 60) == {"a": 10, "b": 50}


def test_a_floor_is_kept_above_the_level() -> None:
    asks = {"a": 100, "b": 100, "c": 100}
    shares = water_fill(asks, {"a": 40, "b": 5, "c": 5}, dict.fromkeys(asks, 1.0), 60)
    assert shares == {"a": 40, "b": 10, "c": 10}


def test_what_rounding_leaves_goes_one_by_one_and_the_budget_is_used() -> None:
    asks = {"c": 100, "a": 100, "b": 100}
    shares = water_fill(asks, dict.fromkeys(asks, 1), dict.fromkeys(asks, 1.0), 10)
    assert shares == {"a": 4, "b": 3, "c": 3} and sum(shares.values()) == 10
    assert water_fill({"a": 3, "b": 4}, {"a": 1, "b": 1}, {"a": 1.0, "b": 1.0}, 100) == {"a": 3, "b": 4}


def test_what_fits_stands(manifest: Manifest, requested: Deployment) -> None:
    allocation = share(requested, degradation_policy(manifest), account(1000, 400))  # 500 reservable
    assert allocation.feasible and allocation.planned_total == allocation.requested_total == 500
    assert allocation.reservations == dict.fromkeys(KEYS, 100) and allocation.reason == ""


def test_the_seeds_account_shares_fifty_as_ten_each(manifest: Manifest, requested: Deployment) -> None:
    allocation = share(requested, degradation_policy(manifest), account(1000, 850))
    assert allocation.reservations == dict.fromkeys(KEYS, 10) and allocation.planned_total == 50
    assert allocation.reason.startswith("500 requested but only 50 can still be reserved (limit 1000")


def test_when_floors_do_not_fit_the_lowest_weight_is_dropped_first(
    manifest: Manifest, requested: Deployment
) -> None:
    # 120 - 100 unreserved = 20 < five floors of 5: one reservation goes; equal weights: by name.
    allocation = share(requested, degradation_policy(manifest), account(120))
    assert allocation.dropped == ("aggregate",) and allocation.reservations["aggregate"] is None
    assert [allocation.reservations[k] for k in KEYS if k != "aggregate"] == [5, 5, 5, 5]
    assert allocation.reason.endswith("; dropped the reservation of aggregate")

    light = with_functions(manifest, ingest={"weight": 0.5})
    assert share(requested, degradation_policy(light), account(120)).dropped == ("ingest",)
    kept = with_functions(manifest, aggregate={"reservation_required": True})
    assert share(requested, degradation_policy(kept), account(120)).dropped == ("archive",)


def test_no_go_policy_and_required_floors_keep_the_requests_and_say_why(
    manifest: Manifest, requested: Deployment
) -> None:
    no_go = with_lambda(manifest, concurrency={"when_floors_do_not_fit": "no-go"})
    refused = share(requested, degradation_policy(no_go), account(120))
    assert not refused.feasible and refused.reservations == dict.fromkeys(KEYS, 100)
    assert refused.reason.endswith("; the policy forbids dropping reservations")

    required = with_functions(manifest, **{k: {"reservation_required": True} for k in KEYS})
    stuck = share(requested, degradation_policy(required), account(120))
    assert not stuck.feasible and stuck.reason.endswith(
        "even the floors of the required reservations do not fit"
    )


def test_without_sharing_a_function_gets_its_request_or_nothing(
    manifest: Manifest, requested: Deployment
) -> None:
    none = with_lambda(manifest, concurrency={"sharing": "none"})
    allocation = share(requested, degradation_policy(none), account(350))  # 250 reservable
    # Floors are the requests: 100 each, dropped by name (equal weights) until 250 holds the rest.
    assert allocation.dropped == ("aggregate", "archive", "enrich")
    assert allocation.reservations == {"ingest": 100, "transform": 100, "enrich": None, "aggregate": None,
                                       "archive": None}  # fmt: skip
    assert allocation.planned_total == 200 and len(allocation.dropped) == 3


def test_an_unread_limit_shares_nothing(manifest: Manifest, requested: Deployment) -> None:
    state = account(1000)
    unread = state.model_copy(update={"usage": {**state.usage, LAMBDA: state.usage[LAMBDA].model_copy(
        update={"scopes": None, "error": "throttled"})}})  # fmt: skip
    allocation = share(requested, degradation_policy(manifest), unread)
    assert not allocation.feasible and allocation.reason == "reservable concurrency unknown"
