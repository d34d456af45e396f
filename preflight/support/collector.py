"""The cyclic garbage collector, paused where a run builds many objects and leaves little garbage.

Python's collector runs after every 700 new container objects and, every so often, walks every
object alive. A check keeps ~150,000 objects (botocore's service models, pydantic's schemas, a large
manifest's nodes), so those walks cost 0.1-0.3 s of a 0.5 s run while finding almost nothing to free.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused(*, freeze: bool = False) -> Iterator[None]:
    """No collection inside; after it, with `freeze`, what is alive is never walked again.

    Frozen objects of an earlier pause (another region, a test) go back to the collector first.
    Concurrent pauses only lose some of the gain: the collector ends as the first caller found it.
    """
    enabled = gc.isenabled()
    if freeze:
        gc.unfreeze()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()
