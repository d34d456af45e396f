"""Fixtures and helpers of the unit tests (`tests/**/test_*_unit.py`, marked `unit`): pure functions on
values, no emulated account and no subprocess (each file runs in well under a second). The deployments
come from the shipped manifest, varied with `model_copy`. Registered by tests/conftest.py."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from preflight.deployment import Deployment
from preflight.manifest import Manifest, load_manifest
from tests.conftest import MANIFEST

AZS = ("us-east-1a", "us-east-1b", "us-east-1c")  # what `synthetic_state` offers


@pytest.fixture(scope="session")
def manifest() -> Manifest:
    return load_manifest(MANIFEST, "prod")


@pytest.fixture(scope="session")
def requested(manifest: Manifest) -> Deployment:
    """The shipped manifest's prod deployment: two AZs, a VPC with public subnets, the S3 and DynamoDB
    gateway endpoints and the Kinesis interface endpoint, five functions reserving 100 each."""
    return manifest.requested("us-east-1", AZS)


def with_doc(manifest: Manifest, **changes: Any) -> Manifest:
    """The manifest with top-level fields of its document replaced (validated models, no file)."""
    return dataclasses.replace(manifest, doc=manifest.doc.model_copy(update=changes))


def with_lambda(
    manifest: Manifest, *, networking: dict | None = None, concurrency: dict | None = None
) -> Manifest:
    lam = manifest.doc.lambda_
    if networking:
        lam = lam.model_copy(update={"networking": lam.networking.model_copy(update=networking)})
    if concurrency:
        lam = lam.model_copy(update={"concurrency": lam.concurrency.model_copy(update=concurrency)})
    return with_doc(manifest, lambda_=lam)
