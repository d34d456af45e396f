"""A Lambda function: its reservation against the account's concurrency (the unreserved floor applied when
compared, see `preflight.evaluate`), its code against code storage, and, attached to the VPC, Hyperplane
ENIs (one per private subnet and security group, shared by the functions). With the `lambda` settings
that every function shares: runtime, where they run (networking) and how reservations are shared.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import Field, field_validator, model_validator

from preflight.kinds.base import (
    AWS_DOCS,
    LOGICAL,
    NOT_FOUND,
    Account,
    Checker,
    Created,
    Expected,
    Found,
    Frozen,
    Inventory,
    Name,
    NameCheck,
    Named,
    Needs,
    Part,
    Peak,
    Physical,
    Program,
    Read,
    Resolving,
    StepFailed,
    Strict,
    not_found,
    owned,
    stack_tags,
    tag_dict,
)
from preflight.kinds.bucket import BucketPlan
from preflight.kinds.endpoint import (
    SERVICES,
    URL_VARIABLE,
    VPC_ENDPOINT,
    EndpointPlan,
    Service,
    mock_dns_name,
    service_name,
)
from preflight.kinds.role import (
    BASIC_EXECUTION_POLICY,
    ROLE,
    VPC_ACCESS_POLICY,
    RolePlan,
    attached_policies,
)
from preflight.kinds.security_group import SECURITY_GROUP, SecurityGroupPlan, own_groups
from preflight.kinds.stream import StreamPlan
from preflight.kinds.table import TablePlan
from preflight.kinds.vpc import VpcPlan, private_subnet_ids, private_subnets, scope
from preflight.quotas.catalog import (
    LAMBDA_CODE_STORAGE,
    LAMBDA_CONCURRENCY,
    LAMBDA_ENIS_PER_VPC,
    NETWORK_INTERFACES,
)
from preflight.redeploy import PROGRAM_ORDERS_RESERVATIONS, reservation_peak, reservation_steps
from preflight.support.bounds import CodeSize, MemoryMb, ReservedConcurrency, TimeoutS, Weight

FUNCTION = "aws:lambda/function:Function"
LABELS = {FUNCTION: "Lambda function"}
NetworkMode = Literal["vpc-with-endpoints", "vpc-with-interface-endpoints", "vpc-with-nat", "no-vpc"]
NAME_CHECK = NameCheck(
    "function",
    "TAP-C002",
    "Lambda function",
    "ResourceConflictException",
    (FUNCTION,),
    title="Lambda function name taken",
    help="CreateFunction fails with ResourceConflictException.",
    help_uri=f"{AWS_DOCS}/lambda/latest/api/API_CreateFunction.html",
)


class NetworkingPolicy(Strict):
    """Where the functions run, best first, and what plan --adapt may fall back to."""

    # First entry is what the manifest requests; the rest are allowed fallbacks, best first.
    preference: list[NetworkMode] = Field(
        default_factory=lambda: ["vpc-with-endpoints", "no-vpc"],
        min_length=1,
        description=(
            "Networking modes allowed, best first: vpc-with-endpoints, vpc-with-interface-endpoints "
            "(S3/DynamoDB through interface endpoints instead of gateway endpoints: about $7.30/month per "
            "AZ each, per-VPC quota instead of the regional gateway quota), vpc-with-nat, no-vpc. "
            "The first is what check evaluates; plan --adapt tries the others in order."
        ),
        examples=[["vpc-with-endpoints", "no-vpc"]],
    )
    security_group: Name = Field(
        "lambda",
        alias="securityGroup",
        description="Name of the securityGroups entry attached to VPC-attached functions.",
    )
    nat_gateways: Literal["single", "per-az"] = Field(
        "single",
        alias="natGateways",
        description="With vpc-with-nat: one NAT gateway (cheaper) or one per availability zone (resilient).",
    )
    interface_security_group: Name | None = Field(
        None,
        alias="interfaceSecurityGroup",
        description=(
            "With vpc-with-interface-endpoints: name of the securityGroups entry attached to the S3 and "
            "DynamoDB interface endpoints that replace the gateway endpoints (it must allow HTTPS from "
            "the functions)."
        ),
        examples=["endpoints"],
    )

    @field_validator("preference")
    @classmethod
    def _unique(cls, value: list[NetworkMode]) -> list[NetworkMode]:
        if len(set(value)) != len(value):
            raise ValueError("each networking mode may appear once")
        return value


class ConcurrencyPolicy(Strict):
    """How reserved concurrency is shared when the account cannot reserve what the functions ask."""

    # water-fill: share what the account can still reserve, weights and floors respected.
    sharing: Literal["water-fill", "none"] = Field(
        "water-fill",
        description=(
            "water-fill: share what the account can still reserve by weight, each floor kept; "
            "none: each function gets its full request or no reservation."
        ),
    )
    when_floors_do_not_fit: Literal["drop-reservations", "no-go"] = Field(
        "drop-reservations",
        alias="whenFloorsDoNotFit",
        description=(
            "When even the floors (minReservedConcurrency) do not fit: drop reservations, lowest weight "
            "first (drop-reservations), or give NO_GO (no-go)."
        ),
    )


class LambdaSpec(Strict):
    """Settings shared by every function."""

    runtime: str = Field(
        "python3.11", description="Lambda runtime of every function.", examples=["python3.11"]
    )
    networking: NetworkingPolicy = Field(
        default_factory=NetworkingPolicy, description="Where the functions run, and the allowed fallbacks."
    )
    concurrency: ConcurrencyPolicy = Field(
        default_factory=ConcurrencyPolicy, description="How reserved concurrency is shared when short."
    )


class FunctionSpec(Strict):
    """A Lambda function of the pipeline."""

    name: Name = Field(description=LOGICAL, examples=["ingest"])
    source: str = Field(
        description="Handler source file, relative to the manifest's folder.",
        examples=["../handlers/ingest.py"],
    )
    handler: str = Field(
        "index.handler", description="Entry point, module.function.", examples=["ingest.handler"]
    )
    memory_mb: MemoryMb = Field(
        512, alias="memoryMb", ge=128, le=10240, description="Memory, in MB (128 to 10240).", examples=[1024]
    )
    timeout_s: TimeoutS = Field(
        60, alias="timeoutS", ge=1, le=900, description="Timeout, in seconds (1 to 900).", examples=[60]
    )
    # None: no reservation. 0 is refused: it would throttle the function completely.
    reserved_concurrency: ReservedConcurrency | None = Field(
        None,
        alias="reservedConcurrency",
        ge=1,
        le=100_000,
        description=(
            "Concurrent executions reserved for this function (taken from the account's pool, which keeps "
            "100 unreserved). Omit for none; 0 is refused (it would stop the function)."
        ),
        examples=[100],
    )
    min_reserved_concurrency: ReservedConcurrency = Field(
        1,
        alias="minReservedConcurrency",
        ge=1,
        le=100_000,
        description="The least reservation plan --adapt may give it (its floor), in concurrent executions.",
        examples=[5],
    )
    reservation_required: bool = Field(
        False,
        alias="reservationRequired",
        description="Never drop this reservation to make the others fit (NO_GO instead).",
    )
    weight: Weight = Field(
        1.0,
        gt=0,
        le=1000,
        description="Relative share of the reservable pool (water-fill); lowest weights are dropped first.",
        examples=[1.0],
    )
    uses: list[Service] = Field(
        default_factory=list,
        description=f"AWS services it calls ({SERVICES}); in the VPC each needs an endpoint or a NAT.",
        examples=[["kinesis-streams", "dynamodb"]],
    )

    @model_validator(mode="after")
    def _floor_below_request(self) -> FunctionSpec:
        if (
            self.reserved_concurrency is not None
            and self.min_reserved_concurrency > self.reserved_concurrency
        ):
            raise ValueError("minReservedConcurrency must not exceed reservedConcurrency")
        return self


class FunctionPlan(Frozen):
    path: str
    key: str
    name: str
    source: str  # handler source file, relative to the manifest's directory
    handler: str
    runtime: str
    memory_mb: MemoryMb
    timeout_s: TimeoutS
    code_size: CodeSize  # bytes; counts toward Lambda code storage
    # None: no reservation at all (no PutFunctionConcurrency). 0 would throttle the function to death.
    reserved_concurrency: ReservedConcurrency | None
    vpc_attached: bool
    uses: tuple[str, ...] = ()


class Uses(Protocol):
    @property
    def vpc(self) -> VpcPlan: ...

    @property
    def region(self) -> str: ...

    @property
    def functions(self) -> tuple[FunctionPlan, ...]: ...

    @property
    def endpoints(self) -> tuple[EndpointPlan, ...]: ...

    @property
    def security_groups(self) -> tuple[SecurityGroupPlan, ...]: ...

    @property
    def lambda_security_group(self) -> str | None: ...

    @property
    def role(self) -> RolePlan: ...

    @property
    def streams(self) -> tuple[StreamPlan, ...]: ...

    @property
    def tables(self) -> tuple[TablePlan, ...]: ...

    @property
    def buckets(self) -> tuple[BucketPlan, ...]: ...


def plans(
    specs: Sequence[FunctionSpec],
    physical: Physical,
    runtime: str,
    attached: bool,
    code_size: Callable[[int, str], int],
) -> tuple[FunctionPlan, ...]:
    """The functions as planned; `code_size(index, source)` measures (and checks) each source."""
    return tuple(
        FunctionPlan(
            path=f"functions[{i}]",
            key=fn.name,
            name=physical(fn.name),
            source=fn.source,
            handler=fn.handler,
            runtime=runtime,
            memory_mb=fn.memory_mb,
            timeout_s=fn.timeout_s,
            code_size=code_size(i, fn.source),
            reserved_concurrency=fn.reserved_concurrency,
            vpc_attached=attached,
            uses=tuple(fn.uses),
        )
        for i, fn in enumerate(specs)
    )


def resolve(doc: Any, r: Resolving) -> dict[str, Any]:
    """The functions, attached to the VPC unless the networking is no-vpc, and their security group."""
    attached = r.mode != "no-vpc"
    return {
        "functions": plans(doc.functions, r.physical, doc.lambda_.runtime, attached, r.code_size),
        "lambda_security_group": r.physical(doc.lambda_.networking.security_group),
    }


PART = Part(
    manifest={
        "lambda_": (
            LambdaSpec,
            Field(
                default_factory=LambdaSpec,
                alias="lambda",
                description="Settings and policies shared by the functions.",
            ),
        ),
        "functions": (
            list[FunctionSpec],
            Field(
                min_length=1, max_length=5000, description="The pipeline's Lambda functions (at least one)."
            ),
        ),
    },
    deployment={
        "functions": tuple[FunctionPlan, ...],
        # physical name of the SG VPC-attached functions use
        "lambda_security_group": (str | None, None),
    },
    resolve=resolve,
)


def needs(d: Uses) -> Needs:
    attached = [f for f in d.functions if f.vpc_attached]
    if attached:
        private = len(private_subnets(d.vpc))
        # Hyperplane: one ENI per subnet x security-group combination, shared by the functions.
        yield LAMBDA_ENIS_PER_VPC, scope(d.vpc), private, attached[0].path
        yield NETWORK_INTERFACES, "region", private, attached[0].path
    for f in d.functions:
        if f.reserved_concurrency is not None:
            yield LAMBDA_CONCURRENCY, "region", f.reserved_concurrency, f"{f.path}.reservedConcurrency"
        yield LAMBDA_CODE_STORAGE, "region", f.code_size, f"{f.path}.source"


def redeploy_peaks(d: Uses, current: Any) -> list[Peak]:
    """The reservations at their worst moment: the order the program allows between cuts and raises."""
    planned = {f.name: f.reserved_concurrency for f in d.functions}
    peak = reservation_peak(current.reservations, planned, ordered=PROGRAM_ORDERS_RESERVATIONS)
    note = "while redeploying, some functions still hold their current reservation"
    return [(LAMBDA_CONCURRENCY, "region", peak, note)]


# --- the stack's own in an account ---------------------------------------------------------------


def own_reads(a: Account, d: Uses) -> list[Read]:
    """GetFunction of each of the stack's functions, all at once; many functions: of those the
    account's listing holds (see `Account.looks_up_functions_by_name`)."""
    names = [f.name for f in d.functions]
    if a.looks_up_functions_by_name():
        return [("lambda", f"function {name}", lambda name=name: a.function(name)) for name in names]
    return [("lambda", "the stack's functions", lambda: _existing_functions(a, names))]


