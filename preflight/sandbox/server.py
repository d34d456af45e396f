"""The emulated account's HTTP server: moto behind the sandbox middleware, on 127.0.0.1 only.

moto keeps its state in module-level backends, one set per process, so only one Sandbox may run
in a process at a time; starting one resets moto's state (and a second start raises RuntimeError).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.configprovider import ConstantProvider
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from preflight.sandbox import managed_policies, motoserver
from preflight.sandbox.app import SandboxApp, warm_moto
from preflight.sandbox.calllog import CallLog
from preflight.sandbox.faults import FaultConfig, FaultInjector
from preflight.sandbox.scenario import Scenario, load_scenario
from preflight.sandbox.state import ACCOUNT_ID, SandboxState
from preflight.support.errors import EnvironmentProblem, InputError

HOST = "127.0.0.1"  # loopback only, whatever the caller asks: the sandbox has no authentication
ACCESS_KEY = "sandbox"
SECRET_KEY = "sandbox-secret"
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
CLIENT_RETRIES = {"mode": "standard", "total_max_attempts": 10}

_ACTIVE_LOCK = threading.Lock()
_ACTIVE: Sandbox | None = None
# Setup clients by (endpoint, service, region), kept across starts that get the same port back.
_SETUP_CLIENTS: dict[tuple[str, str, str], Any] = {}
_LAST_PORT = 0  # the port the last start with port 0 got: offered to the next one first
_SESSION_LOCK = threading.Lock()
_SESSION: boto3.session.Session | None = None


class _Handler(WSGIRequestHandler):
    # HTTP/1.0: one request per connection, so no idle keep-alive thread outlives stop().
    protocol_version = "HTTP/1.0"
    timeout = 60  # a stuck client cannot hold a request thread forever

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # the call log records what matters; per-request lines would drown the terminal


def _session() -> boto3.session.Session:
    """One boto3 session per process for sandbox clients, blind to the user's AWS config."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            core = botocore.session.Session()
            # A user's AWS_PROFILE or ~/.aws files must not steer (or break) clients of the sandbox.
            core.set_config_variable("config_file", os.devnull)
            core.set_config_variable("credentials_file", os.devnull)
            core.get_component("config_store").set_config_provider("profile", ConstantProvider(None))
            _SESSION = boto3.session.Session(
                botocore_session=core, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY
            )
        return _SESSION


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; EnvironmentProblem (exit 3) naming the port when it cannot be."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as http.server does
        listener.bind((host, port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        hint = " (another process uses it: pick another --port, or 0 for a free one)"
        raise EnvironmentProblem(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            + (hint if exc.errno == errno.EADDRINUSE else "")
        ) from exc
    return listener


class Sandbox:
    """An emulated AWS account on a local port; see the package docstring."""

    account_id = ACCOUNT_ID

    def __init__(
        self,
        scenario: Scenario | str | os.PathLike[str] | None = None,
        *,
        port: int = 0,
        faults: FaultConfig | None = None,
        region: str = "us-east-1",
        enforce_iam: bool = False,
    ) -> None:
        if not REGION_RE.match(region):
            raise InputError(f"{region!r} is not an AWS region name (like us-east-1)")
        if not 0 <= port <= 65535:
            raise InputError(f"port {port} is out of range (0-65535; 0 picks a free port)")
        if scenario is None or isinstance(scenario, Scenario):
            self.scenario = scenario
        else:
            self.scenario = load_scenario(scenario)
        self.region = region
        self.port = port  # the port asked for; after start(), the one in use
        self._requested_port = port
        self.endpoint_url = ""
        self.call_log = CallLog()
        self.state = SandboxState()
        self._faults = faults or FaultConfig()
        self._injector = FaultInjector()  # off during setup; the configured faults come on after
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._app: SandboxApp | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        # Off by default: only the sandboxes that test least privilege authenticate and authorise calls.
        self.enforce_iam = enforce_iam
        self.iam: Any = None  # the IamEnforcer while enforcing (what it granted: .granted())

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Sandbox:
        global _ACTIVE
        with _ACTIVE_LOCK:
            if _ACTIVE is not None:
                raise RuntimeError(
                    "a Sandbox is already running in this process (one at a time: moto's state is global)"
                )
            _ACTIVE = self
        try:
            self._serve()
            self._load()
        except BaseException:
            self.stop()
            raise
        return self

    def reset(self, scenario: Scenario | str | os.PathLike[str] | None = None) -> None:
        """Start over on the running server: a fresh account holding `scenario` (None: moto's fresh one).

        The same as stopping and starting a new Sandbox with that scenario (moto's state and the
        sandbox's are made anew, the call log is cleared, the configured faults stay), on the same
        port, without a new server or new setup clients: for tests that go through many accounts.
        """
        self._require_running()
        self.scenario = (
            scenario if scenario is None or isinstance(scenario, Scenario) else load_scenario(scenario)
        )
        self._load()

    def _serve(self) -> None:
        """Listen on the port and serve the middleware in front of moto from a thread."""
        self._app = SandboxApp(self.state, self.call_log, self._injector, iam=self.iam)
        listener = self._listener()
        try:  # werkzeug's own bind prints and calls sys.exit(1) when it fails: bind here, hand it over
            server = make_server(
                HOST,
                listener.getsockname()[1],
                self._app,
                threaded=True,
                request_handler=_Handler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # the server holds its own duplicate
        server.daemon_threads = False  # so server_close() joins every request thread
        self._server = server
        self._clients = {}  # clients of a previous start point at its (closed) port
        self.port = server.server_address[1]
        self.endpoint_url = f"http://{HOST}:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"preflight-sandbox:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def _listener(self) -> socket.socket:
        """The port asked for; for port 0, the previous start's port when it is free again (so setup
        clients made for it serve again: a client costs ~30 ms), else a free one."""
        global _LAST_PORT
        if self._requested_port:
            return _listen(HOST, self._requested_port)
        listener = None
        if _LAST_PORT:
            with contextlib.suppress(EnvironmentProblem):
                listener = _listen(HOST, _LAST_PORT)
        if listener is None:
            listener = _listen(HOST, 0)
        _LAST_PORT = listener.getsockname()[1]
        return listener

    def _load(self) -> None:
        """A fresh account (moto's state and the sandbox's), then the scenario; faults and Lambda's
        API rates off meanwhile."""
        self._injector.set(FaultConfig())
        if self._app is not None:
            self._app.rates.stop()
        motoserver.reset()
        warm_moto()
        self.state = SandboxState()
        managed_policies.install(self.state)
        self.iam = self._iam_enforcer()  # a new account: what a previous one granted is not this one's
        if self._app is not None:
            self._app.state, self._app.iam = self.state, self.iam
        if self.scenario is not None:
            from preflight.sandbox.provision import apply_scenario

            apply_scenario(self.scenario, self)
        self.call_log.reset()
        self._injector.set(self._faults)
        if self._app is not None:
            self._app.rates.start()

    def _iam_enforcer(self) -> Any:
        if not self.enforce_iam:
            return None
        from preflight.sandbox.iam_enforce import IamEnforcer

        return IamEnforcer(ACCOUNT_ID, ACCESS_KEY, SECRET_KEY)

    def stop(self) -> None:
        """Stop serving, close the port and join every thread the server started. Idempotent."""
        global _ACTIVE
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            if thread is not None:  # shutdown() waits for serve_forever(), so only when it runs
                server.shutdown()
                thread.join()
            server.server_close()
        with _ACTIVE_LOCK:
            if _ACTIVE is self:
                _ACTIVE = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- clients -------------------------------------------------------------------------------

    def _require_running(self) -> None:
        if not self.endpoint_url:
            raise RuntimeError("the sandbox is not started")

    def client(self, service: str, region: str | None = None, *, config: Config | None = None) -> Any:
        """A boto3 client for `service` pointed at the sandbox (dummy credentials, standard retries).

        Without `config` the client is made once per (service, region) and shared (boto3 clients are
        thread-safe; making one costs ~30 ms). `config`, when given, is merged over the defaults
        (e.g. to change retries) and a new client is made.
        """
        self._require_running()
        region = region or self.region
        key = (service, region)
        if config is None and key in self._clients:
            return self._clients[key]
        merged = Config(retries=CLIENT_RETRIES, connect_timeout=5, read_timeout=60)  # type: ignore[arg-type]
        if config is not None:
            merged = merged.merge(config)
        session = _session()
        with _SESSION_LOCK:  # creating clients from one session is not thread-safe
            if config is None and key in self._clients:
                return self._clients[key]
            made = session.client(service, region_name=region, endpoint_url=self.endpoint_url, config=merged)
            if config is None:
                self._clients[key] = made
            return made

    def setup_client(self, service: str, region: str) -> Any:
        """A client for scenario setup: faults are off, so no retries: fail fast. Kept while the port is."""
        key = (self.endpoint_url, service, region)
        with _SESSION_LOCK:
            made = _SETUP_CLIENTS.get(key)
        if made is None:
            made = self.client(
                service, region, config=Config(retries={"mode": "standard", "total_max_attempts": 1})
            )
            with _SESSION_LOCK:
                for old in [k for k in _SETUP_CLIENTS if k[0] != self.endpoint_url]:
                    del _SETUP_CLIENTS[old]  # clients of a port no longer ours
                made = _SETUP_CLIENTS.setdefault(key, made)
        return made

    def client_env(self) -> dict[str, str]:
        """Environment variables that point any AWS SDK or CLI at the sandbox."""
        self._require_running()
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    # --- run-time changes ----------------------------------------------------------------------

    def set_faults(self, faults: FaultConfig) -> None:
        """Change the injected faults now; the random sequence restarts from faults.seed."""
        self._faults = faults
        if self.running:
            self._injector.set(faults)

    @property
    def faults(self) -> FaultConfig:
        return self._faults

    def set_applied_quota(
        self,
        service_code: str,
        quota_code: str,
        value: float,
        region: str | None = None,
        *,
        listed: bool = True,
    ) -> None:
        """Set a quota's applied value (as if AWS had changed it). Global quotas live in us-east-1.

        An empty `service_code` means "this quota's own service code". `listed=False`:
        the service enforces the value and its own API reports it, but Service Quotas lists no
        applied value (an older account below today's published default).
        """
        from preflight.sandbox.quotas import BY_CODE

        if not service_code and quota_code in BY_CODE:
            service_code = BY_CODE[quota_code].service_code
        if value < 0:
            raise ValueError("a quota value is >= 0")
        try:
            self.state.set_applied(service_code, quota_code, value, region or self.region, listed=listed)
        except KeyError:
            raise KeyError(f"{service_code}/{quota_code} is not a quota the emulated account knows") from None


def _export_lines(sandbox: Sandbox) -> list[str]:
    return [f"export {k}={v}" for k, v in sandbox.client_env().items()]


def serve(
    scenario: str,
    *,
    port: int,
    faults: FaultConfig,
    echo: Callable[[str], None],
    region: str = "us-east-1",
    ready: Callable[[Sandbox], None] | None = None,
) -> None:
    """Run a sandbox in the foreground until Ctrl-C (or SIGTERM); print where it listens."""
    stop = threading.Event()
    previous: Any = None
    in_main = threading.current_thread() is threading.main_thread()

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if in_main:
        previous = signal.signal(signal.SIGTERM, on_term)
    sandbox = Sandbox(scenario, port=port, faults=faults, region=region)
    try:
        sandbox.start()
        name = sandbox.scenario.name if sandbox.scenario else "fresh"
        echo(f"Emulated AWS account (scenario {name}) listening on {sandbox.endpoint_url} (region {region})")
        if faults.active:
            echo(
                f"Faults: latency {faults.latency_ms} ms, throttle {faults.throttle_rate:.0%}, "
                f"errors {faults.error_rate:.0%}, seed {faults.seed}"
            )
        echo("Point any AWS client at it with:")
        for line in _export_lines(sandbox):
            echo(line)
        echo("Press Ctrl-C to stop.")
        if ready is not None:
            ready(sandbox)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        echo("Stopping.")
    finally:
        sandbox.stop()
        if in_main:
            signal.signal(signal.SIGTERM, previous)
