"""What the emulated account knows beyond moto: applied quota values and quota increase requests."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from preflight.sandbox.quotas import BY_CODE, home_region
from preflight.sandbox.quotas import AwsQuota as Quota

ACCOUNT_ID = "123456789012"  # moto's default account: credentials the sandbox hands out map to it

# The account a request acts in (moto maps an assumed role's keys to the role's account): set per
# request by the middleware, so quotas, usage and enforcement are that account's. Outside a request
# (setup, tests), the sandbox's own account.
_ACTING: ContextVar[str] = ContextVar("sandbox_account", default=ACCOUNT_ID)


def current_account() -> str:
    return _ACTING.get()


@contextmanager
def acting_as(account_id: str) -> Iterator[str]:
    token = _ACTING.set(account_id)
    try:
        yield account_id
    finally:
        _ACTING.reset(token)


# Quotas whose service reports the limit it enforces in its own API, which the sandbox answers:
# Lambda GetAccountSettings, Kinesis DescribeLimits, IAM GetAccountSummary, EC2
# DescribeAccountAttributes. Only these can hold a value Service Quotas does not list.
SERVICE_REPORTED = frozenset(
    {"L-B99A9384", "L-2ACBD22F", "L-0918CF54", "L-FE177D64", "L-0DA4ABF3", "L-0263D0A3"}
)

# Service codes whose quotas are global, answered by Service Quotas in the partition's home region only.
GLOBAL_SERVICE_CODES = frozenset({"iam", "s3"})


def is_global(q: Quota) -> bool:
    return q.is_global or q.service_code in GLOBAL_SERVICE_CODES


def quota_region(q: Quota, region: str) -> str:
    """The region a quota's value lives in: its own for regional quotas, the partition's home region
    (us-east-1, cn-north-1, us-gov-west-1) for global ones."""
    return home_region(region) if is_global(q) else region


@dataclass(frozen=True)
class OrgMember:
    """An account of the scenario's organisation: its id in moto's Organizations, and what AWS
    answers of it that moto's CreateAccount cannot set."""

    moto_id: str  # the id moto's CreateAccount gave it (random)
    joined: float  # JoinedTimestamp, epoch seconds
    state: str  # ACTIVE | SUSPENDED | PENDING_CLOSURE | CLOSED | PENDING_ACTIVATION
    status: str  # the retired Status (no CLOSED or PENDING_ACTIVATION)


@dataclass
class QuotaRequest:
    """A RequestServiceQuotaIncrease, approved on the spot."""

    quota: Quota
    region: str
    desired: float
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    case_id: str = field(default_factory=lambda: str(uuid.uuid4().int % 10**10).zfill(10))
    created: float = field(default_factory=time.time)
    status: str = "APPROVED"
    account: str = field(default_factory=current_account)