def _existing_functions(a: Account, names: list[str]) -> None:
    """GetFunction for each of `names` the account's listing holds (at most 100 a second, as Lambda
    allows: a few at a time)."""
    from concurrent.futures import ThreadPoolExecutor

    listed = a.account_function_names()
    found = [name for name in names if name in listed]
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="functions") as pool:
        for future in [pool.submit(a.function, name) for name in found]:
            future.exception()  # a failure reaches whoever needs that function


def own_function(a: Account, name: str) -> tuple[int | None] | None:
    """(reservation,) of the stack's function `name` (reservation None: it has none); None when it
    does not exist or is not the stack's (a function of that name without the stack's tags).

    GetFunction answers the tags and the reservation in one call.
    """
    answer = a.function(name)
    if answer is None or not a.owns(answer.get("Tags") or {}):
        return None
    reserved = (answer.get("Concurrency") or {}).get("ReservedConcurrentExecutions")
    return (None if reserved is None else int(reserved),)


def own_reservation(a: Account, name: str) -> int:
    """What the stack's function `name` holds reserved now (0: none, not there, not the stack's)."""
    found = own_function(a, name)
    return (found[0] or 0) if found else 0


def own_reservations(a: Account, d: Uses) -> dict[str, int | None]:
    """The stack's existing functions and their reservations now."""
    found = {f.name: own_function(a, f.name) for f in d.functions}
    return {name: f[0] for name, f in found.items() if f is not None}


