"""boto3 sessions, clients and the translation of AWS errors into what a user can act on.

boto3 is imported here and nowhere on the `--help` path.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.exceptions
import botocore.session
from botocore.config import Config

from preflight.errors import AwsAccessError, PreflightError

ACCESS_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
}

# The IAM action behind an API operation, where it is not "<prefix>:<Operation>".
_IAM_PREFIX = {"service-quotas": "servicequotas", "sts": "sts"}
_IAM_ACTION_OVERRIDES = {("s3", "ListBuckets"): "s3:ListAllMyBuckets"}


def iam_action(service: str, operation: str) -> str:
    return _IAM_ACTION_OVERRIDES.get((service, operation), f"{_IAM_PREFIX.get(service, service)}:{operation}")


@dataclass
class CallStats:
    """API calls per operation, counted from botocore's events (one per operation, not per retry)."""

    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: float = field(default_factory=time.perf_counter)

    def record(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1

    def total(self) -> int:
        return sum(self.counts.values())

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


_LOADER_LOCK = threading.Lock()
_SHARED_LOADER: Any = None


def _botocore_session() -> Any:
    """A botocore session whose model loader is shared by every Aws in the process.

    Parsing the service models (EC2's is megabytes of JSON) is most of a cold run's CPU; sharing the
    loader makes the second reading in a process (tests, several regions) skip it.
    """
    global _SHARED_LOADER
    session = botocore.session.get_session()
    with _LOADER_LOCK:
        if _SHARED_LOADER is None:
            _SHARED_LOADER = session.get_component("data_loader")
        else:
            session.register_component("data_loader", _SHARED_LOADER)
    return session


class Aws:
    """Clients for one account and region, shared by the reading threads (clients are thread-safe)."""

    def __init__(
        self,
        region: str,
        *,
        profile: str | None = None,
        endpoint_url: str | None = None,
        role_arn: str | None = None,
        credentials: tuple[str, str] | None = None,
        max_attempts: int = 8,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.stats = CallStats()
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        # AWS_MAX_ATTEMPTS / AWS_RETRY_MODE win, as they do for any boto3 tool.
        self._config = Config(
            retries={
                "mode": os.environ.get("AWS_RETRY_MODE", "adaptive"),  # type: ignore[typeddict-item]
                "total_max_attempts": int(os.environ.get("AWS_MAX_ATTEMPTS") or max_attempts),
            },
            connect_timeout=5,
            read_timeout=30,
            max_pool_connections=32,
        )
        try:
            keys = (
                {"aws_access_key_id": credentials[0], "aws_secret_access_key": credentials[1]}
                if credentials
                else {}
            )
            self._session = boto3.session.Session(
                profile_name=profile, region_name=region, botocore_session=_botocore_session(), **keys
            )
        except botocore.exceptions.ProfileNotFound as exc:
            raise AwsAccessError(f"AWS profile {profile!r} not found") from exc
        if role_arn:
            self._session = self._assume(role_arn)

    def _assume(self, role_arn: str) -> Any:
        sts = self.client("sts")
        try:
            creds = call(sts, "AssumeRole", RoleArn=role_arn, RoleSessionName="tap-preflight")["Credentials"]
        except AwsCallError as exc:
            raise AwsAccessError(
                f"cannot assume {role_arn}: {exc}", operation="sts:AssumeRole", permission=exc.permission
            ) from exc
        self._clients.clear()
        return boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=self.region,
            botocore_session=_botocore_session(),
        )

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        with self._lock:
            if key not in self._clients:
                kwargs: dict[str, Any] = {"region_name": key[1], "config": self._config}
                if self.endpoint_url:
                    kwargs["endpoint_url"] = self.endpoint_url
                client = self._session.client(service, **kwargs)
                client.meta.events.register("before-call", self._count)
                self._clients[key] = client
            return self._clients[key]

    def _count(self, model: Any, **_: Any) -> None:
        self.stats.record(f"{model.service_model.service_name}:{model.name}")


class AwsCallError(PreflightError):
    """One call failed in a way that leaves its quota unknown (access denied, throttled past retries).

    Readers catch it and mark the quota UNKNOWN; one that escapes to the CLI means exit 3.
    """

    exit_code = 3

    def __init__(self, service: str, operation: str, code: str, message: str):
        self.service = service
        self.operation = operation
        self.code = code
        self.permission = iam_action(service, operation)
        denied = code in ACCESS_DENIED
        message = " ".join(message.split())
        if message.startswith("<"):  # an HTML error page from a proxy or emulator: the code says enough
            message = "unexpected HTML answer"
        message = message[:200]
        why = f"access denied (needs {self.permission})" if denied else f"{code}: {message}"
        super().__init__(f"{service}:{operation} failed: {why}")
        self.denied = denied


@contextmanager
def _translated(service: str, operation: str) -> Iterator[None]:
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        err = exc.response.get("Error", {})
        raise AwsCallError(service, operation, err.get("Code", "Unknown"), err.get("Message", "")) from exc
    except botocore.exceptions.NoCredentialsError as exc:
        raise AwsAccessError(
            f"no AWS credentials found for {service}:{operation} "
            "(set AWS_PROFILE or AWS_ACCESS_KEY_ID, or use --sandbox)",
            operation=f"{service}:{operation}",
        ) from exc
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError) as exc:
        raise AwsAccessError(f"{service}:{operation}: cannot reach the AWS endpoint ({exc})") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsCallError(service, operation, type(exc).__name__, str(exc)) from exc


def call(client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    """Call one operation; raise AwsCallError naming it, or AwsAccessError when nothing can work."""
    with _translated(client.meta.service_model.service_name, operation):
        return getattr(client, botocore.xform_name(operation))(**kwargs)


def paginate(client: Any, operation: str, result_key: str, **kwargs: Any) -> list[Any]:
    """All items of a paginated operation (following NextToken to the end)."""
    items: list[Any] = []
    with _translated(client.meta.service_model.service_name, operation):
        for page in client.get_paginator(botocore.xform_name(operation)).paginate(**kwargs):
            items.extend(page.get(result_key, []))
    return items
