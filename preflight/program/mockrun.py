"""Running the program under Pulumi's mocks, as many times as needed in one process.

`pulumi.runtime.set_mocks` only swaps the settings bag: the root stack resource and the settings are
context variables, the outputs set and the asyncio loop outlive a run, and the default executor calls
the mocks from several threads. So each run happens in a thread of its own (fresh context variables
and event loop; the caller's loop and settings are left alone), with a single worker for the
registrations (the mocks see them one at a time), and `run_pulumi_func` waits for every outstanding
registration before returning (it re-raises the program's own exception, which is passed on).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pulumi
from pulumi.runtime import settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

# The Pulumi runtime keeps some process-global state (SETTINGS' outputs): one mocked run at a time.
_RUN_LOCK = threading.Lock()


def run_with_mocks(
    mocks: pulumi.runtime.Mocks, program: Callable[[], object], *, project: str, stack: str
) -> None:
    """Run `program` (which registers resources) to completion under `mocks`; re-raise what it raises."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            _run(mocks, program, project=project, stack=stack)
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)

    with _RUN_LOCK:
        worker = threading.Thread(target=target, name="tap-pulumi-mocks")
        worker.start()
        worker.join()
    if failure:
        raise failure[0]


def _run(mocks: pulumi.runtime.Mocks, program: Callable[[], object], *, project: str, stack: str) -> None:
    loop = asyncio.new_event_loop()
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tap-mocks")
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    try:
        settings.ROOT.set(None)  # a fresh thread has none; explicit, since set_mocks keeps an old one
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
        settings.SETTINGS.outputs.clear()

        def body() -> None:
            program()

        _sync_await(run_pulumi_func(body))
    finally:
        executor.shutdown(wait=True)
        loop.close()
        asyncio.set_event_loop(None)