def own_enis(a: Account, d: Uses) -> set[str]:
    """Lambda's ENIs whose security groups are all the stack's: AWS makes them untagged for the
    functions attached to the VPC, and ties them to the groups."""
    groups = set(own_groups(a))
    return {
        eni["NetworkInterfaceId"]
        for eni in a.ec2("DescribeNetworkInterfaces", "NetworkInterfaces")
        if eni.get("InterfaceType") == "lambda" and _group_ids(eni) and _group_ids(eni) <= groups
    }


def _group_ids(eni: dict[str, Any]) -> set[str]:
    return {g["GroupId"] for g in eni.get("Groups") or []}


def uses_own_lambda_group(d: Uses, eni: dict[str, Any]) -> bool:
    """Whether a Lambda ENI is one the stack's functions will use: Lambda makes one ENI per subnet and
    security-group combination and shares it among the functions with that combination (Hyperplane),
    so those with exactly the stack's Lambda group are its own."""
    return {g.get("GroupName") for g in eni.get("Groups") or []} == {d.lambda_security_group}


# --- the program ------------------------------------------------------------------------------------


def data_variables(d: Uses) -> dict[str, str]:
    """The environment every function gets: each stream, table and bucket's physical name, as
    `STREAM_NAME_<KEY>` (the manifest name, upper case, `-` as `_`), and as `STREAM_NAME` too when the
    deployment has exactly one of that kind (what the shipped handlers read)."""
    out: dict[str, str] = {}
    kinds: tuple[tuple[str, Sequence[StreamPlan | TablePlan | BucketPlan]], ...] = (
        ("STREAM", d.streams),
        ("TABLE", d.tables),
        ("BUCKET", d.buckets),
    )
    for prefix, items in kinds:
        if len(items) == 1:
            out[f"{prefix}_NAME"] = items[0].name
        for item in items:
            out[f"{prefix}_NAME_{_variable_key(item.key)}"] = item.name
    return out


