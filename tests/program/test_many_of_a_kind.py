"""Two streams and three tables are data: demand, the program, verify-program and rehearse take N of each."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from preflight.demand import compute_demand
from preflight.deployment import Deployment
from preflight.manifest import Manifest, load_manifest
from preflight.program import names
from preflight.program.rehearse import rehearse
from preflight.program.verify import check_inventory, record_program, verify_program
from preflight.quotas import catalog
from preflight.sandbox import Sandbox, load_scenario
from tests.conftest import MANIFEST, manifest_variant
from tests.program.conftest import AZS, make_plan, seed_adapted

STREAMS = {"pipeline-events-prod": 4, "pipeline-clicks-prod": 2}
TABLES = {"pipeline-state-prod", "pipeline-sessions-prod", "pipeline-audit-prod"}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    """The shipped manifest with a second stream (watched by its own alarm) and two more tables."""
    doc = yaml.safe_load(Path(MANIFEST).read_text())
    doc["streams"].append({"name": "clicks", "shards": 2, "retentionHours": 48})
    doc["tables"] += [{"name": "sessions"}, {"name": "audit", "hashKey": "id", "billingMode": "PROVISIONED"}]
    watched = next(a for a in doc["alarms"] if a.get("stream"))
    doc["alarms"].append({**watched, "name": "clicks-iterator-age", "stream": "clicks"})
    doc["environments"]["test"]["streams"]["clicks"] = {"shards": 1}
    path = manifest_variant(tmp_path_factory.mktemp("many"), text=yaml.safe_dump(doc, sort_keys=False))
    return load_manifest(path, "prod")


@pytest.fixture(scope="module")
def requested(manifest: Manifest) -> Deployment:
    return manifest.requested("us-east-1", AZS)


def test_the_manifest_lists_each_and_profiles_override_them_by_name(manifest: Manifest) -> None:
    d = manifest.requested("us-east-1", AZS)
    assert {s.name: s.shards for s in d.streams} == STREAMS
    assert [s.path for s in d.streams] == ["streams[0]", "streams[1]"]
    assert {t.name for t in d.tables} == TABLES
    clicks_alarm = next(a for a in d.alarms if a.key == "clicks-iterator-age")
    assert clicks_alarm.dimensions == {"StreamName": "pipeline-clicks-prod"}
    test = load_manifest(manifest.path, "test").requested("us-east-1", AZS)
    assert {s.key: s.shards for s in test.streams} == {"events": 2, "clicks": 1}


def test_demand_counts_every_stream_and_table(requested: Deployment) -> None:
    demand = {(x.quota_code, x.scope): x for x in compute_demand(requested)}
    shards = demand[(catalog.KINESIS_SHARDS.quota_code, "region")]
    assert shards.amount == 6 and shards.resources == ("streams[0].shards", "streams[1].shards")
    tables = demand[(catalog.DYNAMODB_TABLES.quota_code, "region")]
    assert tables.amount == 3 and tables.resources == ("tables[0]", "tables[1]", "tables[2]")


def test_verify_program_registers_each_with_its_settings(manifest: Manifest, requested: Deployment) -> None:
    result = verify_program(make_plan(manifest, requested), base_dir=manifest.base_dir)
    assert result.ok, result.violations
    streams = [r for r in result.resources if r["type"] == names.STREAM]
    assert {s["inputs"]["name"]: s["inputs"]["shardCount"] for s in streams} == STREAMS
    tables = [r for r in result.resources if r["type"] == names.TABLE]
    assert {t["inputs"]["name"]: t["inputs"]["billingMode"] for t in tables} == {
        "pipeline-state-prod": "PAY_PER_REQUEST",
        "pipeline-sessions-prod": "PAY_PER_REQUEST",
        "pipeline-audit-prod": "PROVISIONED",
    }
    fn = next(r for r in result.resources if r["type"] == names.FUNCTION)
    variables = fn["inputs"]["environment"]["variables"]
    # Two streams: each by its name, and no ambiguous STREAM_NAME; one bucket keeps BUCKET_NAME.
    assert variables["STREAM_NAME_EVENTS"] == "pipeline-events-prod"
    assert variables["STREAM_NAME_CLICKS"] == "pipeline-clicks-prod"
    assert variables["TABLE_NAME_AUDIT"] == "pipeline-audit-prod"
    assert "STREAM_NAME" not in variables and "TABLE_NAME" not in variables
    assert variables["BUCKET_NAME"] == "pipeline-archive-prod"


def test_verify_program_catches_a_stream_left_out(manifest: Manifest, requested: Deployment) -> None:
    one_less = requested.model_copy(
        update={"streams": requested.streams[:1], "alarms": requested.alarms[:-1]}
    )
    # A program that builds one stream fewer than the plan asks (and the clicks alarm with it).
    mocks = record_program(make_plan(manifest, one_less), base_dir=manifest.base_dir)
    problems = check_inventory(requested, mocks.records, mocks.ids, mocks.arns)
    assert any("missing" in p and "pipeline-clicks-prod" in p for p in problems), problems


def test_rehearse_creates_each_and_check_recognises_them_as_the_stacks_own(
    manifest: Manifest, requested: Deployment
) -> None:
    from preflight.account.sources import LiveAccount

    plan = make_plan(manifest, seed_adapted(requested), verdict="GO_WITH_ADAPTATIONS")
    with contextlib.ExitStack() as stack:
        sb = stack.enter_context(Sandbox(load_scenario("fresh-account"), region="us-east-1"))
        account = LiveAccount(endpoint_url=sb.endpoint_url, credentials=("testing", "testing"))
        before = account.read(manifest, "us-east-1", {}, None)
        result = rehearse(plan, endpoint_url=sb.endpoint_url, base_dir=manifest.base_dir)
        assert result.complete, result.render_text()
        kinesis = sb.client("kinesis")
        for name, shards in STREAMS.items():
            summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
            assert summary["OpenShardCount"] == shards
        assert TABLES <= set(sb.client("dynamodb").list_tables()["TableNames"])
        after = account.read(manifest, "us-east-1", {}, None)

    def used(state: Any, quota: catalog.Quota) -> dict[str, float]:
        return dict(state.usage[quota.quota_code].scopes)

    # Every stream and table the stack made is its own: the others' usage is what it was.
    for quota in (catalog.KINESIS_SHARDS, catalog.DYNAMODB_TABLES, catalog.SNS_TOPICS, catalog.S3_BUCKETS):
        assert used(after, quota) == used(before, quota), quota.name
    assert after.current.stream_shards == STREAMS


def test_a_redeploy_reshards_each_stream_on_its_own(requested: Deployment) -> None:
    """events 2 -> 4 holds 6 shards on the way; clicks 8 -> 2 is beyond one UpdateShardCount (a FAIL of
    its own, scoped to that stream); the region's shard demand is the sum of both peaks."""
    from preflight.deployment import CurrentStack
    from preflight.evaluate import redeploy_demand, redeploy_findings

    current = CurrentStack(stream_shards={"pipeline-events-prod": 2, "pipeline-clicks-prod": 8})
    shards = next(
        x
        for x in redeploy_demand(compute_demand(requested), requested, current)
        if x.quota_code == catalog.KINESIS_SHARDS.quota_code
    )
    assert shards.amount == (2 + 4) + (8 + 2)
    assert "resharding 2 -> 4" in shards.note and "resharding 8 -> 2" in shards.note
    (beyond,) = redeploy_findings(requested, current)
    assert beyond.scope == "stream:pipeline-clicks-prod" and beyond.resources == ("streams[1].shards",)
    assert beyond.status == "FAIL" and "8 -> 2 needs 2 calls" in beyond.message
