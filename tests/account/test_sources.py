"""One set of account flags on every command that reads an account, opened by one module
(`preflight/account/sources.py`): the same flags everywhere, one refusal of flags that exclude each other
(exit 2, naming them), and every way in reaches the same account."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import Result

from preflight.account.sources import AccountOptions, LiveAccount, SnapshotAccount, open_account
from preflight.support.errors import InputError
from tests.conftest import MANIFEST

ACCOUNT_FLAGS = {"--profile", "--role-arn", "--sandbox", "--snapshot", "--endpoint-url"}
# Every command that reads an account, and the account flags that mean nothing to it.
READERS = {
    "check": set(),
    "plan": set(),
    "deploy": set(),
    "place": set(),
    "sweep": set(),
    "snapshot": set(),
    "request-increases": {"--snapshot"},  # it files requests: only a live account answers
    "rehearse": {"--profile", "--role-arn", "--snapshot"},  # it deploys: emulated accounts only
}


def _flags(name: str) -> set[str]:
    from cli import main

    command = main.commands[name]
    return {o for p in command.params if isinstance(p, click.Option) for o in p.opts}


@pytest.mark.parametrize("name", sorted(READERS))
def test_every_reader_has_the_account_flags(name: str) -> None:
    assert ACCOUNT_FLAGS - READERS[name] <= _flags(name)
    assert not (READERS[name] & _flags(name))


def test_the_flags_are_one_definition() -> None:
    from cli import main

    helps = {
        (o, p.help)
        for name in READERS
        if name != "rehearse"
        for p in main.commands[name].params
        if isinstance(p, click.Option)
        for o in p.opts
        if o in ACCOUNT_FLAGS
    }
    assert len({o for o, _ in helps}) == len(helps), helps  # one help text per flag everywhere


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (AccountOptions(sandbox="seed-account", snapshot="a.json"), "--sandbox and --snapshot exclude"),
        (
            AccountOptions(sandbox="seed-account", endpoint_url="http://127.0.0.1:1"),
            "--sandbox and --endpoint",
        ),
        (AccountOptions(snapshot="a.json", endpoint_url="http://127.0.0.1:1"), "--snapshot and --endpoint"),
        (AccountOptions(endpoint_url="ftp://x"), "--endpoint-url must be an http\\(s\\) URL"),
    ],
)
def test_flags_that_exclude_each_other_are_refused_once(options: AccountOptions, says: str) -> None:
    with pytest.raises(InputError, match=says) as caught, open_account(options, "us-east-1"):
        pass
    assert caught.value.exit_code == 2


def test_each_flag_opens_its_source() -> None:
    with open_account(AccountOptions(snapshot="a.json"), "us-east-1") as source:
        assert source == SnapshotAccount("a.json")
    live = AccountOptions(profile="p", role_arn="arn:aws:iam::111122223333:role/r", endpoint_url="http://h:1")
    with open_account(live, "us-east-1") as source:
        assert source == LiveAccount(profile="p", endpoint_url="http://h:1", role_arn=live.role_arn)


@pytest.mark.parametrize("name", ["check", "plan", "place", "snapshot", "sweep"])
def test_the_cli_refuses_conflicting_account_flags(cli: Callable[..., Result], name: str) -> None:
    extra = ("--org",) if name == "sweep" else ()
    result = cli(name, MANIFEST, "--sandbox", "seed-account", "--endpoint-url", "http://127.0.0.1:9", *extra)
    assert result.exit_code == 2, result.output
    assert "--sandbox and --endpoint-url exclude each other" in result.stderr
    assert "Traceback" not in result.output


def test_an_endpoint_is_the_same_account_as_the_sandbox(
    cli: Callable[..., Result], sandbox: Callable[..., object]
) -> None:
    # One emulated account at a time in a process: the built-in one first, then the served one.
    by_sandbox = cli("check", MANIFEST, "--env", "prod", "--sandbox", "seed-account", "--format", "json")
    sb = sandbox("seed-account")
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    by_endpoint = cli(
        "check",
        MANIFEST,
        "--env",
        "prod",
        "--endpoint-url",
        sb.endpoint_url,
        "--format",
        "json",
        env=env,  # type: ignore[attr-defined]
    )
    assert by_endpoint.exit_code == by_sandbox.exit_code == 1, by_endpoint.output
    failing = [
        {(f["quota_code"], f["status"]) for f in json.loads(r.stdout)["findings"]}
        for r in (by_endpoint, by_sandbox)
    ]
    assert failing[0] == failing[1] and ("L-1B52E74A", "FAIL") in failing[0]
    table = cli("check", MANIFEST, "--env", "prod", "--endpoint-url", sb.endpoint_url, env=env)  # type: ignore[attr-defined]
    assert f"--endpoint-url {sb.endpoint_url}" in table.stdout  # type: ignore[attr-defined]  # the next steps keep it


def test_place_reads_the_settings_file(cli: Callable[..., Result], tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('env = "prod"\nformat = "json"\nregions = ["us-east-1"]\n')
    result = cli("--config", str(settings), "place", MANIFEST, "--sandbox", "seed-account")
    assert result.exit_code in (0, 1), result.output
    body = json.loads(result.stdout)  # the settings' format
    assert body["schema"] == "tap-preflight/place/v1"
    assert [r["region"] for r in body["regions"]] == ["us-east-1"]