def _variable_key(key: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in key.upper())


def archive_member(fn: FunctionPlan) -> str:
    """The handler module's file name inside the code archive (`ingest.handler` -> ingest.py)."""
    module = fn.handler.rsplit(".", 1)[0]
    return module.replace(".", "/") + ".py"


def register(p: Program, d: Uses) -> None:
    """Each function once; a redeploy lowers reservations before it raises others:
    PutFunctionConcurrency checks the unreserved floor on every call, and Pulumi would otherwise
    update the functions in parallel."""
    steps = reservation_steps(
        p.made.get("current_reservations") or {}, {f.name: f.reserved_concurrency for f in d.functions}
    )
    # Which functions each function's update waits for (function names): for reviews and tests.
    p.made["waits_for"] = {f.name: steps.cuts if f.name in steps.raises else () for f in d.functions}
    cuts: list[Any] = []
    made: dict[str, Any] = {}
    for fn in sorted(d.functions, key=lambda f: f.name in steps.raises):  # cuts registered first
        made[fn.name] = _function(p, d, fn, cuts if fn.name in steps.raises else [])
        if fn.name in steps.cuts:
            cuts.append(made[fn.name])
    p.made["functions"] = [made[f.name] for f in d.functions]  # in the plan's order


def _function(p: Program, d: Uses, fn: FunctionPlan, after: list[Any]) -> Any:
    aws = p.aws
    vpc_config = None
    if fn.vpc_attached:
        groups = p.made["security_groups"]
        assert d.lambda_security_group in groups  # check_deployment made sure
        vpc_config = aws.lambda_.FunctionVpcConfigArgs(
            subnet_ids=p.made["private_subnet_ids"], security_group_ids=[groups[d.lambda_security_group].id]
        )
    # A function in the VPC reaches the AWS APIs through the endpoints or a NAT gateway: create it after
    # them, so it never runs without a path (and a rehearsal meets endpoint quotas first).
    network = [*p.made["endpoints"], *p.made["nat_gateways"].values()] if fn.vpc_attached else []
    variables = {**data_variables(d), **_urls_for(p, fn)}
    return aws.lambda_.Function(
        fn.name,
        name=fn.name,
        runtime=fn.runtime,
        handler=fn.handler,
        role=p.made["role"].arn,
        code=p.pulumi.AssetArchive({archive_member(fn): p.pulumi.FileAsset(p.made["sources"][fn.name])}),
        memory_size=fn.memory_mb,
        timeout=fn.timeout_s,
        # Unset when the plan reserves nothing: 0 would throttle the function completely, and None
        # sends no PutFunctionConcurrency at all.
        reserved_concurrent_executions=fn.reserved_concurrency,
        vpc_config=vpc_config,
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=variables),
        tags=p.tags(fn.name),
        # Policies first: creating a VPC-attached function checks the role's ENI permissions.
        opts=p.options([*p.made["policy_attachments"], *network, *after]),
    )


