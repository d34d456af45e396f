"""Shared fixtures: the emulated account (a real HTTP server on 127.0.0.1) and the CLI.

One sandbox runs at a time per process (moto's state is per process); each fixture use starts a
fresh one, so tests do not see each other's resources.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = str(ROOT / "manifests" / "tap-pipeline.yaml")


@pytest.fixture
def sandbox() -> Iterator[Callable[..., object]]:
    """Start a sandbox with a scenario: `sb = sandbox("seed-account")`; stopped after the test."""
    from preflight.sandbox import Sandbox, load_scenario

    started: list[Sandbox] = []

    def start(scenario: str = "fresh-account", **kwargs: object) -> Sandbox:
        sb = Sandbox(load_scenario(scenario), **kwargs).start()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.stop()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run tap-preflight in-process, as a user would type it; returns click's Result."""
    from cli import main

    monkeypatch.chdir(ROOT)
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(var, raising=False)

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return run


def live_source(sb: object) -> object:
    from preflight.runner import LiveAccount

    return LiveAccount(endpoint_url=sb.endpoint_url, credentials=("testing", "testing"))  # type: ignore[attr-defined]


def no_aws_env() -> dict[str, str]:
    """An environment with no AWS credentials anywhere, for the no-credentials tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
        AWS_CONFIG_FILE="/nonexistent/config",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env
