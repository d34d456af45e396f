"""Lambda's control-plane API request rates, enforced as the Lambda quotas page documents them.

"Lambda API requests" (per account and Region, not adjustable): GetFunction 100 requests per second;
GetPolicy 15 per second; the remainder of the control plane (every API but invocation, GetFunction and
GetPolicy) 15 per second together. Past them Lambda answers TooManyRequestsException (HTTP 429,
"Rate exceeded"), which SDKs retry. So a client of the emulated account cannot be faster than AWS
would let it be: 1,000 GetFunction calls take ten seconds here as there.

Each rate is a token bucket holding one second of requests (AWS documents no burst beyond the rate).
Off while a scenario is being set up (the sandbox builds it faster than any client could).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Requests per second, per account and Region (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
OWN_RATES = {"GetFunction": 100.0, "GetPolicy": 15.0}
CONTROL_PLANE_RATE = 15.0
CONTROL_PLANE = "control plane"
# The data plane: invocations have their own limits (concurrency), not a request rate.
NOT_RATED = frozenset({"Invoke", "InvokeAsync", "InvokeWithResponseStream"})


class _Bucket:
    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.at = now

    def take(self, now: float) -> bool:
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class LambdaRates:
    """Thread-safe: `admit` says whether one more Lambda request fits its rate now."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self.enabled = False

    def admit(self, service: str, operation: str, region: str) -> bool:
        """`region`: where the rate applies, per account and Region ("123456789012/us-east-1")."""
        if not self.enabled or service != "lambda" or operation in NOT_RATED:
            return True
        kind = operation if operation in OWN_RATES else CONTROL_PLANE
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get((region, kind))
            if bucket is None:
                bucket = self._buckets[(region, kind)] = _Bucket(OWN_RATES.get(kind, CONTROL_PLANE_RATE), now)
            return bucket.take(now)

    def start(self) -> None:
        """Enforce from now on, every bucket full."""
        with self._lock:
            self._buckets.clear()
            self.enabled = True

    def stop(self) -> None:
        """Answer every request (while a scenario is set up)."""
        self.enabled = False
