"""boto3 sessions, clients and the translation of AWS errors into what a user can act on.

botocore is imported here and nowhere on the `--help` path. boto3 is not needed at all: its session
adds resources and S3 transfers (and ~80 ms of imports) to botocore's, which is all the gate uses.
"""

from __future__ import annotations

import os
import re
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import botocore.exceptions
import botocore.loaders
import botocore.parsers
import botocore.session
import botocore.utils
from botocore.config import Config

from preflight.account import modelcache
from preflight.support import deadline
from preflight.support.errors import AwsAccessError, InputError, PreflightError
from preflight.support.exits import profile_not_found

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
_IAM_ACTION_OVERRIDES = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "HeadBucket"): "s3:ListBucket",  # HeadBucket has no action of its own
}


RETRY_MODES = ("legacy", "standard", "adaptive")
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0


def check_endpoint_url(url: str, option: str = "--endpoint-url") -> str:
    """`url` if it is an http(s) URL with a host; InputError naming `option` otherwise."""
    parsed = urllib.parse.urlsplit(url)
    try:
        parsed.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parsed = parsed._replace(netloc="")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InputError(f"{option} must be an http(s) URL such as http://127.0.0.1:4566, got {url!r}")
    return url


def retry_settings(max_attempts: int) -> dict[str, Any]:
    """botocore's retry settings; AWS_MAX_ATTEMPTS / AWS_RETRY_MODE win, as they do for any boto3 tool.

    Garbage in them is an environment problem (exit 3) named in one line, not botocore's traceback.
    """
    mode = os.environ.get("AWS_RETRY_MODE") or "adaptive"
    if mode not in RETRY_MODES:
        raise AwsAccessError(f"AWS_RETRY_MODE must be one of {', '.join(RETRY_MODES)}, got {mode!r}")
    raw = os.environ.get("AWS_MAX_ATTEMPTS") or str(max_attempts)
    try:
        attempts = int(raw)
    except ValueError:
        attempts = 0
    if not 1 <= attempts <= 100:
        raise AwsAccessError(f"AWS_MAX_ATTEMPTS must be a whole number from 1 to 100, got {raw!r}")
    return {"mode": mode, "total_max_attempts": attempts}


def _check_endpoint_env() -> None:
    url = os.environ.get("AWS_ENDPOINT_URL")
    if url:
        try:
            check_endpoint_url(url, "AWS_ENDPOINT_URL")
        except InputError as exc:  # the environment, not a flag: exit 3
            raise AwsAccessError(str(exc)) from exc


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


class _PlainJSONFileLoader(botocore.loaders.JSONFileLoader):
    """Service models parsed into plain dicts (ordered since Python 3.7), not OrderedDicts.

    botocore asks json for an OrderedDict per object, a Python call for each of the models' ~100,000
    objects: about a quarter of creating a client. Nothing in botocore needs more than the order.
    """

    def _load_file(self, full_path: str, open_method: Any) -> Any:
        if not os.path.isfile(full_path):
            return None
        return modelcache.load(full_path, lambda: modelcache.parse_json(open_method, full_path))


def model_file_loader() -> botocore.loaders.JSONFileLoader:
    """A botocore file loader that reads models as the gate's clients do (plain dicts, kept in the
    model cache, no documentation, shapes decoded on use), for the process's other model loaders:
    the emulated account's and moto's, which otherwise hold a second copy of the same models."""
    return _PlainJSONFileLoader()


