"""Shared fixtures: the emulated account (a real HTTP server on 127.0.0.1) and the CLI.

One sandbox runs at a time per process (moto's state is per process); each fixture use starts a
fresh one, so tests do not see each other's resources.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import settings

# Every property test runs the same way locally and in CI (Hypothesis would load its "ci" profile only
# when CI is set): derandomized, no example database. `make fuzz` (TAP_FUZZ_SEED) explores with a
# fresh seed instead.
settings.register_profile("fixed", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("fuzz", derandomize=False, database=None, deadline=None, print_blob=True)
settings.load_profile("fuzz" if os.environ.get("TAP_FUZZ_SEED") else "fixed")

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = str(ROOT / "manifests" / "tap-pipeline.yaml")

# The unit tests' fixtures (the shipped manifest and its prod deployment), for the `*_unit.py` files
# that sit beside the end-to-end tests of the same module.
pytest_plugins = ["tests.unit_helpers"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`*_unit.py` files are unit tests (pure functions, no emulated account): `pytest -m unit` runs them."""
    for item in items:
        if item.path.name.endswith("_unit.py"):
            item.add_marker(pytest.mark.unit)


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
    from preflight.account.sources import LiveAccount

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


def manifest_variant(tmp_path: Path, *replacements: tuple[str, str], text: str | None = None) -> str:
    """A copy of the shipped manifest with some text replaced, in a copy of the project (handlers too)."""
    body = text if text is not None else Path(MANIFEST).read_text()
    for old, new in replacements:
        assert old in body, old
        body = body.replace(old, new)
    copy_project(tmp_path)
    path = tmp_path / "manifests" / "variant.yaml"
    path.write_text(body)
    return str(path)


def copy_project(root: Path) -> Path:
    """A checkout of the project in `root`: Pulumi.yaml, the manifests and the handler sources."""
    import shutil

    if not (root / "Pulumi.yaml").exists():
        shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
        shutil.copytree(ROOT / "handlers", root / "handlers")
        shutil.copytree(ROOT / "manifests", root / "manifests")
    return root


def synthetic_state(
    limits: dict[str, float] | None = None,
    usage: dict[str, dict[str, float]] | None = None,
    region: str = "us-east-1",
    azs: tuple[str, ...] = ("us-east-1a", "us-east-1b", "us-east-1c"),
    project: str = "tap-pipeline",
    environment: str = "prod",
) -> object:
    """An AccountState with every catalog quota at its default and nothing in use, then `limits`/`usage`.

    Its evidence says the same of names and zones: none of the stack's names is taken, and the
    interface endpoint services a manifest may plan are offered in every zone.
    """
    from datetime import UTC, datetime

    from preflight.account.read import AccountState, StackRef, UsageReading
    from preflight.conflicts import Evidence, endpoint_service_name
    from preflight.quotas import catalog
    from preflight.quotas.limits import LimitReading

    offered = ("kinesis-streams", "sqs", "sns", "logs", "lambda", "sts", "secretsmanager", "ssm", "ecr.api")

    limits = limits or {}
    usage = usage or {}
    return AccountState(
        region=region,
        account_id="123456789012",
        taken_at=datetime.now(UTC),
        stack=StackRef(project=project, environment=environment),
        azs=azs,
        limits={
            q.quota_code: LimitReading(
                value=limits.get(q.quota_code, q.default_for(region)), source="default"
            )
            for q in catalog.QUOTAS
        },
        usage={
            q.quota_code: UsageReading(
                scopes=usage.get(q.quota_code, {"global": 0} if q.is_global else {"region": 0})
            )
            for q in catalog.QUOTAS
        },
        evidence=Evidence(endpoint_zones={endpoint_service_name(region, s): azs for s in offered}),
    )


@contextlib.contextmanager
def served_sandbox(
    *args: str, timeout: float = 120
) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """`python -m preflight.sandbox ARGS` in a subprocess, as a user runs it; yields it and its exports.

    The exports are the `export NAME=VALUE` lines it prints (AWS_ENDPOINT_URL and the dummy keys).
    Stopped (terminated, then killed) on the way out if the test has not stopped it itself.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "preflight.sandbox", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        exports: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line or line.startswith("Press Ctrl-C"):
                break
            if line.startswith("export "):
                key, _, value = line[len("export ") :].strip().partition("=")
                exports[key] = value
        assert "AWS_ENDPOINT_URL" in exports, proc.stderr.read() if proc.poll() is not None else "no endpoint"
        yield proc, exports
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


def many_functions_manifest(tmp_path: Path, count: int) -> str:
    """The shipped manifest with `count` functions like its first one, none reserving concurrency."""
    import yaml

    doc = yaml.safe_load(Path(MANIFEST).read_text())
    first = {k: v for k, v in doc["functions"][0].items() if "eserv" not in k}
    doc["functions"] = [{**first, "name": f"fn{i:04d}"} for i in range(count)]
    doc["alarms"] = [{**a, "function": "fn0000"} if a.get("function") else a for a in doc["alarms"]]
    tmp_path.mkdir(parents=True, exist_ok=True)
    return manifest_variant(tmp_path, text=yaml.safe_dump(doc, sort_keys=False))
