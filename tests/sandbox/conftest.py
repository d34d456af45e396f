"""Fixtures for the emulated account's tests: real HTTP through boto3, nothing stubbed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from preflight.sandbox import Sandbox


@pytest.fixture
def fresh() -> Iterator[Sandbox]:
    with Sandbox("fresh-account") as sb:
        yield sb


@pytest.fixture
def seed() -> Iterator[Sandbox]:
    with Sandbox("seed-account") as sb:
        yield sb
