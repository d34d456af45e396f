"""The server itself: loopback only, clean start/stop, one per process, the call log, the entry point."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from preflight.sandbox import CallLog, Sandbox
from preflight.support.errors import InputError
from tests.conftest import served_sandbox

from .helpers import code_of, error_of, status_of

ROOT = Path(__file__).resolve().parents[2]


def listening_addresses(port: int) -> list[str]:
    """Local addresses of listening TCP sockets on `port`, from /proc (IPv4 and IPv6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as fh:
            next(fh)
            for line in fh:
                fields = line.split()
                addr, port_hex = fields[1].rsplit(":", 1)
                if int(port_hex, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                    found.append(addr)
    return found


def non_loopback_ipv4() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            addr = s.getsockname()[0]
    except OSError:
        return None
    return None if addr.startswith("127.") else addr


def test_listens_on_loopback_only(fresh: Sandbox) -> None:
    assert fresh.endpoint_url == f"http://127.0.0.1:{fresh.port}"
    if os.path.exists("/proc/net/tcp"):
        assert listening_addresses(fresh.port) == ["0100007F"]  # 127.0.0.1, nothing else
    other = non_loopback_ipv4()
    if other is not None:
        with pytest.raises(OSError):
            socket.create_connection((other, fresh.port), timeout=1).close()


def test_given_port_is_used() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Sandbox(port=port) as sb:
        assert sb.endpoint_url == f"http://127.0.0.1:{port}"
        assert sb.client("ec2").describe_vpcs()["Vpcs"]


def test_no_thread_or_port_left_behind() -> None:
    before = set(threading.enumerate())
    sb = Sandbox("seed-account").start()
    port = sb.port
    for service in ("ec2", "lambda", "service-quotas"):
        sb.client(service)  # connections are made and dropped per request (HTTP/1.0)
    sb.client("ec2").describe_vpcs()
    sb.client("lambda").get_account_settings()
    sb.stop()
    sb.stop()  # idempotent
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert left == []
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    with socket.socket() as s:  # the port is free again
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


def test_one_sandbox_per_process(fresh: Sandbox) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        Sandbox().start()
    assert fresh.client("ec2").describe_vpcs()["Vpcs"]  # the running one is unharmed


def test_a_start_resets_the_account() -> None:
    with Sandbox() as sb:
        sb.client("sns").create_topic(Name="leftover")
        sb.set_applied_quota("vpc", "L-F678F1CE", 9)
    with Sandbox() as sb:
        assert sb.client("sns").list_topics()["Topics"] == []
        assert sb.client("service-quotas").list_service_quotas(ServiceCode="vpc")["Quotas"] == []


def test_client_env_points_clients_at_the_sandbox(fresh: Sandbox) -> None:
    env = fresh.client_env()
    assert env == {
        "AWS_ENDPOINT_URL": fresh.endpoint_url,
        "AWS_ACCESS_KEY_ID": env["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": env["AWS_SECRET_ACCESS_KEY"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
    code = "import boto3; print(len(boto3.client('ec2').describe_vpcs()['Vpcs']))"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | env
    child_env |= {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    out = subprocess.run(
        [sys.executable, "-c", code], env=child_env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


def test_clients_ignore_the_users_aws_profile(fresh: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://192.0.2.1:1")
    assert fresh.client("ec2").describe_vpcs()["Vpcs"]


def test_not_started_sandbox_has_no_clients() -> None:
    sb = Sandbox()
    with pytest.raises(RuntimeError, match="not started"):
        sb.client("ec2")


@pytest.mark.parametrize(("kwargs", "message"), [({"region": "mars-1"}, "region"), ({"port": 70000}, "port")])
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        Sandbox(**kwargs)  # type: ignore[arg-type]


def test_call_log_counts_every_operation(fresh: Sandbox) -> None:
    assert fresh.call_log.counts() == {}  # setup calls are not in it
    fresh.client("ec2").describe_vpcs()
    fresh.client("ec2").describe_vpcs()
    fresh.client("lambda").get_account_settings()
    fresh.client("service-quotas").list_service_quotas(ServiceCode="vpc")
    fresh.client("s3").list_buckets()
    fresh.client("s3").create_bucket(Bucket="some-bucket")
    fresh.client("sns").list_topics()
    fresh.client("iam").list_roles()
    fresh.client("dynamodb").list_tables()
    fresh.client("kinesis").list_streams()
    fresh.client("lambda").list_functions()
    counts = fresh.call_log.counts()
    assert counts == {
        "dynamodb:ListTables": 1,
        "ec2:DescribeVpcs": 2,
        "iam:ListRoles": 1,
        "kinesis:ListStreams": 1,
        "lambda:GetAccountSettings": 1,
        "lambda:ListFunctions": 1,
        "s3:CreateBucket": 1,
        "s3:ListBuckets": 1,
        "service-quotas:ListServiceQuotas": 1,
        "sns:ListTopics": 1,
    }
    assert fresh.call_log.total() == 11
    assert fresh.call_log.mutating_calls() == ["s3:CreateBucket"]
    with urllib.request.urlopen(f"{fresh.endpoint_url}/_sandbox/calls", timeout=5) as resp:
        assert json.load(resp) == {"counts": counts, "total": 11, "faults": {}}
    fresh.call_log.reset()
    assert (fresh.call_log.counts(), fresh.call_log.total()) == ({}, 0)


def test_call_log_is_thread_safe() -> None:
    log = CallLog()

    def hammer() -> None:
        for _ in range(2000):
            log.record("ec2:DescribeVpcs")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.counts() == {"ec2:DescribeVpcs": 16000}


def test_unsupported_moto_request_is_an_aws_error_not_a_crash(fresh: Sandbox) -> None:
    ec2 = fresh.client("ec2")
    ec2.create_internet_gateway()  # moto only trips over the filter when there is something to filter
    err = error_of(
        lambda: ec2.describe_internet_gateways(Filters=[{"Name": "owner-id", "Values": ["999999999999"]}])
    )
    assert (code_of(err), status_of(err)) == ("NotImplemented", 501)
    assert err.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_foreground_server_entry_point(tmp_path: Path) -> None:
    with served_sandbox("--scenario", "new-account", "--port", "0", "--seed", "3", timeout=60) as (
        proc,
        exports,
    ):
        assert exports["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        with urllib.request.urlopen(exports["AWS_ENDPOINT_URL"] + "/_sandbox/health", timeout=5) as resp:
            assert json.load(resp)["status"] == "ok"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Stopping." in out


def test_entry_point_reports_a_bad_scenario(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nvpcs:\n  - name: a\n    colour: blue\n")
    out = subprocess.run(
        [sys.executable, "-m", "preflight.sandbox", "--scenario", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert f"{bad}:4" in out.stderr and "vpcs[0].colour" in out.stderr


def test_a_stopped_sandbox_can_start_again() -> None:
    sb = Sandbox("new-account")
    with sb:
        first = sb.endpoint_url
        sb.client("sns").create_topic(Name="t")
    with sb:  # a fresh account again, on a newly picked port
        assert sb.endpoint_url.startswith("http://127.0.0.1:")
        assert sb.client("sns").list_topics()["Topics"] == []
        assert sb.client("lambda").get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 10
    assert first


def test_objects_and_head_requests_pass_through(fresh: Sandbox) -> None:
    s3 = fresh.client("s3")
    s3.create_bucket(Bucket="objects")
    s3.put_object(Bucket="objects", Key="a/b.txt", Body=b"x" * 1234)
    assert s3.head_object(Bucket="objects", Key="a/b.txt")["ContentLength"] == 1234
    assert s3.get_object(Bucket="objects", Key="a/b.txt")["Body"].read() == b"x" * 1234
    counts = fresh.call_log.counts()
    assert counts["s3:HeadObject"] == 1 and counts["s3:GetObject"] == 1 and counts["s3:PutObject"] == 1


def test_reset_makes_a_fresh_account_on_the_same_port() -> None:
    """`reset` is a new start without a new server: the old account's resources, applied quotas and
    call log are gone, the new scenario is there, the faults configured stay."""
    from preflight.sandbox import FaultConfig, load_scenario

    with Sandbox("seed-account", faults=FaultConfig(latency_ms=1)) as sb:
        port = sb.port
        sb.client("sns").create_topic(Name="made-before-the-reset")
        sb.set_applied_quota("", "L-F678F1CE", 9)
        assert len(sb.client("lambda").list_functions()["Functions"]) == 10

        sb.reset(load_scenario("low-kinesis"))

        assert (sb.port, sb.running, sb.faults.latency_ms) == (port, True, 1)
        assert sb.scenario is not None and sb.scenario.name == "low-kinesis"
        assert sb.call_log.counts() == {}
        topics = [t["TopicArn"] for t in sb.client("sns").list_topics()["Topics"]]
        assert not any(arn.endswith(":made-before-the-reset") for arn in topics)
        assert sb.client("lambda").list_functions()["Functions"] == []
        quotas = sb.client("service-quotas")
        with pytest.raises(quotas.exceptions.NoSuchResourceException):  # no applied value any more
            quotas.get_service_quota(ServiceCode="vpc", QuotaCode="L-F678F1CE")
        assert sb.client("kinesis").describe_limits()["OpenShardCount"] == 498
        with pytest.raises(RuntimeError):
            Sandbox("low-kinesis").start()  # one at a time: the reset one is still the running one