class SandboxState:
    """Thread-safe. `lock` is also held across enforce-then-create so two creations cannot both fit.

    Applied values and requests are per account (the one acting, see `acting_as`); endpoint zones
    and enabled regions are the same for every account of the sandbox.

    A value set with `listed=False` is enforced by the service (and reported by its own API, e.g.
    Kinesis DescribeLimits) but absent from Service Quotas: older accounts whose limit is below
    today's published default look like that.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._applied: dict[tuple[str, str, str, str], float] = {}
        self._unlisted: set[tuple[str, str, str, str]] = set()
        self.requests: list[QuotaRequest] = []
        self._endpoint_zones: dict[tuple[str, str], tuple[str, ...]] = {}
        self.enabled_regions: tuple[str, ...] = ()  # DescribeRegions' answer; empty: moto's
        self._key_accounts: dict[str, str] = {}  # access keys the account handed out -> their account
        # (account, region, function name) -> its reserved concurrency: the account's sum, which no
        # Lambda listing reports (GetFunctionConcurrency answers one function at a time).
        self._reservations: dict[tuple[str, str, str], int] = {}
        # Bucket name -> the account that made it (S3's names are global; moto lets any account read
        # any bucket): recorded from the CreateBucket and DeleteBucket answers the layer passes on.
        self._bucket_owners: dict[str, str] = {}
        # The network interfaces Lambda made for VPC functions (moto cannot mark an interface so).
        self._lambda_interfaces: set[str] = set()
        # The scenario's organisation (organization.py): its members as moto numbered them, and what
        # moto's CreateAccount cannot set (the scenario's ids, states and join times).
        self.org_members: dict[str, OrgMember] = {}  # scenario's account id -> the member
        # The AWS managed policies the account holds (managed_policies.py: their stand-ins' names).
        self.aws_policies: set[str] = set()

    def reserve(self, region: str, function_name: str, concurrency: int | None) -> None:
        """A function's reservation in the acting account (None: it has none, or is gone)."""
        key = (current_account(), region, function_name)
        with self.lock:
            if concurrency is None:
                self._reservations.pop(key, None)
            else:
                self._reservations[key] = concurrency

    def reserved(self, region: str, except_function: str | None = None) -> int:
        """The concurrency reserved by the acting account's functions in `region`."""
        account = current_account()
        with self.lock:
            return sum(
                n
                for (a, r, name), n in self._reservations.items()
                if (a, r) == (account, region) and name != except_function
            )

    def own_bucket(self, name: str, account_id: str | None) -> None:
        """`name` is `account_id`'s bucket (None: nobody's, it is gone)."""
        with self.lock:
            if account_id is None:
                self._bucket_owners.pop(name, None)
            else:
                self._bucket_owners[name] = account_id

    def bucket_owner(self, name: str) -> str | None:
        with self.lock:
            return self._bucket_owners.get(name)

    def add_lambda_interface(self, interface_id: str) -> None:
        with self.lock:
            self._lambda_interfaces.add(interface_id)

    def lambda_interfaces(self) -> frozenset[str]:
        """Ids of the interfaces Lambda made (of any account: ids are unique; some may be gone)."""
        with self.lock:
            return frozenset(self._lambda_interfaces)

    def remember_key(self, access_key: str, account_id: str) -> None:
        """An access key moto handed out (AssumeRole, CreateAccessKey) acts in `account_id`."""
        with self.lock:
            self._key_accounts[access_key] = account_id

    def account_of_key(self, access_key: str) -> str:
        """The account a key acts in: the one it was handed out for; this account's for any other key."""
        with self.lock:
            return self._key_accounts.get(access_key, ACCOUNT_ID)

    def limit_endpoint_service(self, region: str, service_name: str, zones: tuple[str, ...]) -> None:
        """Offer an interface endpoint service only in `zones` (AWS does not offer every one everywhere)."""
        with self.lock:
            self._endpoint_zones[(region, service_name)] = tuple(sorted(zones))

    def endpoint_zones(self, region: str, service_name: str) -> tuple[str, ...] | None:
        """The zones a service is limited to, or None when it is offered in every zone."""
        with self.lock:
            return self._endpoint_zones.get((region, service_name))

    def set_applied(
        self, service_code: str, quota_code: str, value: float, region: str, *, listed: bool = True
    ) -> Quota:
        q = lookup(service_code, quota_code)
        key = (current_account(), quota_region(q, region), q.service_code, q.quota_code)
        with self.lock:
            self._applied[key] = float(value)
            if listed:
                self._unlisted.discard(key)
            else:
                self._unlisted.add(key)
        return q

    def applied(self, q: Quota, region: str) -> float | None:
        """The value Service Quotas shows as applied (None when it lists none)."""
        key = (current_account(), quota_region(q, region), q.service_code, q.quota_code)
        with self.lock:
            return None if key in self._unlisted else self._applied.get(key)

    def applied_in(self, region: str, service_code: str) -> list[tuple[Quota, float]]:
        account = current_account()
        with self.lock:
            items = [
                (BY_CODE[key[3]], value)
                for key, value in self._applied.items()
                if key[:3] == (account, region, service_code) and key not in self._unlisted
            ]
        return sorted(items, key=lambda item: item[0].quota_code)

    def limit(self, quota_code: str, region: str) -> float:
        """The value in force: the one set (listed or not), else the published default for the region."""
        q = BY_CODE[quota_code]
        key = (current_account(), quota_region(q, region), q.service_code, q.quota_code)
        with self.lock:
            value = self._applied.get(key)
        return q.default_for(quota_region(q, region)) if value is None else value

    def add_request(self, request: QuotaRequest) -> None:
        with self.lock:
            self.requests.append(request)


def lookup(service_code: str, quota_code: str) -> Quota:
    """The quota (service code, quota code) names; KeyError when the pair is not a known one."""
    q = BY_CODE.get(quota_code)
    if q is None or q.service_code != service_code:
        raise KeyError(f"{service_code}/{quota_code}")
    return q
