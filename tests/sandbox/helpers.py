"""Small helpers shared by the sandbox tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from preflight.sandbox import Sandbox

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


def raw_client(sb: Sandbox, service: str, region: str | None = None) -> Any:
    """A client that shows every answer as it is: no retries hiding faults."""
    return sb.client(service, region, config=NO_RETRY)


def error_of(call: Callable[[], Any]) -> ClientError:
    """The ClientError a call raises (fails the test if it does not)."""
    with pytest.raises(ClientError) as info:
        call()
    return info.value


def code_of(err: ClientError) -> str:
    return str(err.response["Error"]["Code"])


def status_of(err: ClientError) -> int:
    return int(err.response["ResponseMetadata"]["HTTPStatusCode"])
