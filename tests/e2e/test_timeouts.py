"""Bounded time: an endpoint that never answers, trickles a byte at a time, answers garbage or throttles
every call ends the run with exit 3 within `--timeout`, naming what did not answer. And the
environment edges that used to end in tracebacks: garbage AWS_* variables, region names, endpoints,
`sandbox serve` rates and ports."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from click.testing import Result

from preflight.account.snapshot import snapshot_json
from preflight.sandbox import FaultConfig
from tests.conftest import MANIFEST, ROOT, synthetic_state

Cli = Callable[..., Result]
KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
TIMEOUT = 2.0
SLACK = 4.0  # thread start-up, client creation, the in-process CLI's own work


@contextlib.contextmanager
def bad_endpoint(behaviour: str) -> Iterator[str]:
    """A TCP server on 127.0.0.1 that misbehaves as an AWS endpoint; yields its URL.

    hang: accepts, reads the request, never answers. trickle: sends a byte every 0.5 s (each socket
    read gets data, so botocore's read timeout never fires). garbage: 200 with a body that is not XML.
    """
    stop = threading.Event()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.1)
    conns: list[socket.socket] = []

    def handle(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            request = conn.recv(65536)
            if behaviour == "garbage":
                # Every request on the connection is answered, as a captive portal or broken proxy does
                # (botocore reuses kept-alive connections: one answer per connection would hang the rest).
                body = b"<html>captive portal, not AWS</html> hello"
                while request and not stop.is_set():
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                    request = conn.recv(65536)
            elif behaviour == "trickle":
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
                    conn.sendall(bytes([byte]))
                    if stop.wait(0.5):
                        break
            stop.wait()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conns.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join(5)
        server.close()
        for conn in conns:  # the abandoned calls' sockets: their daemon threads end now
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


def timed(run: Callable[[], Result]) -> tuple[Result, float]:
    started = time.monotonic()
    result = run()
    return result, time.monotonic() - started


def could_not_evaluate(result: Result, *words: str) -> None:
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.mark.parametrize("behaviour", ["hang", "trickle"])
def test_an_endpoint_that_does_not_answer_ends_at_the_deadline(cli: Cli, behaviour: str) -> None:
    with bad_endpoint(behaviour) as url:
        result, elapsed = timed(
            lambda: cli("check", MANIFEST, "--timeout", str(TIMEOUT), env={**KEYS, "AWS_ENDPOINT_URL": url})
        )
    could_not_evaluate(result, f"no answer within {TIMEOUT:g} s (--timeout) from sts:GetCallerIdentity")
    assert elapsed < TIMEOUT + SLACK


def test_every_command_that_calls_aws_has_the_deadline(cli: Cli, tmp_path) -> None:
    snap, report = tmp_path / "account.json", tmp_path / "r.json"
    snap.write_text(snapshot_json(synthetic_state()))  # type: ignore[arg-type]
    made = cli(
        "check",
        MANIFEST,
        "--snapshot",
        str(snap),
        "--limit",
        "L-B99A9384=10",
        "--format",
        "json",
        "-o",
        str(report),
    )
    assert made.exit_code == 1, made.output  # NO_GO: the report asks for an increase
    with bad_endpoint("hang") as url:
        env = {**KEYS, "AWS_ENDPOINT_URL": url}
        for args in (
            ("plan", "--adapt", MANIFEST),
            ("snapshot", MANIFEST),
            ("request-increases", "--from-report", str(report), "--endpoint-url", url),
        ):
            result, elapsed = timed(lambda args=args: cli(*args, "--timeout", "1", env=env))
            could_not_evaluate(result, "no answer within 1 s")
            assert elapsed < 1 + SLACK, args


def test_an_answer_that_is_not_xml_is_exit_3_not_no_go(cli: Cli) -> None:
    # The endpoint answers every call at once: the run ends on the answer, long before the deadline.
    timeout = 30.0
    with bad_endpoint("garbage") as url:
        result, elapsed = timed(
            lambda: cli("check", MANIFEST, "--timeout", str(timeout), env={**KEYS, "AWS_ENDPOINT_URL": url})
        )
    could_not_evaluate(result, "sts:GetCallerIdentity")
    assert "not an AWS response" in result.stderr
    assert elapsed < timeout / 3


def test_an_account_that_throttles_every_call_ends_at_the_deadline(cli: Cli, sandbox) -> None:
    sb = sandbox("fresh-account", faults=FaultConfig(throttle_rate=1.0))
    result, elapsed = timed(
        lambda: cli("check", MANIFEST, "--timeout", "3", env={**KEYS, "AWS_ENDPOINT_URL": sb.endpoint_url})
    )
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    # Either botocore gave up on the throttled identity call first, or the deadline came: both name it.
    assert "sts:GetCallerIdentity" in result.stderr and "Throttling" in result.stderr, result.stderr
    assert elapsed < 3 + SLACK


def test_the_process_exits_at_the_deadline_with_calls_still_hanging() -> None:
    """In a real process: the abandoned calls' threads do not keep it alive past the deadline."""
    with bad_endpoint("hang") as url:
        env = {**os.environ, **KEYS, "AWS_ENDPOINT_URL": url}
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "cli", "check", MANIFEST, "--timeout", str(TIMEOUT)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        elapsed = time.monotonic() - started
    assert done.returncode == 3, done.stderr
    assert "no answer within" in done.stderr and "Traceback" not in done.stderr
    assert elapsed < TIMEOUT + SLACK + 3  # + interpreter start and imports


@pytest.mark.parametrize("value", ["nan", "0", "-1", "inf"])
def test_a_bad_timeout_is_exit_2(cli: Cli, value: str) -> None:
    result = cli(
        "check", MANIFEST, "--timeout", value, env={**KEYS, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    )
    assert result.exit_code == 2, result.output
    assert "--timeout" in result.stderr


# --- environment edges -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AWS_MAX_ATTEMPTS", "many"),
        ("AWS_MAX_ATTEMPTS", "0"),
        ("AWS_MAX_ATTEMPTS", "-3"),
        ("AWS_RETRY_MODE", "aggressive"),
        ("AWS_ENDPOINT_URL", "not a url"),
    ],
)
def test_garbage_in_an_aws_variable_is_exit_3_naming_it(cli: Cli, variable: str, value: str) -> None:
    env = {**KEYS, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", variable: value}
    result = cli("check", MANIFEST, "--timeout", "5", env=env)
    could_not_evaluate(result, variable)
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("region", ["us-east-1/../x", "nope", "US-EAST-1", "us-east-1 ", ""])
def test_an_invalid_region_is_exit_2_before_any_call(cli: Cli, region: str, tmp_path) -> None:
    env = {**KEYS, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # nothing listens: a call would be exit 3
    for args in (
        ("check", MANIFEST),
        ("plan", "--adapt", MANIFEST),
        ("snapshot", MANIFEST),
    ):
        result = cli(*args, "--region", region, env=env)
        assert result.exit_code == 2, (args, result.output)
        assert "is not an AWS region name" in result.stderr


def test_request_increases_refuses_an_endpoint_that_is_not_a_url(cli: Cli, tmp_path) -> None:
    plan = tmp_path / "p.json"
    plan.write_text("{}")
    for url in ("not a url", "ftp://example.com", "http://", "http://host:port"):
        result = cli("request-increases", "--plan", str(plan), "--endpoint-url", url)
        assert result.exit_code == 2, result.output
        assert "--endpoint-url must be an http(s) URL" in result.stderr
    result = cli("request-increases", "--plan", str(plan), "--region", "nope", "--offline")
    assert result.exit_code == 2 and "not an AWS region name" in result.stderr


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (("--throttle-rate", "nan"), "throttle-rate must be between 0 and 1"),
        (("--error-rate", "nan"), "error-rate must be between 0 and 1"),
        (("--throttle-rate", "0.6", "--error-rate", "0.5"), "at most 1"),
    ],
)
def test_sandbox_serve_refuses_impossible_rates(cli: Cli, flags: tuple[str, ...], words: str) -> None:
    result = cli("sandbox", "serve", *flags)
    assert result.exit_code == 2, result.output
    assert words in result.stderr and "Traceback" not in result.output


def test_sandbox_serve_on_a_port_in_use_is_exit_3(cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = cli("sandbox", "serve", "--port", str(port))
    could_not_evaluate(result, f"cannot listen on 127.0.0.1:{port}", "in use")


@pytest.mark.parametrize(
    "region",
    ["us-east-1", "eu-central-2", "ap-southeast-4", "us-gov-west-1", "cn-northwest-1", "il-central-1"],
)
def test_real_region_names_are_accepted(region: str) -> None:
    from preflight.quotas.catalog import check_region

    assert check_region(region) == region


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:4566", "https://servicequotas.us-east-1.amazonaws.com", "http://[::1]:80/"]
)
def test_real_endpoint_urls_are_accepted(url: str) -> None:
    from preflight.account.aws import check_endpoint_url

    assert check_endpoint_url(url) == url