def _urls_for(p: Program, fn: FunctionPlan) -> dict[str, Any]:
    """The endpoint URLs a VPC-attached function needs (services it uses without private DNS)."""
    if not fn.vpc_attached:
        return {}
    return {var: url for service, (var, url) in p.made["endpoint_urls"].items() if service in fn.uses}


# --- verify-program ----------------------------------------------------------------------------------


def expected(d: Uses) -> Expected:
    return {FUNCTION: [f.name for f in d.functions]}


def verify(d: Uses, inv: Inventory, check: Checker) -> None:
    """Each function against the plan, and the role's execution policy against where they run."""
    vpc_functions = [fn.name for fn in d.functions if _verify_function(d, fn, inv, check)]
    attached = attached_policies(d, inv)
    if vpc_functions and VPC_ACCESS_POLICY not in attached:
        check.add(
            f"functions {', '.join(vpc_functions)} are VPC-attached but the role lacks {VPC_ACCESS_POLICY}"
        )
    if VPC_ACCESS_POLICY in attached and not vpc_functions:
        check.add(
            f"the role has {VPC_ACCESS_POLICY} but no function is VPC-attached "
            f"(least privilege: {BASIC_EXECUTION_POLICY})"
        )
    if d.functions and not attached & {VPC_ACCESS_POLICY, BASIC_EXECUTION_POLICY}:
        check.add("the role has no Lambda execution policy: the functions could not write logs")


