"""`request-increases`: the Service Quotas increase requests a plan or report says the requested
deployment needs, listed, checked against the account and (with --submit) filed.

Each request goes through the same steps (the Service Quotas rules for asking for more):

1. not adjustable: reported as needing a design change, never filed;
2. an open request for the quota (PENDING or CASE_OPENED): skipped, AWS allows one at a time;
3. the value in force (applied, else AWS default) already reaches the required value: skipped;
4. otherwise filed with RequestServiceQuotaIncrease (--submit), or shown as "would file".

Global quotas (IAM, S3) are asked for in us-east-1. Without --submit only read calls are made
(sts:GetCallerIdentity, servicequotas:Get*/List*); with --offline none at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from preflight.deployment import PLAN_SCHEMA, IncreaseRequest, Plan
from preflight.quotas import catalog
from preflight.report.report import REPORT_SCHEMA, Report
from preflight.report.results import IncreasesResult, Outcome, SourceKind, Status, amount
from preflight.support.errors import AwsAccessError, InputError
from preflight.support.strictjson import json_line, load_json_object

OPEN_STATUSES = frozenset({"PENDING", "CASE_OPENED"})
UNIT_FACTORS = {
    "Bytes": 1,
    "Kilobytes": 1024,
    "Megabytes": 1024**2,
    "Gigabytes": 1024**3,
    "Terabytes": 1024**4,
}


# --- input ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requested:
    """The increase requests read from one plan or report file."""

    path: str
    kind: SourceKind
    region: str
    account_id: str
    environment: str
    requests: tuple[IncreaseRequest, ...]


def load_requested(path: str, kind: SourceKind) -> Requested:
    """Read `path` as a plan file (`plan --save-plan`) or a JSON report (`check/plan --format json`)."""
    what = "plan file" if kind == "plan" else "report"
    data, text = load_json_object(path, what)
    expected = PLAN_SCHEMA if kind == "plan" else REPORT_SCHEMA
    schema = data.get("schema")
    if schema != expected:
        raise InputError(_schema_problem(schema, kind), file=path, path="schema" if schema else "")
    source: Plan | Report
    if kind == "plan":
        # Read as the program reads it: strictly, and only as far as its manifest backs it.
        from preflight.program.planfile import load_trusted_plan

        source = load_trusted_plan(path, text=text).plan
    else:
        try:
            source = Report.model_validate(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            loc = ".".join(str(p) for p in first["loc"])
            line = json_line(text, path, first["loc"])
            raise InputError(f"damaged {what}: {first['msg']}", file=path, line=line, path=loc) from exc
    return Requested(
        path=path,
        kind=kind,
        region=source.region,
        account_id=source.account_id,
        environment=source.environment,
        requests=merge(source.increase_requests),
    )


def _schema_problem(schema: object, kind: SourceKind) -> str:
    option = {"plan": "--plan", "report": "--from-report"}
    if isinstance(schema, str) and schema.startswith("tap-preflight/"):
        found = schema.split("/")[1]
        if found in option and found != kind:
            return f"this is a tap-preflight {found} file: pass it with {option[found]}"
        if found == kind:
            return (
                f"{kind} format {schema.rsplit('/', 1)[-1]} is not supported by this version of tap-preflight"
            )
        return f"this is a tap-preflight {found} file, not a {kind}"
    if kind == "plan":
        return "not a tap-preflight plan file (make one with `tap-preflight plan --adapt --save-plan`)"
    return "not a tap-preflight JSON report (make one with `tap-preflight check --format json`)"


def merge(requests: Iterable[IncreaseRequest]) -> tuple[IncreaseRequest, ...]:
    """One request per quota, asking for the largest required value."""
    out: dict[tuple[str, str], IncreaseRequest] = {}
    for req in requests:
        key = (req.service_code, req.quota_code)
        if key not in out or req.required > out[key].required:
            out[key] = req
    return tuple(out.values())


# --- pure decisions --------------------------------------------------------------------------------


def quota_region(req: IncreaseRequest, region: str) -> str:
    """Global quotas (IAM, S3) live in us-east-1 whatever the stack's region."""
    return catalog.home_region(region) if req.service_code in catalog.GLOBAL_SERVICE_CODES else region


