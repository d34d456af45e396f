"""One bounded number type for every door: the model types built from `preflight.support.ranges`.

The manifest, the plan file, the report, the snapshot and the scenario all read their numbers through
these types, so a NaN, an Infinity, a fraction where AWS takes an integer or a value outside what AWS
accepts is refused wherever it enters, with the file, the line and the field. Integers are strict: a
`"512"`, a `512.5` or a `true` is a wrong type, not a number to coerce.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from preflight.support import ranges
from preflight.support.ranges import Range


def _limits(rng: Range) -> dict[str, float]:
    low = {"gt": rng.low} if rng.open_low else {"ge": rng.low}
    return {**low, "le": rng.high}


def integer(rng: Range) -> Any:
    """A strict int within `rng` (a float, a string or a bool is a wrong type, not a number to coerce)."""
    return Annotated[int, Field(strict=True, **_limits(rng))]  # type: ignore[arg-type]


def number(rng: Range) -> Any:
    """A finite float within `rng`; an int is accepted as one, a bool or a string is not."""
    return Annotated[float, Field(strict=True, allow_inf_nan=False, **_limits(rng))]  # type: ignore[arg-type]


FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
QuotaValue = number(ranges.QUOTA_VALUE)
Share = number(ranges.SHARE)
MemoryMb = integer(ranges.MEMORY_MB)
TimeoutS = integer(ranges.TIMEOUT_S)
ReservedConcurrency = integer(ranges.RESERVED_CONCURRENCY)
Weight = number(ranges.WEIGHT)
Shards = integer(ranges.SHARDS)
RetentionHours = integer(ranges.RETENTION_HOURS)
AlarmPeriodS = integer(ranges.ALARM_PERIOD_S)
EvaluationPeriods = integer(ranges.EVALUATION_PERIODS)
AlarmThreshold = number(ranges.ALARM_THRESHOLD)
Port = integer(ranges.PORT)
MaxAgeHours = number(ranges.MAX_AGE_HOURS)
CodeSize = integer(ranges.CODE_SIZE)
ElapsedS = number(ranges.ELAPSED_S)
Utilization = number(ranges.UTILIZATION)
Headroom = number(ranges.HEADROOM)
Count = Annotated[int, Field(strict=True, ge=0, le=10**9)]
