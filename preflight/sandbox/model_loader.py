"""One botocore model loader for every botocore session in the process, once the sandbox is used.

moto makes botocore sessions of its own (three while importing its EC2 backend, one more to list
each backend's regions) and the sandbox's and the tool's clients make others: each new session
parses the service models again (EC2's is megabytes of JSON, ~0.1 s and tens of MiB each time). With
one loader, each model is parsed once per process. A loader only reads botocore's data files and
caches what it read, so sharing it changes no answer; boto3 appends its own data path to the loader
of each session it makes, so the repeats are dropped. The loader reads the models as the gate's
clients do (`preflight.account.aws.model_file_loader`: the model cache, no documentation, shapes decoded on
use), so the process holds neither a second parsing of them nor the shapes nobody asks for.
"""

from __future__ import annotations

import threading
from typing import Any

import botocore.loaders
import botocore.session

from preflight.account.aws import model_file_loader

_LOCK = threading.Lock()
_LOADERS: dict[str | None, Any] = {}
_create_loader = botocore.loaders.create_loader


def _shared_loader(search_path_string: str | None = None) -> Any:
    with _LOCK:
        loader = _LOADERS.get(search_path_string)
        if loader is None:
            loader = _LOADERS[search_path_string] = _create_loader(search_path_string)
            loader.file_loader = model_file_loader()
        else:
            # A new session's boto3 appends its data path again: keep each path once.
            loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
        return loader


def share_model_loader() -> None:
    """Make every botocore session created from now on share one model loader (idempotent)."""
    # botocore.session builds each session's loader through this module-level name.
    botocore.session.create_loader = _shared_loader  # type: ignore[attr-defined]