def desired_value(required: float, unit: str) -> float:
    """`required` (base units: bytes for sizes) in the quota's unit, rounded up: never ask for less."""
    value = required / UNIT_FACTORS.get(unit, 1)
    return float(math.ceil(value - abs(value) * 1e-12))  # the tolerance absorbs float noise only


def catalog_unit(req: IncreaseRequest) -> str:
    q = catalog.BY_CODE.get(req.quota_code)
    return q.unit if q is not None else "None"


@dataclass(frozen=True)
class InForce:
    value: float  # in base units (bytes for sizes)
    unit: str  # the unit Service Quotas uses for the quota
    source: Literal["applied", "default"]


@dataclass(frozen=True)
class OpenRequest:
    id: str
    status: str
    desired: float


def decide(
    req: IncreaseRequest, *, open_request: OpenRequest | None, in_force: InForce | None
) -> Literal["open-request", "already-raised", "file"]:
    """Whether an adjustable quota still needs a request."""
    if open_request is not None:
        return "open-request"
    if in_force is not None and in_force.value >= req.required:
        return "already-raised"
    return "file"


def _outcome(req: IncreaseRequest, region: str, status: Status, **extra: Any) -> Outcome:
    unit = extra.pop("unit", None) or catalog_unit(req)
    if status == "design-change":
        extra["desired_value"] = None  # nothing can be asked for
    return Outcome(
        service_code=req.service_code,
        quota_code=req.quota_code,
        quota_name=req.quota_name,
        region=quota_region(req, region),
        current=req.current,
        required=req.required,
        desired_value=extra.pop("desired_value", desired_value(req.required, unit)),
        unit=unit,
        adjustable=req.adjustable,
        status=status,
        **extra,
    )


def list_offline(requested: Requested, region: str | None = None) -> IncreasesResult:
    """The requests as the file states them; no AWS call."""
    where = region or requested.region
    outcomes = tuple(
        _outcome(r, where, "listed" if r.adjustable else "design-change", detail=_design_detail(r))
        for r in requested.requests
    )
    return _result(requested, where, submitted=False, outcomes=outcomes)


def _design_detail(req: IncreaseRequest) -> str:
    if req.adjustable:
        return ""
    return f"AWS does not raise it: the deployment must fit in {amount(req.current)} (see plan --adapt)"


def _result(
    requested: Requested, region: str, *, submitted: bool, outcomes: tuple[Outcome, ...]
) -> IncreasesResult:
    return IncreasesResult(
        source=requested.path,
        source_kind=requested.kind,
        account_id=requested.account_id,
        region=region,
        submitted=submitted,
        outcomes=outcomes,
    )


# --- the account ----------------------------------------------------------------------------------


class ServiceQuotas:
    """The Service Quotas calls `request-increases` makes, over one `Aws` (clients per region)."""

    def __init__(self, aws: Any) -> None:
        self.aws = aws

    def _client(self, region: str) -> Any:
        return self.aws.client("service-quotas", region)

    def account_id(self) -> str:
        from preflight.account.aws import call

        return str(call(self.aws.client("sts"), "GetCallerIdentity")["Account"])

    def in_force(self, req: IncreaseRequest, region: str) -> InForce | None:
        """The applied value, else AWS's default; None when Service Quotas knows neither."""
        from preflight.account.aws import AwsCallError, call

        client = self._client(region)
        args = {"ServiceCode": req.service_code, "QuotaCode": req.quota_code}
        for operation, source in (("GetServiceQuota", "applied"), ("GetAWSDefaultServiceQuota", "default")):
            try:
                quota = call(client, operation, **args)["Quota"]
            except AwsCallError as exc:
                if exc.code == "NoSuchResourceException":
                    continue  # never raised: AWS answers this for quotas with no applied value
                raise
            if quota.get("Value") is None:
                continue
            unit = quota.get("Unit") or "None"
            value = float(quota["Value"]) * UNIT_FACTORS.get(unit, 1)
            return InForce(value=value, unit=unit, source=source)  # type: ignore[arg-type]
        return None

    def open_request(self, req: IncreaseRequest, region: str) -> OpenRequest | None:
        from preflight.account.aws import paginate

        history = paginate(
            self._client(region),
            "ListRequestedServiceQuotaChangeHistoryByQuota",
            "RequestedQuotas",
            ServiceCode=req.service_code,
            QuotaCode=req.quota_code,
        )
        for item in history:
            if item.get("Status") in OPEN_STATUSES:
                return OpenRequest(
                    id=str(item.get("Id", "")),
                    status=str(item["Status"]),
                    desired=float(item.get("DesiredValue") or 0),
                )
        return None

    def file(self, req: IncreaseRequest, region: str, desired: float) -> dict[str, Any]:
        from preflight.account.aws import call

        answer = call(
            self._client(region),
            "RequestServiceQuotaIncrease",
            ServiceCode=req.service_code,
            QuotaCode=req.quota_code,
            DesiredValue=desired,
        )
        return dict(answer.get("RequestedQuota") or {})


