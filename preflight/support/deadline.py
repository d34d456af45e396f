"""One deadline for a whole run (`--timeout`): every AWS call and every input read ends by it.

botocore's own timeouts bound each socket read, not a call: an endpoint that sends a byte every few
seconds, or throttles every attempt while botocore backs off, keeps a call alive for minutes. So each
call runs in a daemon thread that the caller waits for only until the deadline; a call still running
then is abandoned (a daemon thread does not hold the process open) and named in the error.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from preflight.support.errors import AwsAccessError, InputError

DEFAULT_TIMEOUT_S = 45.0
MAX_TIMEOUT_S = 24 * 3600.0
MAX_NAMED = 6  # calls named in the error; the rest are counted

T = TypeVar("T")


@dataclass(frozen=True)
class Deadline:
    seconds: float
    expires_at: float  # time.monotonic()

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(seconds=seconds, expires_at=time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0.0


class DeadlineExceeded(AwsAccessError):
    """The run's deadline passed while AWS calls were still waiting for an answer. Exit 3."""

    def __init__(self, seconds: float, waiting: Iterable[str]):
        self.seconds = seconds
        self.waiting = tuple(dict.fromkeys(waiting))  # in the order the calls were made
        shown = ", ".join(self.waiting[:MAX_NAMED]) or "the AWS endpoint"
        more = f" and {len(self.waiting) - MAX_NAMED} more" if len(self.waiting) > MAX_NAMED else ""
        super().__init__(
            f"no answer within {seconds:g} s (--timeout) from {shown}{more}; "
            "check the endpoint and the network, or raise --timeout",
            operation=self.waiting[0].split(" (")[0] if self.waiting else "",
        )


_current: Deadline | None = None


def current() -> Deadline | None:
    """The deadline of the run in progress; None outside a command (library use, unit tests)."""
    return _current


def remaining_or(default: float) -> float:
    """Seconds left in the run, or `default` when no run deadline is set."""
    deadline = _current
    return deadline.remaining() if deadline is not None else default


def check_timeout(seconds: float) -> float:
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_TIMEOUT_S:
        raise InputError(f"--timeout must be a number of seconds in (0, {MAX_TIMEOUT_S:g}], got {seconds}")
    return seconds


@contextmanager
def run_within(seconds: float) -> Iterator[Deadline]:
    """Set the run's deadline for the block (the CLI wraps each command in it)."""
    global _current
    previous = _current
    _current = Deadline.after(check_timeout(seconds))
    try:
        yield _current
    finally:
        _current = previous


class _Call(threading.Thread):
    """A call's thread; `trouble` is the last reason it is retrying, for the error if it runs late."""

    trouble: str | None = None


def note_trouble(reason: str) -> None:
    """Called from inside a call (botocore's retry event): why it has not answered yet."""
    thread = threading.current_thread()
    if isinstance(thread, _Call):
        thread.trouble = reason


def bounded(fn: Callable[[], T], what: str) -> T:
    """`fn()`, given up on (DeadlineExceeded naming `what`) when the run's deadline passes first."""
    deadline = _current
    if deadline is None:
        return fn()
    if deadline.expired():
        raise DeadlineExceeded(deadline.seconds, (what,))
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the waiting thread, which raises it
            outcome["error"] = exc

    worker = _Call(target=run, name=f"call {what}", daemon=True)
    worker.start()
    worker.join(deadline.remaining())
    if worker.is_alive():
        trouble = worker.trouble
        raise DeadlineExceeded(deadline.seconds, (f"{what} (retrying after {trouble})" if trouble else what,))
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
