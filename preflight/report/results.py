"""The results of `request-increases`, `place` and `sweep`, as the formats render them.

They sit here, beside the Report, so that `report/` never imports `commands/`: each command builds its
result (`commands/increases.py`, `commands/place.py`, `commands/sweep.py`) and the formats
(`report/formats/`) read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

from preflight.deployment import Frozen
from preflight.gate import GatePolicy
from preflight.report.report import Override, Report

# --- request-increases ----------------------------------------------------------------------------


INCREASES_SCHEMA = "tap-preflight/increases/v1"


SourceKind = Literal["plan", "report"]


Status = Literal["design-change", "listed", "open-request", "already-raised", "would-file", "filed", "error"]


STATUS_TEXT: dict[str, str] = {
    "design-change": "needs a design change (not adjustable)",
    "listed": "listed (offline)",
    "open-request": "skipped: a request is open",
    "already-raised": "skipped: already raised",
    "would-file": "would file (dry run)",
    "filed": "filed",
    "error": "error",
}


class Outcome(BaseModel):
    """What happened (or would happen) to one increase request."""

    # defer_build: the schema is built at first use, not at import (a command uses few models)
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    service_code: str
    quota_code: str
    quota_name: str
    region: str  # where it is (or would be) filed: us-east-1 for global quotas
    current: float | None  # the limit in the plan or report
    in_force: float | None = None  # the value in force now (applied, else AWS default), when read
    required: float
    desired_value: float | None = None  # DesiredValue in the quota's own unit
    unit: str = "None"
    adjustable: bool
    status: Status
    detail: str = ""
    request_id: str | None = None
    case_id: str | None = None


class IncreasesResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)

    schema_: str = INCREASES_SCHEMA
    source: str
    source_kind: SourceKind
    account_id: str
    region: str
    submitted: bool
    outcomes: tuple[Outcome, ...]

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "error"]

    def to_json(self) -> str:
        data = self.model_dump(mode="json")
        data = {"schema": data.pop("schema_"), **data}
        return json.dumps(data, indent=2) + "\n"


def amount(value: float | None) -> str:
    """A limit or value as the details say it: whole numbers without a point, `?` when unknown."""
    if value is None:
        return "?"
    return f"{int(value)}" if float(value).is_integer() else f"{value:g}"


# --- place ---------------------------------------------------------------------------------------


Fit = Literal["FITS", "FITS_ADAPTED", "DOES_NOT_FIT", "UNKNOWN"]


Accept = Literal["requested", "adapted"]


PLACE_SCHEMA = "tap-preflight/place/v1"


FIT_TEXT: dict[Fit, str] = {
    "FITS": "fits as requested",
    "FITS_ADAPTED": "fits with adaptations",
    "DOES_NOT_FIT": "does not fit",
    "UNKNOWN": "could not evaluate",
}


class RegionFit(Frozen):
    region: str
    fit: Fit
    verdict: str | None  # the region's plan verdict; None when the region could not be read
    adaptations: tuple[str, ...] = ()  # adaptation titles, the degradation
    monthly_cost_delta_usd: float = 0.0
    increases: tuple[str, ...] = ()  # "service/code: current -> required" to fit as requested
    detail: str = ""

    @property
    def degradation(self) -> tuple[int, float]:
        """How degraded an adapted fit is: the planner's adaptations, then what they add to the bill."""
        return (len(self.adaptations), self.monthly_cost_delta_usd)


class Placement(Frozen):
    schema_: str = PLACE_SCHEMA
    accept: Accept
    regions: tuple[RegionFit, ...]  # ranked, best first

    def to_json(self) -> str:
        body = self.model_dump(mode="json")
        return json.dumps({"schema": body.pop("schema_"), **body}, indent=2) + "\n"


@dataclass(frozen=True)
class PlaceResult:
    """`place`'s result as the formats take it: the ranking, and the regions' own reports (what SARIF,
    JUnit and GitHub annotations carry)."""

    placement: Placement
    reports: tuple[Report, ...] = ()

    def to_json(self) -> str:
        return self.placement.to_json()


# --- sweep ---------------------------------------------------------------------------------------


SWEEP_SCHEMA = "tap-preflight/sweep/v1"


TargetStatus = Literal["GO", "NO_GO", "UNKNOWN"]


class Account(Frozen):
    id: str
    name: str = ""
    state: str = "ACTIVE"  # Organizations' account State; from a file: taken as ACTIVE


class Worst(Frozen):
    """The finding closest to failing in a target: worst status, then highest utilization."""

    id: str  # quota code or check id
    name: str
    status: str
    after: float | None = None  # usage + demand
    limit: float | None = None

    def text(self) -> str:
        status = "" if self.status == "OK" else f"{self.status} "
        if self.after is None or self.limit is None:
            return f"{status}{self.id} {self.name}"
        return f"{status}{self.id} {_figure(self.after)}/{_figure(self.limit)} {self.name}"


class TargetResult(Frozen):
    account_id: str
    account_name: str = ""
    region: str
    status: TargetStatus
    verdict: str | None  # the check's verdict; None when the target could not be read
    worst: Worst | None = None
    detail: str = ""  # why it could not be read


class SweepResult(Frozen):
    schema_: str = SWEEP_SCHEMA
    verdict: TargetStatus
    role_name: str
    regions: tuple[str, ...]
    shard: str | None = None
    targets: tuple[TargetResult, ...]
    skipped: tuple[Account, ...] = ()  # accounts not ACTIVE
    overrides: tuple[Override, ...] = ()  # flags that change verdicts or the exit code on purpose
    elapsed_s: float = 0.0

    def counts(self) -> dict[str, int]:
        out = {"GO": 0, "NO_GO": 0, "UNKNOWN": 0}
        for t in self.targets:
            out[t.status] += 1
        return out

    def to_json(self) -> str:
        body = self.model_dump(mode="json")
        return json.dumps({"schema": body.pop("schema_"), **body, "counts": self.counts()}, indent=2) + "\n"


@dataclass(frozen=True)
class SweepRun:
    """A sweep's result as the formats take it: the summary, every target's report, the gate's policy
    (the JUnit view fails what the policy fails)."""

    result: SweepResult
    reports: tuple[Report, ...] = ()
    policy: GatePolicy = field(default_factory=GatePolicy)

    def to_json(self) -> str:
        return self.result.to_json()


def _figure(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
