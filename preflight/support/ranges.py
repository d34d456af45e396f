"""The ranges AWS accepts, as data: one place every door (flags, manifest, plan, snapshot, scenario) reads.

Kept free of pydantic and click so the command line can use it at start-up; `preflight.support.bounds` builds
the model types from it. Sources: the Lambda, Kinesis, CloudWatch and Service Quotas API models
(botocore) and their quota pages. Where the API model is wider than the documented function limits
(botocore now allows MemorySize up to 32,768 and Timeout up to 5,400 for newer function kinds), the
documented limits of a standard function are used: 128-10,240 MB and 1-900 s.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """A closed (or, with `gt`, left-open) interval of finite numbers; `integer`: whole numbers only."""

    low: float
    high: float
    integer: bool = False
    open_low: bool = False  # low itself is excluded (a positive duration)

    def problem(self, value: float) -> str | None:
        """Why `value` is not acceptable, or None."""
        if not math.isfinite(value):
            return f"must be a finite number, not {value}"
        if self.integer and not float(value).is_integer():
            return f"must be a whole number, not {value}"
        if value < self.low or (self.open_low and value == self.low):
            return f"must be {'more than' if self.open_low else 'at least'} {self.low:g}, not {value:g}"
        if value > self.high:
            return f"must be at most {self.high:g}, not {value:g}"
        return None

    def describe(self) -> str:
        low = f"more than {self.low:g}" if self.open_low else f"{self.low:g}"
        return f"{'a whole number' if self.integer else 'a finite number'} from {low} to {self.high:g}"


# Service Quotas' QuotaValue: a double from 0 to 1e10 in the quota's unit. Values here are in base
# units (bytes for code storage, which AWS counts in gigabytes): 1e10 GB is the widest bound.
QUOTA_VALUE = Range(0, 1e10 * 1024**3)
SHARE = Range(0, 1)  # --warn-threshold, fault rates
MEMORY_MB = Range(128, 10_240, integer=True)
TIMEOUT_S = Range(1, 900, integer=True)
# 0 is valid in the API but throttles the function completely; a plan never asks for it.
RESERVED_CONCURRENCY = Range(1, 100_000, integer=True)
WEIGHT = Range(0, 1000, open_low=True)
SHARDS = Range(1, 10_000, integer=True)  # per stream (UpdateShardCount's ceiling)
RETENTION_HOURS = Range(24, 8760, integer=True)
ALARM_PERIOD_S = Range(10, 86_400, integer=True)
EVALUATION_PERIODS = Range(1, 100, integer=True)
# Threshold is a double in the API with no bound: any finite value.
ALARM_THRESHOLD = Range(-sys.float_info.max, sys.float_info.max)
PORT = Range(-1, 65_535, integer=True)
MAX_AGE_HOURS = Range(0, 24 * 365, open_low=True)
CODE_SIZE = Range(0, 250 * 1024**2, integer=True)  # one handler file; Lambda's unzipped limit
ELAPSED_S = Range(0, 86_400 * 365)
UTILIZATION = Range(0, 1e12)
HEADROOM = Range(-QUOTA_VALUE.high * 2, QUOTA_VALUE.high)
