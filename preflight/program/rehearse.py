"""`rehearse`: run the shipped program against an emulated AWS account, resource by resource.

The program runs under Pulumi mocks whose `new_resource` creates each resource in the account through
boto3 and answers with the real ids and ARNs, so dependent resources get real references. A quota the
account enforces therefore fails the way AWS fails it (`VpcEndpointLimitExceeded`, the Lambda
unreserved-concurrency floor...), not by the preflight's own arithmetic.

The rehearsal stops creating at the first failure, like a deployment that cannot go on: later
resources are reported as skipped. A resource type this module cannot translate into API calls is
reported as not rehearsed, never passed silently. Resources created stay in the account (a later
`check` sees the stack, by its tags and names, as this stack's own).

With `update=True` the rehearsal is a redeploy, as `pulumi up` on an existing stack: a function or
stream that already carries this stack's tags (tap:project / tap:environment, as usage.py recognises
the stack's own) is updated in place, in the order the program's dependencies give:
PutFunctionConcurrency / DeleteFunctionConcurrency, which AWS checks against the unreserved floor on
every call; UpdateShardCount in one call, as the provider makes it (AWS refuses more than doubling or
halving, and keeps the old shards open meanwhile). The stack's functions and streams the plan no
longer has are deleted only after every create and update, as Pulumi deletes removed resources at the
end: until then they hold their quota.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
import pulumi
from botocore.config import Config
from botocore.configprovider import ConstantProvider
from botocore.exceptions import BotoCoreError, ClientError

from preflight import kinds
from preflight.deployment import TAG_ENVIRONMENT, TAG_PROJECT, Plan
from preflight.kinds.base import Creator, StepFailed, Updater
from preflight.program import names
from preflight.program.mockrun import run_with_mocks

# Dummy credentials: real ones must never be sent to an emulator's endpoint.
ACCESS_KEY = "sandbox"
SECRET_KEY = "sandbox-secret"


@dataclass(frozen=True)
class RehearsalResult:
    endpoint_url: str
    deployed: list[dict[str, Any]] = field(default_factory=list)  # {"type", "name", "id"}
    failed: list[dict[str, Any]] = field(default_factory=list)  # {"type", "name", "code", "message"}
    skipped: list[dict[str, Any]] = field(default_factory=list)  # {"type", "name", "reason"}
    not_rehearsed: list[dict[str, Any]] = field(default_factory=list)  # {"type", "name"}
    updated: list[str] = field(default_factory=list)  # names updated in place (update mode)
    deleted: list[dict[str, Any]] = field(default_factory=list)  # {"type", "name"} removed at the end
    forced: str | None = None  # why the program would refuse the plan, when rehearsed with --force
    plan_path: str = ""  # the plan file rehearsed (where annotations point); not part of the JSON

    @property
    def complete(self) -> bool:
        """Every resource of the program was created in the account."""
        return not (self.failed or self.skipped or self.not_rehearsed)

    def to_json(self) -> str:
        payload = {
            "endpoint_url": self.endpoint_url,
            "complete": self.complete,
            "forced": self.forced,
            "deployed": self.deployed,
            "failed": self.failed,
            "skipped": self.skipped,
            "not_rehearsed": self.not_rehearsed,
        }
        if self.updated or self.deleted:  # update mode only: create-only output is unchanged
            payload["updated"] = self.updated
            payload["deleted"] = self.deleted
        return json.dumps(payload, indent=2) + "\n"

    def render_text(self) -> str:
        total = len(self.deployed) + len(self.failed) + len(self.skipped) + len(self.not_rehearsed)
        verdict = "COMPLETE" if self.complete else "INCOMPLETE"
        lines = [f"Rehearsal against {self.endpoint_url}: {verdict} ({len(self.deployed)}/{total} deployed)"]
        if self.forced:
            lines.append(f"  FORCED: the program would refuse this plan: {self.forced}")
        for r in self.failed:
            lines.append(f"  FAILED        {r['type']}  {r['name']}: {r['code']}: {r['message']}")
        for r in self.not_rehearsed:
            lines.append(f"  NOT REHEARSED {r['type']}  {r['name']} (no translation for this type)")
        if self.skipped:
            lines.append(f"  skipped after the failure: {len(self.skipped)} resources")
            lines.extend(f"    {r['type']}  {r['name']}" for r in self.skipped)
        lines.append(f"  deployed: {len(self.deployed)} resources")
        lines.extend(f"    {r['type']}  {r['name']}  {r['id']}" for r in self.deployed)
        if self.updated:
            lines.append(f"  updated in place: {', '.join(self.updated)}")
        lines.extend(f"  deleted at the end: {r['type']}  {r['name']}" for r in self.deleted)
        return "\n".join(lines) + "\n"


class _Clients:
    """boto3 clients for the emulated account, blind to the user's AWS config and credentials."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        core = botocore.session.Session()
        core.set_config_variable("config_file", os.devnull)
        core.set_config_variable("credentials_file", os.devnull)
        core.get_component("config_store").set_config_provider("profile", ConstantProvider(None))
        self._session = boto3.session.Session(
            botocore_session=core, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY
        )
        self._endpoint_url = endpoint_url
        self.region = region
        self._cache: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self._cache:
            config = Config(
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=5,
                read_timeout=60,
                s3={"addressing_style": "path"},
            )
            self._cache[key] = self._session.client(
                service, region_name=key[1], endpoint_url=self._endpoint_url, config=config
            )
        return self._cache[key]


