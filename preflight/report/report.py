"""The report: findings, verdict and what would make the requested deployment fit.

Its JSON form (`schema: tap-preflight/report/v1`) is a contract other tools read; formatters in
`preflight.report.formats` render the same `Report` as a table, markdown, SARIF, JUnit or GitHub annotations.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from preflight.deployment import Adaptation, IncreaseRequest, ManifestRef, Note, Verdict
from preflight.support.bounds import Count, ElapsedS, Headroom, QuotaValue, Utilization

# SUPPRESSED: a WARN or UNKNOWN the user accepted (--skip, a config `skip` entry); it keeps its reason.
Status = Literal["OK", "WARN", "FAIL", "UNKNOWN", "SUPPRESSED"]
REPORT_SCHEMA = "tap-preflight/report/v1"


class Suppression(BaseModel):
    """Why a finding is SUPPRESSED: what it was, who accepted it (flag or config file) and until when."""

    # defer_build: the schema is built at first use, not at import (a command uses few models)
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    status: Literal["WARN", "UNKNOWN"]  # what it would be without the skip
    reason: str
    source: str  # "--skip L-...:scope" or "pyproject.toml: [[tool.tap-preflight.skip]] #1"
    expires: date | None = None


class _SuppressibleModel(BaseModel):
    """Leaves `suppression` out of the JSON when there is none, so reports without skips stay as they were."""

    @model_serializer(mode="wrap")
    def _drop_no_suppression(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and data.get("suppression", 0) is None:
            del data["suppression"]
        return data


class Finding(_SuppressibleModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    kind: Literal["quota"] = "quota"
    service_code: str
    quota_code: str
    quota_name: str
    scope: str
    limit: QuotaValue | None
    limit_source: str
    usage: QuotaValue | None
    demand: QuotaValue
    headroom_after: Headroom | None
    utilization_after: Utilization | None
    status: Status
    resources: tuple[str, ...]
    message: str
    lines: tuple[int, ...] = ()  # manifest lines of `resources` (where known), for annotations and SARIF
    suppression: Suppression | None = None  # set when status is SUPPRESSED


class CheckFinding(_SuppressibleModel):
    """A deploy failure that is not a quota (a name taken, a service not offered): no limit, no usage.

    `id` is the check's stable rule id (TAP-C... conflicts, TAP-A... availability), as SARIF rule ids.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    kind: Literal["conflict", "availability"]
    id: str
    title: str
    status: Status
    message: str
    resources: tuple[str, ...]  # manifest paths
    names: tuple[str, ...] = ()  # what it is in the account: physical names, ARNs, service names
    owner: str | None = None  # who seems to own the name (its tags), for conflicts
    action: Literal["fail", "adopt", "overwrite"] | None = None  # what the deploy would do
    fix: str = ""
    lines: tuple[int, ...] = ()
    suppression: Suppression | None = None  # set when status is SUPPRESSED


class Override(BaseModel):
    """A flag that changes the verdict or the exit code on purpose; every report format shows it."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    flag: str  # "--limit", "--soft-fail", "--allow-unknown"
    detail: str


class Stats(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    api_calls: dict[str, Count] = Field(default_factory=dict)
    elapsed_s: ElapsedS = 0.0


class Report(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)

    schema_: Literal["tap-preflight/report/v1"] = Field(REPORT_SCHEMA, alias="schema")
    command: Literal["check", "plan"] = "check"
    verdict: Verdict
    region: str
    account_id: str
    environment: str
    manifest: ManifestRef
    findings: tuple[Finding, ...]
    checks: tuple[CheckFinding, ...] = ()  # not quotas: names taken, services not offered
    increase_requests: tuple[IncreaseRequest, ...] = ()
    adaptations: tuple[Adaptation, ...] | None = None  # plan only
    notes: tuple[Note, ...] = ()  # plan only: what the plan leaves as it is but you should know (costs)
    overrides: tuple[Override, ...] = ()
    stats: Stats = Field(default_factory=Stats)

    def counts(self) -> dict[Status, int]:
        out: dict[Status, int] = {"OK": 0, "WARN": 0, "FAIL": 0, "UNKNOWN": 0, "SUPPRESSED": 0}
        for f in (*self.findings, *self.checks):
            out[f.status] += 1
        return out

    def to_json(self) -> str:
        # `check` reports have no adaptations key; `plan` reports always do (possibly empty).
        exclude = {"adaptations"} if self.adaptations is None else set()
        if not self.notes:
            exclude.add("notes")
        return self.model_dump_json(by_alias=True, indent=2, exclude=exclude) + "\n"