def run_increases(
    requested: Requested,
    quotas: ServiceQuotas,
    *,
    region: str | None = None,
    submit: bool = False,
    progress: Callable[[str], None] | None = None,
) -> IncreasesResult:
    """Check each request against the account and, with `submit`, file those still needed.

    An AWS error on one request is recorded on it (status "error") and the others go on; the caller
    exits 3 when any request has one. A request for another account than the file's is refused.
    """
    from preflight.account.aws import AwsCallError

    where = region or requested.region
    try:
        actual = quotas.account_id()
    except AwsCallError as exc:
        raise AwsAccessError.of_call(exc) from exc
    if requested.account_id.isdigit() and actual != requested.account_id:
        raise InputError(
            f"made for account {requested.account_id}, but the credentials are for account {actual}",
            file=requested.path,
        )
    outcomes = []
    for req in requested.requests:
        if progress:
            progress(req.quota_code)
        outcomes.append(_one(req, quotas, where, submit))
    return _result(requested, where, submitted=submit, outcomes=tuple(outcomes))


def _one(req: IncreaseRequest, quotas: ServiceQuotas, region: str, submit: bool) -> Outcome:
    from preflight.account.aws import AwsCallError

    where = quota_region(req, region)
    if not req.adjustable:
        return _outcome(req, region, "design-change", detail=_design_detail(req))
    try:
        open_request = quotas.open_request(req, where)
        in_force = quotas.in_force(req, where)
        unit = in_force.unit if in_force else catalog_unit(req)
        desired = desired_value(req.required, unit)
        common: dict[str, Any] = {
            "in_force": in_force.value if in_force else None,
            "unit": unit,
            "desired_value": desired,
        }
        match decide(req, open_request=open_request, in_force=in_force):
            case "open-request":
                assert open_request is not None
                opened = open_request
                return _outcome(
                    req,
                    region,
                    "open-request",
                    detail=f"request {opened.id} for {amount(opened.desired)} is {opened.status}",
                    request_id=opened.id,
                    **common,
                )
            case "already-raised":
                assert in_force is not None
                return _outcome(
                    req,
                    region,
                    "already-raised",
                    detail=f"{amount(in_force.value)} in force ({in_force.source}) "
                    f"reaches {amount(req.required)}",
                    **common,
                )
        if not submit:
            return _outcome(
                req,
                region,
                "would-file",
                detail=f"--submit asks for {amount(desired)}{_unit_label(unit)}",
                **common,
            )
        filed = quotas.file(req, where, desired)
        status = filed.get("Status", "PENDING")
        return _outcome(
            req,
            region,
            "filed",
            detail=f"asked for {amount(desired)}{_unit_label(unit)}: {status}",
            request_id=filed.get("Id"),
            case_id=filed.get("CaseId") or None,
            **common,
        )
    except AwsCallError as exc:
        why = str(exc) if exc.denied else f"{exc} (IAM permission {exc.permission})"
        return _outcome(req, region, "error", detail=why)


# --- numbers in the details ------------------------------------------------------------------------


def _unit_label(unit: str) -> str:
    return "" if unit == "None" else f" {unit.lower()}"