# Per pulumi type token, how each kind creates it (and updates the stack's own in place): the kinds say.
TRANSLATORS: Mapping[str, Creator] = kinds.creators()
UPDATERS: Mapping[str, Updater] = kinds.updaters()


class RehearsalMocks(pulumi.runtime.Mocks):
    def __init__(self, clients: _Clients, *, update: bool = False) -> None:
        self.clients = clients
        self.update = update
        self.updated: list[str] = []
        self.deployed: list[dict[str, Any]] = []
        self.failed: list[dict[str, Any]] = []
        self.skipped: list[dict[str, Any]] = []
        self.not_rehearsed: list[dict[str, Any]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if not args.custom:  # a component: nothing to create
            return f"{args.name}-component", dict(args.inputs)
        entry = {"type": args.typ, "name": args.name}
        if self.failed:
            first = self.failed[0]
            self.skipped.append({**entry, "reason": f"not attempted after {first['name']} failed"})
            return f"skipped-{args.name}", dict(args.inputs)
        translate = TRANSLATORS.get(args.typ)
        if translate is None:
            self.not_rehearsed.append(entry)
            return f"not-rehearsed-{args.name}", dict(args.inputs)
        updater = UPDATERS.get(args.typ) if self.update else None
        try:
            existing = updater(self.clients, args.inputs) if updater else None
            if existing is not None:
                self.updated.append(args.name)
            id_, outputs = existing or translate(self.clients, args.inputs)
        except StepFailed as exc:
            self.failed.append({**entry, "code": exc.code, "message": exc.message})
            return f"failed-{args.name}", dict(args.inputs)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            self.failed.append(
                {
                    **entry,
                    "code": str(err.get("Code", "ClientError")),
                    "message": str(err.get("Message", exc)),
                }
            )
            return f"failed-{args.name}", dict(args.inputs)
        except (BotoCoreError, OSError, ValueError, KeyError, TypeError) as exc:
            self.failed.append({**entry, "code": type(exc).__name__, "message": str(exc)})
            return f"failed-{args.name}", dict(args.inputs)
        self.deployed.append({**entry, "id": id_})
        return id_, {**args.inputs, **outputs}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return {}, []


def rehearse(plan: Plan, *, endpoint_url: str, base_dir: Path, update: bool = False) -> RehearsalResult:
    """Create the program's resources for `plan` in the emulated account at `endpoint_url`.

    `update`: redeploy onto the stack already in the account (see the module's docstring).
    """
    from preflight.program.pipeline import Pipeline

    d = plan.deployment
    mocks = RehearsalMocks(_Clients(endpoint_url, d.region), update=update)
    try:
        run_with_mocks(
            mocks,
            lambda: Pipeline(d, base_dir=base_dir, current=plan.current),
            project="tap-pipeline",
            stack=d.environment,
        )
    except Exception as exc:  # the program's own failure is part of the report
        mocks.failed.append(
            {
                "type": names.PIPELINE,
                "name": names.component_name(d),
                "code": "ProgramError",
                "message": str(exc),
            }
        )
    deleted: list[dict[str, Any]] = []
    if update and not mocks.failed:  # a deployment that stopped never reaches its deletes
        # Physical names: a function's id is its name, a stream's its ARN (.../stream/<name>).
        kept = {r["id"].rpartition("/")[2] for r in mocks.deployed}
        try:
            deleted = _delete_removed(
                mocks.clients, {TAG_PROJECT: d.project, TAG_ENVIRONMENT: d.environment}, kept
            )
        except ClientError as exc:
            err = exc.response.get("Error", {})
            mocks.failed.append(
                {"type": "delete", "name": "removed resources", "code": str(err.get("Code", "ClientError")),
                 "message": str(err.get("Message", exc))}
            )  # fmt: skip
    return RehearsalResult(
        endpoint_url=endpoint_url,
        deployed=mocks.deployed,
        failed=mocks.failed,
        skipped=mocks.skipped,
        not_rehearsed=mocks.not_rehearsed,
        updated=mocks.updated,
        deleted=deleted,
    )


def endpoint_problem(url: str) -> str | None:
    """Why `url` is not a loopback endpoint a rehearsal may talk to, or None.

    A rehearsal creates resources: it is meant for an emulated account on this machine. Any other
    address (a public host, the instance metadata address 169.254.169.254) needs
    --allow-remote-endpoint. Host names other than `localhost` are not resolved: a name can change.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"--endpoint-url {url!r} is not an http(s) URL"
    host = parts.hostname
    if host == "localhost":
        return None
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return None
    return (
        f"--endpoint-url {url!r} is not a loopback address: a rehearsal talks to an emulated account on "
        "this machine (127.0.0.1, ::1, localhost); add --allow-remote-endpoint to rehearse elsewhere"
    )


def account_of(endpoint_url: str, region: str) -> str | None:
    """The account id the endpoint answers for (sts:GetCallerIdentity), or None if it does not say."""
    try:
        return str(_Clients(endpoint_url, region)("sts").get_caller_identity()["Account"])
    except (BotoCoreError, ClientError, KeyError):
        return None


def rehearse_plan_file(
    plan_path: str,
    *,
    manifest: str | None,
    sandbox: str | None,
    endpoint_url: str | None,
    force: bool = False,
    allow_remote_endpoint: bool = False,
    update: bool = False,
) -> RehearsalResult:
    """`rehearse`: trust the plan as the program does, refuse what it refuses (unless `force`), rehearse.

    InputError (exit 2) for a plan the manifest does not back, a remote endpoint, or a plan the program
    would refuse (NO_GO, stale, another account or region) without `force`.
    """
    from preflight.account.sources import sandbox_account
    from preflight.program.planfile import load_trusted_plan, refusal
    from preflight.support.errors import InputError

    if bool(sandbox) == bool(endpoint_url):
        raise InputError("rehearse needs exactly one of --sandbox SCENARIO or --endpoint-url URL")
    if endpoint_url and not allow_remote_endpoint:
        problem = endpoint_problem(endpoint_url)
        if problem:
            raise InputError(problem)
    trusted = load_trusted_plan(plan_path, manifest=manifest)
    plan = trusted.plan
    with contextlib.ExitStack() as stack:
        if sandbox:
            endpoint_url = stack.enter_context(sandbox_account(sandbox, plan.region)).endpoint_url
        url = str(endpoint_url)
        # As the program does: what needs no call first, then the account the endpoint answers for.
        reason = refusal(plan) or refusal(plan, account_id=account_of(url, plan.region), region=plan.region)
        if reason and not force:
            raise InputError(
                f"refusing to rehearse {plan_path}, as the program would refuse to deploy it: {reason} "
                "(--force rehearses it anyway)"
            )
        result = rehearse(plan, endpoint_url=url, base_dir=trusted.base_dir, update=update)
    return replace(result, forced=reason or None, plan_path=plan_path)


def _delete_removed(c: _Clients, stack: dict[str, str], kept: set[str]) -> list[dict[str, Any]]:
    """Delete the stack's resources the plan no longer has (Pulumi does it last): each kind that a
    redeploy updates in place says how (`delete_removed`)."""
    return [gone for deleter in kinds.deleters() for gone in deleter(c, stack, kept)]