def _verify_function(d: Uses, fn: FunctionPlan, inv: Inventory, check: Checker) -> bool:
    """One function's settings against the plan; whether the program attaches it to the VPC."""
    r = inv.one(FUNCTION, fn.name)
    if not r:
        return False
    label, inputs = f"function {fn.name}", r["inputs"]
    vpc_config = inputs.get("vpcConfig")
    _verify_placement(d, fn, inv, check, label, vpc_config)
    _verify_reservation(fn, check, label, inputs.get("reservedConcurrentExecutions"))
    variables = (inputs.get("environment") or {}).get("variables") or {}
    urls = {k: v for k, v in variables.items() if k in URL_VARIABLE.values()}
    check.eq(label, "endpoint URL variables", urls, _want_urls(d, fn, inv))
    data = data_variables(d)
    check.eq(label, "data variables", {k: v for k, v in variables.items() if k in data}, data)
    check.eq(label, "role", inputs.get("role"), inv.arn_of(ROLE, d.role.name))
    check.eq(label, "handler", inputs.get("handler"), fn.handler)
    check.eq(label, "runtime", inputs.get("runtime"), fn.runtime)
    check.eq(label, "memorySize", inputs.get("memorySize"), fn.memory_mb)
    check.eq(label, "timeout", inputs.get("timeout"), fn.timeout_s)
    archive = (inputs.get("code") or {}).get("archive") or {}
    member = archive.get(archive_member(fn))
    if not member:
        check.add(f"{label}: its code archive has no {archive_member(fn)} for {fn.handler}")
    elif "file" in member and not Path(member["file"]).is_file():
        check.add(f"{label}: its code file {member['file']} does not exist")
    return bool(vpc_config)


def _verify_placement(
    d: Uses, fn: FunctionPlan, inv: Inventory, check: Checker, label: str, vpc_config: Any
) -> None:
    if fn.vpc_attached and not vpc_config:
        check.add(f"{label} has no vpcConfig but the plan attaches it to the VPC")
    elif not fn.vpc_attached and vpc_config:
        check.add(f"{label} has a vpcConfig but the plan keeps it out of the VPC")
    elif vpc_config:
        lambda_sg_id = inv.id_of(SECURITY_GROUP, d.lambda_security_group or "")
        check.eq(label, "vpcConfig.subnetIds", vpc_config.get("subnetIds"), private_subnet_ids(d.vpc, inv))
        check.eq(label, "vpcConfig.securityGroupIds", vpc_config.get("securityGroupIds"), [lambda_sg_id])


def _verify_reservation(fn: FunctionPlan, check: Checker, label: str, reserved: Any) -> None:
    if reserved == 0:
        check.add(f"{label} has reservedConcurrentExecutions 0: it would never run")
    if (None if reserved in (None, -1) else reserved) != fn.reserved_concurrency:
        planned = "none (unset)" if fn.reserved_concurrency is None else fn.reserved_concurrency
        shown = "unset" if reserved is None else reserved
        check.add(f"{label} reserves {shown} concurrent executions, the plan {planned}")


def _want_urls(d: Uses, fn: FunctionPlan, inv: Inventory) -> dict[str, str]:
    """The endpoint URLs a function must get: services it uses whose endpoint has no private DNS."""
    if not fn.vpc_attached:
        return {}
    out = {}
    for ep in d.endpoints:
        if ep.url_variable and ep.service in fn.uses:
            endpoint_id = inv.id_of(VPC_ENDPOINT, ep.name) or ""
            service = {"serviceName": service_name(d.region, ep.service)}
            out[ep.url_variable] = "https://" + mock_dns_name(endpoint_id, service)
    return out


# --- rehearse ---------------------------------------------------------------------------------------


def zipped(code: Any) -> bytes:
    """The code archive (a pulumi AssetArchive of file or text assets), zipped as Lambda takes it."""
    assets = getattr(code, "assets", None)
    if not isinstance(assets, dict):
        raise ValueError(f"code is {type(code).__name__}, the rehearsal packages AssetArchive only")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, asset in sorted(assets.items()):
            kind = type(asset).__name__
            if kind == "FileAsset":
                archive.writestr(member, Path(asset.path).read_bytes())
            elif kind == "StringAsset":
                archive.writestr(member, asset.text)
            else:
                raise ValueError(f"code member {member}: {kind} is not packaged by the rehearsal")
    return buffer.getvalue()


