"""A quota's limit, read along a chain: the applied value, the service's own API, the published default.

1. Service Quotas' applied value (`ListServiceQuotas`): a quota never raised is often missing there.
2. The service's own API, where the catalog declares one (`Quota.service_limit`): what the service
   enforces for this account, which can be below the published default (Kinesis shards on older
   accounts). Where it is authoritative (Lambda concurrency) it comes first, even over an applied value.
3. AWS's published default for the region (`ListAWSDefaultServiceQuotas`), only for a value never
   applied: when the applied values could not be read, the limit is unknown (fail closed).

The reads are tasks `account.read_account` runs with the rest of the account's reads; `resolve` then
applies the chain to what they answered. Nothing here imports botocore at module level: a snapshot's
`LimitReading`s are read without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from preflight.quotas.catalog import GLOBAL_SERVICE_CODES, QUOTAS, SERVICE_CODES, Quota, home_region
from preflight.support.bounds import QuotaValue

if TYPE_CHECKING:
    from preflight.account.aws import Aws
    from preflight.quotas.usage import Reads

LimitSource = Literal["applied", "default", "service-api", "override", "unknown"]
Task = tuple[str, Callable[[], None]]  # (label, read)

_UNIT_FACTORS = {
    "Bytes": 1,
    "Kilobytes": 1024,
    "Megabytes": 1024**2,
    "Gigabytes": 1024**3,
    "Terabytes": 1024**4,
}


class LimitReading(BaseModel):
    # defer_build: the schema is built at first use, not at import (a command uses few models)
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    value: QuotaValue | None
    source: LimitSource
    detail: str = ""  # why it is unknown, or which fallbacks were used


@dataclass
class LimitReads:
    """What each step of the chain answered in one run, filled by the read tasks (one per Service
    Quotas listing, one per distinct service call), then resolved quota by quota."""

    applied: dict[str, dict[str, float]] = field(default_factory=dict)  # by service code, quota code
    defaults: dict[str, dict[str, float]] = field(default_factory=dict)
    applied_errors: dict[str, str] = field(default_factory=dict)  # by service code
    default_errors: dict[str, str] = field(default_factory=dict)
    service: dict[str, float] = field(default_factory=dict)  # by quota code
    service_errors: dict[str, str] = field(default_factory=dict)

    def quota_tasks(self, aws: Aws) -> list[Task]:
        """The applied and the default listings of every service code, read side by side (one round
        of paging, not two)."""
        tasks: list[Task] = []
        for code in SERVICE_CODES:
            applied = (self.applied, self.applied_errors)
            defaults = (self.defaults, self.default_errors)
            tasks += [
                (
                    f"{code} applied quotas",
                    lambda c=code, to=applied: self._list(aws, c, "ListServiceQuotas", *to),
                ),
                (
                    f"{code} default quotas",
                    lambda c=code, to=defaults: self._list(aws, c, "ListAWSDefaultServiceQuotas", *to),
                ),
            ]
        return tasks

    def service_tasks(self, reads: Reads) -> list[tuple[str, Task]]:
        """(client, task): one task per distinct call that reports limits, for every quota whose limit
        that call answers (GetAccountSettings answers two)."""
        by_call: dict[tuple[str, str, str], list[Quota]] = {}
        for q in QUOTAS:
            if q.service_limit is not None:
                s = q.service_limit
                by_call.setdefault((s.service, s.operation, repr(sorted(s.params.items()))), []).append(q)
        return [
            (service, (f"{service}:{operation} limits", self._service_task(reads, quotas)))
            for (service, operation, _), quotas in by_call.items()
        ]

    def _service_task(self, reads: Reads, quotas: list[Quota]) -> Callable[[], None]:
        return lambda: self._ask_service(reads, quotas)

    def _list(
        self,
        aws: Aws,
        service_code: str,
        operation: str,
        into: dict[str, dict[str, float]],
        errors: dict[str, str],
    ) -> None:
        from preflight.account.aws import AwsCallError, paginate

        client = aws.client("service-quotas", _region_of(service_code, aws.region))
        try:
            found = paginate(client, operation, "Quotas", ServiceCode=service_code)
        except AwsCallError as exc:
            errors[service_code] = str(exc)
            return
        into[service_code] = {q["QuotaCode"]: _value(q) for q in found if q.get("Value") is not None}

    def _ask_service(self, reads: Reads, quotas: list[Quota]) -> None:
        from preflight.account.aws import AwsCallError

        source = quotas[0].service_limit
        assert source is not None
        try:
            answer = reads.answer(source.service, source.operation, **source.params)
        except AwsCallError as exc:
            self.service_errors.update({q.quota_code: str(exc) for q in quotas})
            return
        for q in quotas:
            assert q.service_limit is not None
            value = q.service_limit.value(answer)
            if value is not None:
                self.service[q.quota_code] = value

    def resolve(self, region: str) -> dict[str, LimitReading]:
        """Every catalog quota's limit, by quota code."""
        return {q.quota_code: self.resolve_one(q, region) for q in QUOTAS}

    def listing_error(self, service_code: str) -> str | None:
        """Why Service Quotas' listings of a service code could not be read (None: both were)."""
        errors = [
            e for e in (self.applied_errors.get(service_code), self.default_errors.get(service_code)) if e
        ]
        return "; ".join(errors) if errors else None

    def resolve_one(self, q: Quota, region: str) -> LimitReading:
        code, label = q.quota_code, q.service_limit.label if q.service_limit else ""
        answered = self.service.get(code)
        if answered is not None and q.service_limit is not None and q.service_limit.authoritative:
            return LimitReading(value=answered, source="service-api", detail=label)
        applied = self.applied.get(q.service_code, {})
        if code in applied:
            return LimitReading(value=applied[code], source="applied")
        published = self.defaults.get(q.service_code, {}).get(code)
        if answered is not None:
            # The service answers what it enforces for this account; the published default does not win.
            if published is not None and answered < published:
                label += f" (below AWS's published default of {q.format(published)})"
            return LimitReading(value=answered, source="service-api", detail=label)
        listing_error = self.listing_error(q.service_code)
        if published is not None and listing_error is None:
            detail = "never raised: AWS default"
            if code in self.service_errors:  # say so: the service might have answered a lower limit
                detail += f"; the service's own limit could not be read ({self.service_errors[code]})"
            return LimitReading(value=published, source="default", detail=detail)
        why = [e for e in (listing_error, self.service_errors.get(code)) if e]
        detail = "; ".join(why) or f"Service Quotas has no {code} for {q.service_code} in {region}"
        return LimitReading(value=None, source="unknown", detail=detail)


def _region_of(service_code: str, region: str) -> str:
    """Global services' quotas (IAM, S3) are kept in the partition's home region."""
    return home_region(region) if service_code in GLOBAL_SERVICE_CODES else region


def _value(quota: dict[str, Any]) -> float:
    return float(quota["Value"]) * _UNIT_FACTORS.get(quota.get("Unit", "None"), 1)
