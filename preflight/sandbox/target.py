"""What setting up a scenario needs of a running sandbox, and what its setup steps share.

Both `provision` (the scenario's resources) and `organization` (its member accounts) fill a running
`server.Sandbox`; they name it by shape, here, so neither imports the server (which imports them).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from preflight.sandbox.state import SandboxState


class ProvisionTarget(Protocol):
    """What scenario setup uses of the running `server.Sandbox`."""

    region: str
    account_id: str
    endpoint_url: str
    state: SandboxState

    def setup_client(self, service: str, region: str) -> Any: ...

    def set_applied_quota(
        self,
        service_code: str,
        quota_code: str,
        value: float,
        region: str | None = None,
        *,
        listed: bool = True,
    ) -> None: ...


# The trust policy of every Lambda role a scenario creates.
ASSUME_LAMBDA = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def code_zip() -> bytes:
    """The code of every function a scenario creates: a handler that does nothing."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", "def handler(event, context):\n    return {}\n")
    return buf.getvalue()
