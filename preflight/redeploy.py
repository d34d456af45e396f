"""What a redeploy holds on the way from the stack's current state to the planned one.

Pulumi updates resources in parallel unless they depend on each other, and AWS checks each call on
its own: `PutFunctionConcurrency` checks the unreserved floor on every call, so a raise that lands
before another function's cut can fail although the end state fits. The shipped program makes every
raise depend on every cut (`reservation_steps`); the gate counts the worst order the program still
allows (`reservation_peak`). Kinesis `UpdateShardCount` keeps the old shards open while it makes the
new ones (both count toward the shard limit) and can at most double or halve a stream per call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Reservations = Mapping[str, int | None]  # function name -> reservation (None: none)

# The shipped program applies every cut before any raise (preflight/program/pipeline.py).
PROGRAM_ORDERS_RESERVATIONS = True


@dataclass(frozen=True)
class ReservationSteps:
    cuts: tuple[str, ...]  # functions whose reservation goes down (or away)
    raises: tuple[str, ...]  # functions whose reservation goes up (new functions included)


def reservation_steps(current: Reservations, planned: Reservations) -> ReservationSteps:
    """Which functions lower and which raise their reservation in a redeploy (sorted names)."""
    cuts = sorted(n for n in planned if (planned[n] or 0) < (current.get(n) or 0))
    raises = sorted(n for n in planned if (planned[n] or 0) > (current.get(n) or 0))
    return ReservationSteps(tuple(cuts), tuple(raises))


def reservation_peak(current: Reservations, planned: Reservations, *, ordered: bool) -> int:
    """The most the stack's functions hold reserved at any moment of the redeploy.

    Ordered (cuts first, then raises), the stack holds sum(min(current, planned)) between the two
    phases and sum(planned) at the end, which is never less. Unordered, any function may still hold
    its current reservation while another already holds its planned one: sum(max(current, planned)).
    """
    if ordered:
        return sum(planned[n] or 0 for n in planned)
    return sum(max(planned[n] or 0, current.get(n) or 0) for n in planned)


@dataclass(frozen=True)
class Reshard:
    current: int
    target: int

    @property
    def peak(self) -> int:
        """Open shards while the update runs: the old ones stay open until the new ones are made."""
        return self.current + self.target if self.target != self.current else self.target

    @property
    def one_call(self) -> bool:
        """Whether one UpdateShardCount can do it: at most double, at least half the current count."""
        return self.target <= 2 * self.current and 2 * self.target >= self.current

    def steps(self) -> list[int]:
        """The counts a series of UpdateShardCount calls would pass through (doubling or halving)."""
        counts, now = [], self.current
        while now != self.target:
            now = min(self.target, 2 * now) if self.target > now else max(self.target, -(-now // 2))
            counts.append(now)
        return counts


def reshard(current_shards: int | None, target: int) -> Reshard | None:
    """The reshard a redeploy does, or None when the stream is new or keeps its shard count."""
    if not current_shards or current_shards == target:
        return None
    return Reshard(current_shards, target)