def create(c: Any, i: dict[str, Any]) -> Created:
    from botocore.exceptions import ClientError

    lam = c("lambda")
    params: dict[str, Any] = {
        "FunctionName": i["name"],
        "Runtime": i["runtime"],
        "Role": i["role"],
        "Handler": i["handler"],
        "Code": {"ZipFile": zipped(i["code"])},
        "Tags": {k: str(v) for k, v in (i.get("tags") or {}).items()},
    }
    if i.get("memorySize") is not None:
        params["MemorySize"] = int(i["memorySize"])
    if i.get("timeout") is not None:
        params["Timeout"] = int(i["timeout"])
    if (i.get("environment") or {}).get("variables"):
        params["Environment"] = {"Variables": dict(i["environment"]["variables"])}
    if i.get("vpcConfig"):
        params["VpcConfig"] = {
            "SubnetIds": list(i["vpcConfig"].get("subnetIds") or []),
            "SecurityGroupIds": list(i["vpcConfig"].get("securityGroupIds") or []),
        }
    function = lam.create_function(**params)
    reserved = i.get("reservedConcurrentExecutions")
    # Pulumi's -1 (and an unset input) mean "no reservation": no PutFunctionConcurrency at all.
    if reserved is not None and int(reserved) >= 0:
        try:
            lam.put_function_concurrency(FunctionName=i["name"], ReservedConcurrentExecutions=int(reserved))
        except ClientError as exc:
            raise StepFailed(f"created, but PutFunctionConcurrency({int(reserved)}) failed", exc) from exc
    return i["name"], {"arn": function["FunctionArn"], "name": i["name"]}


def update(c: Any, i: dict[str, Any]) -> Created | None:
    """The stack's function `name`, its reservation set as planned; None when it is not the stack's."""
    from botocore.exceptions import ClientError

    lam = c("lambda")
    try:
        found = lam.get_function(FunctionName=i["name"])
    except ClientError as exc:
        if not_found(exc):
            return None
        raise
    if not owned(found.get("Tags"), stack_tags(i)):
        return None  # someone else's function of that name: the create meets it, as Pulumi's would
    now = (found.get("Concurrency") or {}).get("ReservedConcurrentExecutions")
    reserved = i.get("reservedConcurrentExecutions")
    wanted = int(reserved) if reserved is not None and int(reserved) >= 0 else None
    try:
        if wanted is None and now is not None:
            lam.delete_function_concurrency(FunctionName=i["name"])
        elif wanted is not None and wanted != now:
            lam.put_function_concurrency(FunctionName=i["name"], ReservedConcurrentExecutions=wanted)
    except ClientError as exc:
        raise StepFailed(f"update: PutFunctionConcurrency({wanted}) failed", exc) from exc
    arn = found["Configuration"]["FunctionArn"]
    return i["name"], {"arn": arn, "name": i["name"]}


CREATORS = {FUNCTION: create}
UPDATERS = {FUNCTION: update}


def delete_removed(c: Any, stack: dict[str, str], kept: set[str]) -> list[dict[str, Any]]:
    """Delete the stack's functions (by their tags) that the plan no longer has."""
    lam = c("lambda")
    deleted: list[dict[str, Any]] = []
    for page in lam.get_paginator("list_functions").paginate():
        for fn in page["Functions"]:
            name = fn["FunctionName"]
            if name not in kept and owned(lam.list_tags(Resource=fn["FunctionArn"]).get("Tags"), stack):
                lam.delete_function(FunctionName=name)
                deleted.append({"type": FUNCTION, "name": name})
    return deleted


def named(d: Uses) -> Named:
    return [(f.name, f.path) for f in d.functions]


def find(aws: Any, reads: Account, name: str) -> Found:
    from preflight.account.aws import call

    answer = reads.function(name)  # the same GetFunction the usage counters read
    if answer is None:
        return NOT_FOUND
    arn = answer["Configuration"]["FunctionArn"]
    # GetFunction returns tags only to callers allowed lambda:ListTags; ask for them explicitly.
    tags = call(aws.client("lambda"), "ListTags", Resource=arn).get("Tags")
    return Found(exists=True, arn=arn, tags=tag_dict(tags))