class _ServiceNames(Sequence[str]):
    """The services a loader knows for one model type, as `Loader.list_available_services` lists
    them (sorted), but asked one service at a time.

    Creating a client only asks whether its service is known; botocore answers by listing the
    directories of every service (400 of them, ~15 ms a process). Membership here looks in that
    service's directories only, by the same rule (a search path holds a directory of that name with
    some version holding the model type); the whole list is built only if someone reads it.
    """

    def __init__(self, loader: Any, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name
        self._known: dict[str, bool] = {}
        self._listed: list[str] | None = None

    def _roots(self) -> list[str]:
        return [path for path in self._loader.search_paths if os.path.isdir(path)]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or not name or os.sep in name or name in (".", ".."):
            return False
        if name not in self._known:
            self._known[name] = any(self._offers(os.path.join(root, name)) for root in self._roots())
        return self._known[name]

    def _offers(self, directory: str) -> bool:
        if not os.path.isdir(directory):
            return False
        exists = self._loader.file_loader.exists
        return any(
            exists(os.path.join(directory, version, self._type_name)) for version in os.listdir(directory)
        )

    def _all(self) -> list[str]:
        if self._listed is None:
            candidates = {
                name
                for root in self._roots()
                for name in os.listdir(root)
                if os.path.isdir(os.path.join(root, name))
            }
            self._listed = sorted(name for name in candidates if name in self)
        return self._listed

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        return (
            self._all() == list(other) if isinstance(other, (list, tuple, _ServiceNames)) else NotImplemented
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._all())


# The model types a client loads by service name (its model, endpoint rules, paginators, waiters).
_LISTED_TYPES = ("service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2")


def _list_services_on_demand(loader: Any) -> None:
    """Answer the loader's `list_available_services` with _ServiceNames for the types clients load.

    Seeded into botocore's per-loader cache of that method (keyed by its name and the type). Should a
    botocore release key it otherwise, the seed is never read and botocore lists as it always did.
    """
    cache = getattr(loader, "_cache", None)
    if isinstance(cache, dict):
        for type_name in _LISTED_TYPES:
            cache.setdefault(("list_available_services", type_name), _ServiceNames(loader, type_name))


def _timestamp(value: Any) -> Any:
    """A response's timestamp as botocore parses it, ISO 8601 without dateutil's per-character parser.

    A large account's ListBuckets carries 12,000 creation dates; dateutil takes ~0.1 ms for each.
    ISO 8601 with a zone (what AWS's XML and JSON protocols send) is read by the standard library into
    the same instant; anything else (epoch seconds, RFC 822, no zone) goes to botocore's own parser.
    """
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    return botocore.utils.parse_timestamp(value)


def _botocore_session() -> Any:
    """A botocore session whose model loader is shared by every Aws in the process.

    Parsing the service models (EC2's is megabytes of JSON) is most of a cold run's CPU; sharing the
    loader makes the second reading in a process (tests, several regions) skip it.
    """
    global _SHARED_LOADER
    session = botocore.session.get_session()
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=_timestamp)
    with _LOADER_LOCK:
        if _SHARED_LOADER is None:
            _SHARED_LOADER = session.get_component("data_loader")
            _SHARED_LOADER.file_loader = _PlainJSONFileLoader()
            _list_services_on_demand(_SHARED_LOADER)
        else:
            session.register_component("data_loader", _SHARED_LOADER)
    return session


