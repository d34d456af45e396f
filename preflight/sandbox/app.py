"""The WSGI middleware in front of moto: identify, log, inject faults, answer or enforce, forward.

Control calls (``/_sandbox/...`` and moto's own ``/moto-api/...``) are neither logged nor faulted:
- ``GET /_sandbox/health``: ``{"status": "ok"}``
- ``GET /_sandbox/calls``: call counts and faulted answers; ``POST /_sandbox/calls/reset`` clears them
- ``GET /_sandbox/faults``; ``PUT /_sandbox/faults`` with a FaultConfig as JSON changes them
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.test import EnvironBuilder

from preflight.sandbox import paging, rules, servicequotas
from preflight.sandbox.calllog import CallLog
from preflight.sandbox.faults import FaultConfig, FaultInjector
from preflight.sandbox.model_loader import share_model_loader
from preflight.sandbox.motoload import load_moto_lazily
from preflight.sandbox.motoserver import call_wsgi, moto_app
from preflight.sandbox.organization import caller_account, organizations_request
from preflight.sandbox.protocol import (
    Call,
    Response,
    access_denied_response,
    error_response,
    identify,
    internal_error_response,
    throttle_response,
)
from preflight.sandbox.ratelimits import LambdaRates
from preflight.sandbox.state import SandboxState, acting_as, current_account

if TYPE_CHECKING:
    from preflight.sandbox.iam_enforce import IamEnforcer

log = logging.getLogger("preflight.sandbox")
StartResponse = Callable[..., Any]

# Operations whose check must hold until moto has created the resource (two racing creates
# must not both fit under the quota).
SERIALISED = frozenset(
    {
        ("ec2", "CreateVpc"),
        ("ec2", "CreateInternetGateway"),
        ("ec2", "AllocateAddress"),
        ("ec2", "CreateNatGateway"),
        ("ec2", "CreateVpcEndpoint"),
        ("ec2", "CreateNetworkInterface"),
        ("ec2", "CreateSubnet"),
        ("ec2", "CreateSecurityGroup"),
        ("ec2", "AuthorizeSecurityGroupIngress"),
        ("ec2", "AuthorizeSecurityGroupEgress"),
        ("iam", "CreateRole"),
        ("iam", "AttachRolePolicy"),
        ("sns", "CreateTopic"),
        ("lambda", "PutFunctionConcurrency"),
        ("lambda", "CreateFunction"),
        ("kinesis", "CreateStream"),
        ("kinesis", "UpdateShardCount"),
        ("service-quotas", "RequestServiceQuotaIncrease"),
    }
)

_WARM_LOCK = threading.Lock()
_WARM = False

# The AWS services (signing names) whose moto application the sandbox and a quota gate use. Building
# them imports much of moto (about a second for EC2): done once per process, one after the other,
# before setup starts parallel work that would otherwise contend on those imports.
WARM_SERVICES = ("ec2", "lambda", "iam", "s3", "kinesis", "dynamodb", "sns", "sts")


def _warm_request(service: str) -> dict[str, Any]:
    """A request moto routes to `service` (by its signature's scope, as it routes any client's)."""
    scope = f"Credential=warm/20240101/us-east-1/{service}/aws4_request"
    return EnvironBuilder(
        "/",
        base_url=f"https://{service}.us-east-1.amazonaws.com",
        method="GET",
        headers={
            "Authorization": f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0",
            "X-Amz-Target": "Warm",  # moto reads it for DynamoDB
        },
    ).get_environ()


def warm_moto() -> None:
    """moto's applications ready to serve. The first time in a process, with the collector paused.

    moto's modules, botocore's models and Flask's apps (a million objects) live as long as the
    process: made without the collector's full passes over a growing heap (0.3 s of a sandboxed run),
    then frozen out of its reach, so that later passes walk only what the run makes.
    """
    global _WARM
    with _WARM_LOCK:
        first, _WARM = not _WARM, True
    if not first:
        return
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        share_model_loader()  # before moto's EC2 backend is imported: it makes botocore sessions of its own
        load_moto_lazily()
        app = moto_app()
        for service in WARM_SERVICES:
            with contextlib.suppress(Exception):  # its answer (an error, or moto's raise) does not matter
                call_wsgi(app, _warm_request(service))
    finally:
        gc.freeze()
        if paused:
            gc.enable()


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        return stream.read(length)
    if environ.get("wsgi.input_terminated"):  # chunked upload, already de-chunked by werkzeug
        return stream.read()
    return b""


class SandboxApp:
    def __init__(
        self, state: SandboxState, call_log: CallLog, faults: FaultInjector, iam: IamEnforcer | None = None
    ) -> None:
        self.state = state
        self.call_log = call_log
        self.faults = faults
        self.iam = iam  # None: IAM is not enforced (the default); see iam_enforce.py
        self.rates = LambdaRates()  # Lambda's documented API rates; started after scenario setup
        self.ec2_pages = paging.EC2Pages()  # each EC2 listing's page chain rendered by moto once
        self.moto = moto_app()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_sandbox/"):
            return self._send(self._control(environ, path), start_response)
        if path.startswith("/moto-api"):
            return self.moto(environ, start_response)

        body = _read_body(environ)
        # moto reads the body again: hand it a fresh stream of the same bytes.
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)

        call = identify(environ, body)
        if call is None:  # not a signed AWS call: moto decides
            return self.moto(environ, start_response)
        with acting_as(caller_account(call, self.state)):  # quotas, usage and rules of the caller's account
            return self._call(call, environ, start_response)

    def _call(self, call: Call, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self.call_log.record(call.key)
        if self.iam is not None:  # before any rewrite: the signature covers the request as sent
            refused = self.iam.deny(call, environ)
            if refused is not None:
                return self._send(refused, start_response)
        new_body = rules.rewrite(self.state, call)
        if new_body is not None:
            environ["wsgi.input"] = io.BytesIO(new_body)
            environ["CONTENT_LENGTH"] = str(len(new_body))
            environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded; charset=utf-8"
            environ["QUERY_STRING"] = ""
            call.original_params = dict(call.params)
            call.body = new_body
            call.query = {}
            call.__dict__.pop("params", None)

        if call.service == "organizations":  # under moto's ids (organization.py)
            organizations_request(self.state, call, environ)

        if call.key in self.faults.config.deny:
            self.call_log.record_fault("denied")
            return self._send(access_denied_response(call), start_response)
        fault = self.faults.decide()
        if fault == "throttle":
            self.call_log.record_fault("throttle")
            return self._send(throttle_response(call), start_response)
        if fault == "error":
            self.call_log.record_fault("error")
            return self._send(internal_error_response(call), start_response)

        if not self.rates.admit(call.service, call.operation, f"{current_account()}/{call.region}"):
            return self._send(throttle_response(call), start_response)

        if (call.service, call.operation) in SERIALISED:
            with self.state.lock:
                response = self._answer(call, environ)
        else:
            response = self._answer(call, environ)
        if self.iam is not None:
            response = self.iam.after(call, response)
        return self._send(response, start_response)

    def _answer(self, call: Call, environ: dict[str, Any]) -> Response:
        answer: Response | None = None
        try:
            if call.service == "service-quotas":
                answer = servicequotas.handle(self.state, call)
            else:
                rule = rules.RULES.get((call.service, call.operation))
                if rule is not None:
                    answer = rule(self.state, call)
        except Exception:
            # A sandbox bug: still an AWS-shaped 500 (which clients retry), and a trace in the log.
            log.exception("sandbox rule failed for %s", call.key)
            return internal_error_response(call)
        if answer is not None:
            return answer
        try:
            if call.service == "ec2" and call.operation in paging.EC2_LISTINGS:
                forwarded = self.ec2_pages.answer(call, lambda: self._forward(environ))
            else:
                forwarded = self._forward(environ)
            return rules.on_answer(self.state, call, forwarded)
        except SystemError as exc:
            # The interpreter's trouble, not the request's: CPython 3.11 can raise "AST constructor
            # recursion depth mismatch" when threads compile at once (moto imports and builds lazily,
            # and a sweep reaches many new accounts at once). AWS's own trouble is a 500: clients retry.
            log.warning("moto failed on %s: %s", call.key, exc)
            return internal_error_response(call)
        except Exception as exc:
            # moto raised (typically NotImplementedError): answer in the protocol, not with an HTML
            # page botocore cannot parse; 501 so that clients do not retry it.
            log.warning("moto cannot answer %s: %s", call.key, exc)
            return error_response(
                call.protocol, 501, "NotImplemented", f"The emulated account cannot do this: {exc}"
            )

    def _forward(self, environ: dict[str, Any]) -> Response:
        environ["wsgi.input"].seek(0)  # paging may ask moto twice (an accelerator's fallback)
        status, headers, body = call_wsgi(self.moto, environ)
        # The body is whole now: drop hop-by-hop framing. Content-Length stays (HEAD answers carry
        # the object's size with no body).
        kept = [(k, v) for k, v in headers if k.lower() not in ("transfer-encoding", "connection")]
        return Response(status, kept, body)

    @staticmethod
    def _send(response: Response, start_response: StartResponse) -> Iterable[bytes]:
        headers = list(response.headers)
        if not any(k.lower() == "content-length" for k, _ in headers):
            headers.append(("Content-Length", str(len(response.body))))
        start_response(response.status_line, headers)
        return [response.body]

    def _control(self, environ: dict[str, Any], path: str) -> Response:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        route = path.rstrip("/")

        def reply(payload: Any, status: int = 200) -> Response:
            body = json.dumps(payload, default=sorted).encode()  # sorted: the `deny` frozenset
            return Response(status, [("Content-Type", "application/json")], body)

        if route == "/_sandbox/health":
            return reply({"status": "ok"})
        if route == "/_sandbox/calls" and method == "GET":
            return reply(
                {
                    "counts": self.call_log.counts(),
                    "total": self.call_log.total(),
                    "faults": self.call_log.faults(),
                }
            )
        if route == "/_sandbox/calls/reset" and method == "POST":
            self.call_log.reset()
            return reply({"status": "ok"})
        if route == "/_sandbox/faults":
            if method == "GET":
                return reply(dataclasses.asdict(self.faults.config))
            if method in ("PUT", "POST"):
                try:
                    data = json.loads(_read_body(environ) or b"{}")
                    data["deny"] = frozenset(data.get("deny", ()))
                    config = FaultConfig(**data)
                except (ValueError, TypeError) as exc:
                    return reply({"error": str(exc)}, 400)
                self.faults.set(config)
                return reply(dataclasses.asdict(config))
        return reply({"error": f"no such control call: {method} {path}"}, 404)
