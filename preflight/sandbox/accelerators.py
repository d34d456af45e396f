"""Where the sandbox reaches past moto's documented surface: for speed or memory only, never needed.

Each reach (tests/sandbox/test_moto_surface.py's REMAINING) is an optional accelerator over a
documented path that always answers the same (moto's WSGI application, its AWS API). An
accelerator is used only when:

- the environment variable `TAP_SANDBOX_MOTO_DOCUMENTED_ONLY` is not set (read once, here; `1`
  forces the documented path everywhere, as tests do to prove each fallback), and
- its probe, run once per process, finds moto shaped as it expects (the names and parameters it uses);

and it is dropped for the rest of the process the first time moto's objects are not what it expects
(`SHAPE_ERRORS`). A moto release within the allowed range that changes its internals then costs speed
or memory, never an answer or a crash.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
from collections.abc import Callable, Iterable

ENVIRONMENT_VARIABLE = "TAP_SANDBOX_MOTO_DOCUMENTED_ONLY"
DOCUMENTED_ONLY: bool = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower() not in ("", "0", "false")

# What moto's objects raise where they are not shaped as an accelerator expects.
SHAPE_ERRORS = (AttributeError, TypeError, KeyError, ImportError)

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
_VERDICTS: dict[str, bool] = {}  # accelerator -> whether it may be used (its probe's answer, or dropped)


def usable(name: str, probe: Callable[[], bool]) -> bool:
    """Whether the accelerator `name` may be used now: not switched off, its probe passed (run once)."""
    if DOCUMENTED_ONLY:
        return False
    verdict = _VERDICTS.get(name)
    if verdict is not None:
        return verdict
    with _LOCK:
        if name not in _VERDICTS:
            try:
                _VERDICTS[name] = bool(probe())
            except Exception:  # a probe that cannot even look: moto is not shaped as expected
                _VERDICTS[name] = False
            if not _VERDICTS[name]:
                log.info("moto is not shaped as %s expects: the documented path answers", name)
        return _VERDICTS[name]


def drop(name: str, error: BaseException) -> None:
    """The accelerator met moto objects it does not know: the documented path from now on."""
    with _LOCK:
        _VERDICTS[name] = False
    log.warning("moto is not shaped as %s expects (%r): the documented path answers", name, error)


def has_parameters(owner: object, method: str, parameters: Iterable[str]) -> bool:
    """Whether `owner.method` is callable and takes each of these parameters (a probe's usual check)."""
    function = getattr(owner, method, None)
    if not callable(function):
        return False
    accepted = inspect.signature(function).parameters
    return all(p in accepted for p in parameters)
