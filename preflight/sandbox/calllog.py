"""The call log: every AWS operation the sandbox received, counted per operation."""

from __future__ import annotations

import threading
from collections import Counter

# Operations with these prefixes only read; anything else changes (or may change) the account.
READ_ONLY_PREFIXES = ("Describe", "List", "Get", "Head")


def is_read_only(operation: str) -> bool:
    return operation.startswith(READ_ONLY_PREFIXES)


class CallLog:
    """Counts keyed ``"<botocore service name>:<OperationName>"``, e.g. ``ec2:DescribeVpcs``.

    Every HTTP request counts, including those answered with an injected fault and the retries
    that follow, because that is what the account would see (and rate-limit).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()

    def record(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def record_fault(self, kind: str) -> None:
        """A request answered with an injected fault ("throttle", "error" or "denied")."""
        with self._lock:
            self._faults[kind] += 1

    def faults(self) -> dict[str, int]:
        """How many requests got each injected fault since the last reset."""
        with self._lock:
            return dict(sorted(self._faults.items()))

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._faults.clear()

    def mutating_calls(self) -> list[str]:
        """The distinct operations received that are not reads (Describe/List/Get/Head), sorted."""
        with self._lock:
            keys = list(self._counts)
        return sorted(k for k in keys if not is_read_only(k.partition(":")[2]))
