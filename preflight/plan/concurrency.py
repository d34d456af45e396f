"""Sharing what the account can still reserve among the functions (water-filling).

Reservable = limit - unreserved floor (min(100, limit)) - what other functions already hold. If the
requests fit, they stand. Otherwise each function gets min(request, max(floor, level x weight)) with the
highest level that fits; leftover units go to the functions furthest below their share. If even the
floors do not fit, reservations are dropped (lowest weight first) until the rest fit, or - where the
policy says `no-go` or a function's reservation is required - the requests stand and the plan is NO_GO.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from preflight.account.read import AccountState
from preflight.deployment import Deployment
from preflight.evaluate import headroom
from preflight.plan.policy import DegradationPolicy
from preflight.quotas import catalog

CODE = catalog.LAMBDA_CONCURRENCY.quota_code


@dataclass(frozen=True)
class Allocation:
    reservations: dict[str, int | None]  # by function key; None: no reservation
    requested_total: int
    planned_total: int
    reservable: float | None
    reason: str = ""
    feasible: bool = True
    dropped: tuple[str, ...] = field(default_factory=tuple)


def reservable(state: AccountState) -> float | None:
    return headroom(state, catalog.LAMBDA_CONCURRENCY, "region")


def water_fill(
    requests: dict[str, int], floors: dict[str, int], weights: dict[str, float], budget: int
) -> dict[str, int]:
    """Integer max-min fair shares: each gets min(request, max(floor, level x weight)), sum <= budget.

    Requires sum(floors) <= budget. Deterministic whatever the order of the inputs.
    """
    keys = sorted(requests)
    if sum(requests.values()) <= budget:
        return dict(requests)

    def total(level: float) -> int:
        return sum(min(requests[k], max(floors[k], math.floor(level * weights[k]))) for k in keys)

    low, high = 0.0, max(requests[k] / weights[k] for k in keys) + 1
    for _ in range(100):  # bisection on the water level
        mid = (low + high) / 2
        if total(mid) <= budget:
            low = mid
        else:
            high = mid
    shares = {k: min(requests[k], max(floors[k], math.floor(low * weights[k]))) for k in keys}
    left = budget - sum(shares.values())
    # Hand out what floor() left over, one unit at a time, to whoever is furthest below its weight.
    while left > 0:
        open_keys = [k for k in keys if shares[k] < requests[k]]
        if not open_keys:
            break
        k = min(open_keys, key=lambda k: ((shares[k] + 1) / weights[k], k))
        shares[k] += 1
        left -= 1
    return shares


def share(requested: Deployment, policy: DegradationPolicy, state: AccountState) -> Allocation:
    """What each function of `requested` may reserve in this account, under the manifest's policy."""
    asks = {f.key: f.reserved_concurrency for f in requested.functions if f.reserved_concurrency is not None}
    keep_all: dict[str, int | None] = {f.key: f.reserved_concurrency for f in requested.functions}
    total_asked = sum(asks.values())
    room = reservable(state)
    if room is None:
        return Allocation(
            keep_all, total_asked, total_asked, None, "reservable concurrency unknown", feasible=False
        )
    budget = max(0, math.floor(room))
    if total_asked <= budget:
        return Allocation(keep_all, total_asked, total_asked, room)
    why = (
        f"{total_asked} requested but only {budget} can still be reserved (limit "
        f"{state.limit(CODE).value:g}, unreserved floor kept, {state.usage_in(CODE, 'region'):g} held by "
        "other functions)"
    )
    floors = {k: policy.floor_of(k) for k in asks}
    weights = {k: policy.functions[k].weight for k in asks}
    kept, refusal = _keep_within_floors(asks, floors, weights, budget, policy)
    if refusal:
        return Allocation(keep_all, total_asked, total_asked, room, f"{why}; {refusal}", feasible=False)
    shares = water_fill({k: asks[k] for k in kept}, floors, weights, budget)
    reservations: dict[str, int | None] = {f.key: shares.get(f.key) for f in requested.functions}
    planned = sum(v for v in reservations.values() if v is not None)
    dropped = sorted(set(asks) - kept)
    reason = why + (f"; dropped the reservation of {', '.join(dropped)}" if dropped else "")
    return Allocation(reservations, total_asked, planned, room, reason, dropped=tuple(dropped))


def _keep_within_floors(
    asks: dict[str, int],
    floors: dict[str, int],
    weights: dict[str, float],
    budget: int,
    policy: DegradationPolicy,
) -> tuple[set[str], str]:
    """The functions whose reservations are kept so that their floors fit (lowest weight dropped first,
    then the larger floor, then by name), or why the policy allows no such set."""
    kept = set(asks)
    if sum(floors.values()) <= budget:
        return kept, ""
    if policy.when_floors_do_not_fit == "no-go":
        return kept, "the policy forbids dropping reservations"
    for k in sorted(asks, key=lambda k: (weights[k], -floors[k], k)):
        if sum(floors[j] for j in kept) <= budget:
            break
        if policy.may_drop_reservation(k):
            kept.discard(k)
    if sum(floors[k] for k in kept) > budget:
        return kept, "even the floors of the required reservations do not fit"
    return kept, ""