def _session(region: str, *, profile: str | None = None, keys: tuple[str, ...] | None = None) -> Any:
    """A botocore session for one region, from a profile or explicit keys (else the credential chain)."""
    session = _botocore_session()
    if profile is not None:
        session.set_config_variable("profile", profile)
    if keys:
        session.set_credentials(*keys)
    session.set_config_variable("region", region)
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
        credentials: tuple[str, ...] | None = None,  # (key, secret) or (key, secret, session token)
        max_attempts: int = 8,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.stats = CallStats()
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        if endpoint_url is None:
            _check_endpoint_env()
        self._deadline = deadline.current()  # kept: calls abandoned at the deadline must see it too
        # No single socket wait is longer than the whole run may take.
        budget = deadline.remaining_or(READ_TIMEOUT_S)
        self._config = Config(
            retries=retry_settings(max_attempts),  # type: ignore[arg-type]
            connect_timeout=max(0.1, min(CONNECT_TIMEOUT_S, budget)),
            read_timeout=max(0.1, min(READ_TIMEOUT_S, budget)),
            max_pool_connections=32,
        )
        try:
            self._session = _session(region, profile=profile, keys=credentials)
        except botocore.exceptions.ProfileNotFound as exc:
            raise AwsAccessError(profile_not_found(str(profile))) from exc
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
        return _session(
            self.region, keys=(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        )

    def session_credentials(self) -> tuple[str, ...]:
        """(key, secret[, session token]) the clients sign with: an assumed role's, to reuse them."""
        frozen = self._session.get_credentials().get_frozen_credentials()
        return tuple(k for k in (frozen.access_key, frozen.secret_key, frozen.token) if k)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        with self._lock:
            if key not in self._clients:
                kwargs: dict[str, Any] = {"region_name": key[1], "config": self._config}
                if self.endpoint_url:
                    kwargs["endpoint_url"] = self.endpoint_url
                client = self._session.create_client(service, **kwargs)
                client.meta.events.register("before-call", self._count)
                client.meta.events.register("before-send", self._stop_after_deadline)
                client.meta.events.register("needs-retry", _note_retry_reason)
                self._clients[key] = client
            return self._clients[key]

    def _count(self, model: Any, **_: Any) -> None:
        self.stats.record(f"{model.service_model.service_name}:{model.name}")

    def _stop_after_deadline(self, **_: Any) -> None:
        """No new attempt (first or retry) once the run's deadline has passed: abandoned calls stop too."""
        if self._deadline is not None and self._deadline.expired():
            raise deadline.DeadlineExceeded(self._deadline.seconds, ())


def _note_retry_reason(response: Any = None, caught_exception: BaseException | None = None, **_: Any) -> None:
    """Remember why a call may be retried, so a call cut by the deadline says "throttled", not only "late"."""
    code = None
    if caught_exception is not None:
        code = type(caught_exception).__name__
    elif response is not None:
        code = (response[1] or {}).get("Error", {}).get("Code")
    if code:
        deadline.note_trouble(code)


_DENIED_ACTION = re.compile(r"not authorized to perform: ([A-Za-z0-9-]+:[A-Za-z0-9]+)")


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
        named = _DENIED_ACTION.search(message) if denied else None
        if named:  # AWS names the action it refused, which may be another (iam:PassRole, ...)
            self.permission = named.group(1)
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
    except botocore.parsers.ResponseParserError as exc:
        # 200 with a body that is not the service's XML/JSON: a proxy, a captive portal, not AWS.
        raise AwsCallError(
            service, operation, "UnparsableResponse", "the endpoint's answer is not an AWS response"
        ) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsCallError(service, operation, type(exc).__name__, str(exc)) from exc


def call(client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    """Call one operation; raise AwsCallError naming it, or AwsAccessError when nothing can work."""
    service = client.meta.service_model.service_name
    method = getattr(client, botocore.xform_name(operation))

    def run() -> dict[str, Any]:
        with _translated(service, operation):
            return method(**kwargs)

    return deadline.bounded(run, f"{service}:{operation}")


# The page size every listing asks for, the most each API allows. Large accounts need it: an
# unpaginated ListBuckets is rejected where the bucket quota is above 10,000, and unpaginated EC2
# Describe* calls may be throttled or time out on accounts with thousands of ENIs. None: the API takes no page
# size (SNS ListTopics answers 100 a page), but still pages.
PAGE_SIZES: dict[tuple[str, str], int | None] = {
    **{
        ("ec2", op): 1000
        for op in (
            "DescribeVpcs",
            "DescribeSubnets",
            "DescribeInternetGateways",
            "DescribeNatGateways",
            "DescribeSecurityGroups",
            "DescribeSecurityGroupRules",
            "DescribeVpcEndpoints",
            "DescribeNetworkInterfaces",
        )
    },
    ("dynamodb", "ListTables"): 100,
    ("s3", "ListBuckets"): 10000,
    ("sns", "ListTopics"): None,
    ("lambda", "ListFunctions"): 50,  # MaxItems; Lambda answers at most 50 a page anyway
    ("iam", "ListAttachedRolePolicies"): 1000,
    ("iam", "ListRoleTags"): 1000,
    ("service-quotas", "ListServiceQuotas"): 100,
    ("service-quotas", "ListAWSDefaultServiceQuotas"): 100,
    ("service-quotas", "ListRequestedServiceQuotaChangeHistoryByQuota"): 100,
}


def paginate(client: Any, operation: str, result_key: str, **kwargs: Any) -> list[Any]:
    """All items of a paginated operation, in pages of the size PAGE_SIZES names, to the last one."""
    service = client.meta.service_model.service_name
    if (service, operation) not in PAGE_SIZES:  # a new listing must choose its page size
        raise KeyError(f"no page size for {service}:{operation} in preflight.account.aws.PAGE_SIZES")
    size = PAGE_SIZES[(service, operation)]
    if size is not None:
        kwargs["PaginationConfig"] = {**kwargs.get("PaginationConfig", {}), "PageSize": size}
    paginator = client.get_paginator(botocore.xform_name(operation))

    def run() -> list[Any]:
        items: list[Any] = []
        with _translated(service, operation):
            for page in paginator.paginate(**kwargs):
                items.extend(page.get(result_key, []))
        return items

    return deadline.bounded(run, f"{service}:{operation}")
