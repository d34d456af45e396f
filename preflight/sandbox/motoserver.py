"""moto's server as the sandbox uses it: through its documented surface only.

- its WSGI application, made as `moto.server` makes it for `ThreadedMotoServer` and `moto_server`
  (`DomainDispatcherApplication(create_backend_app)`), served in-process behind the sandbox's layer
  (app.py): no second socket hop;
- its HTTP control API (`/moto-api/reset`, documented under "Server mode");
- plain AWS API calls: where the layer needs moto's state (counting what a quota limits, provisioning
  a scenario) it asks moto as any client would, with boto3 clients whose requests moto's WSGI
  application answers in-process, in the account the layer acts for (moto's documented
  `x-moto-account-id` header).

Nothing here reaches into moto's backends or models, so any moto 5 that serves the AWS API answers.
"""

from __future__ import annotations

import functools
import io
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import botocore.session
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config
from botocore.configprovider import ConstantProvider
from werkzeug.test import EnvironBuilder

from preflight.sandbox.state import current_account

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_LOCK = threading.Lock()
_APP: WsgiApp | None = None
_CLIENTS: dict[tuple[str, str], Any] = {}
_SESSION: botocore.session.Session | None = None
_WRITTEN = threading.local()  # the body moto wrote for this thread's last in-process call
_GENERATION = 0  # resets so far: what moto answered before one is not its state after it

# moto's documented settings the sandbox runs with (a user's own value wins). Default AMIs: moto would
# load a few hundred Amazon images (and their snapshots) into every region's EC2 state at each reset,
# a tenth of a second each time; nothing the sandbox serves reads them.
MOTO_SETTINGS = {"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}


def moto_app() -> WsgiApp:
    """moto's WSGI application, built once per process (its per-service Flask apps hold no state)."""
    global _APP
    with _LOCK:
        if _APP is None:
            from moto.server import DomainDispatcherApplication, create_backend_app

            _APP = DomainDispatcherApplication(create_backend_app)
        return _APP


# moto's name of a service's backend where it is not the service's signing name.
BACKEND_NAMES = {"lambda": "awslambda"}
_SERVICE_APPS: dict[str, WsgiApp] = {}


def service_app(service: str) -> WsgiApp:
    """moto's application for one service (`create_backend_app`, what the dispatcher makes for it),
    built once: the layer's own calls go straight to it. The dispatcher finds the service anew for
    every request (it lists moto's package directory each time: milliseconds a call)."""
    with _LOCK:
        app = _SERVICE_APPS.get(service)
        if app is None:
            from moto.server import create_backend_app

            app = _SERVICE_APPS[service] = create_backend_app(BACKEND_NAMES.get(service, service))  # type: ignore[arg-type]
        return app


def call_wsgi(app: WsgiApp, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request to a WSGI application in-process: (status, headers, whole body)."""
    captured: dict[str, Any] = {}

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[..., None]:
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = headers
        return lambda _chunk: None

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return captured["status"], captured["headers"], body


def reset() -> None:
    """A fresh moto: every account's state dropped (moto's documented `POST /moto-api/reset`)."""
    for name, value in MOTO_SETTINGS.items():
        os.environ.setdefault(name, value)
    environ = EnvironBuilder(path="/moto-api/reset", method="POST", base_url="http://localhost").get_environ()
    status, _, body = call_wsgi(moto_app(), environ)
    if status != 200:
        raise RuntimeError(f"moto refused its reset ({status}): {body[:200]!r}")
    global _GENERATION
    with _LOCK:
        _GENERATION += 1


def generation() -> int:
    """How many times moto's state was reset in this process."""
    return _GENERATION


class _Raw:
    """The body of an in-process answer, as botocore reads a urllib3 response's."""

    def __init__(self, body: bytes) -> None:
        self._body = io.BytesIO(body)

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self._body.read()

    def read(self, *args: Any, **_kwargs: Any) -> bytes:
        return self._body.read(*args)


def _answer_in_process(request: AWSPreparedRequest, service: str = "", **_kwargs: Any) -> AWSResponse:
    """botocore's `before-send`: moto's WSGI application answers, in the account the layer acts for."""
    headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
    headers["x-moto-account-id"] = current_account()
    body = request.body
    if body is None:
        data = b""
    elif isinstance(body, bytes | bytearray):
        data = bytes(body)
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = body.read()
    environ = _environ(request.method, request.url, headers, data)
    status, response_headers, payload = call_wsgi(service_app(service), environ)
    if getattr(_WRITTEN, "wanted", False) and 200 <= status < 300:
        # `written` reads the answer itself: botocore parses an empty body instead (for thousands of
        # items its parser costs more than moto's answer).
        _WRITTEN.body, payload = payload, b""
    return AWSResponse(request.url, status, dict(response_headers), _Raw(payload))


def written(service: str, region: str, operation: str, **params: Any) -> bytes:
    """moto's successful answer to one AWS API call (made as `client` makes it) exactly as moto wrote
    it, for a REST-JSON or REST-XML operation the layer reads itself; a ClientError as the client raises
    it."""
    _WRITTEN.body, _WRITTEN.wanted = None, True
    try:
        getattr(client(service, region), operation)(**params)
        body: bytes | None = _WRITTEN.body
    finally:
        _WRITTEN.body, _WRITTEN.wanted = None, False
    if body is None:
        raise RuntimeError(f"moto did not answer {service} {operation} in-process")
    return body


def _environ(method: str, url: str, headers: dict[str, str], data: bytes) -> dict[str, Any]:
    builder = EnvironBuilder(url, method=method, headers=headers, data=data)
    try:
        return builder.get_environ()
    finally:
        builder.close()


def _session() -> botocore.session.Session:
    global _SESSION
    if _SESSION is None:
        session = botocore.session.Session()
        # The user's AWS config must not steer these clients (they never leave the process).
        session.set_config_variable("config_file", os.devnull)
        session.set_config_variable("credentials_file", os.devnull)
        session.get_component("config_store").set_config_provider("profile", ConstantProvider(None))
        _SESSION = session
    return _SESSION


def client(service: str, region: str) -> Any:
    """A client whose calls moto answers in-process, in the account acting (see state.acting_as)."""
    key = (service, region)
    with _LOCK:
        made = _CLIENTS.get(key)
        if made is None:
            made = _session().create_client(
                service,
                region_name=region,
                aws_access_key_id="moto-layer",
                aws_secret_access_key="moto-layer",
                config=Config(retries={"total_max_attempts": 1}, parameter_validation=False),
            )
            made.meta.events.register("before-send", functools.partial(_answer_in_process, service=service))
            _CLIENTS[key] = made
        return made
