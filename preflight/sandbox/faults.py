"""Fault injection for the emulated account: latency, throttling and HTTP 500s, seeded.

One random draw per AWS request, in the order requests arrive, from a `random.Random(seed)`: the
same sequence of requests with the same seed gets the same faults. Changing the faults (even to
the same values) restarts the sequence.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Literal

from preflight.support.errors import InputError

Fault = Literal["throttle", "error"]


@dataclass(frozen=True)
class FaultConfig:
    """Faults applied to every AWS request the sandbox receives (never to its own control calls)."""

    latency_ms: int = 0
    throttle_rate: float = 0.0  # share of requests answered with the service's throttling error
    error_rate: float = 0.0  # share of requests answered with HTTP 500
    seed: int = 0
    # Operations ("ec2:DescribeVpcs") answered with the service's access-denied error, every time:
    # how a test shows the gate naming the missing permission.
    deny: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # InputError: these come from `sandbox serve` flags (--latency-ms, --throttle-rate, --error-rate).
        if not self.latency_ms >= 0:
            raise InputError(f"latency-ms must be >= 0, got {self.latency_ms}")
        for name in ("throttle_rate", "error_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:  # also false for NaN
                raise InputError(f"{name.replace('_', '-')} must be between 0 and 1, got {value}")
        if self.throttle_rate + self.error_rate > 1.0:
            raise InputError(
                f"throttle-rate + error-rate must be at most 1 (a share of requests), "
                f"got {self.throttle_rate} + {self.error_rate}"
            )

    @property
    def active(self) -> bool:
        return bool(self.latency_ms or self.throttle_rate or self.error_rate or self.deny)


class FaultInjector:
    """Thread-safe: decides, per request, whether to delay it and whether to fail it."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._config = FaultConfig()
        self._rng = random.Random(0)
        self.set(config or FaultConfig())

    @property
    def config(self) -> FaultConfig:
        return self._config

    def set(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)

    def decide(self) -> Fault | None:
        """Sleep the configured latency, then say which fault (if any) this request gets."""
        with self._lock:
            config = self._config
            # Always draw when a rate is set, so the outcome of request N depends only on N and the seed.
            draw = self._rng.random() if (config.throttle_rate or config.error_rate) else 1.0
        if config.latency_ms:
            time.sleep(config.latency_ms / 1000.0)
        if draw < config.throttle_rate:
            return "throttle"
        if draw < config.throttle_rate + config.error_rate:
            return "error"
        return None
