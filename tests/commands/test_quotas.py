"""`tap-preflight quotas`: the catalog in every format it offers, every quota with where it is read."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from click.testing import Result

from preflight.quotas import catalog

CODES = [q.quota_code for q in catalog.QUOTAS]
SCHEMA = Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json"


def test_json_lists_every_quota_with_its_sources(cli: Callable[..., Result]) -> None:
    result = cli("quotas", "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["schema"] == "tap-preflight/quotas/v1"
    assert [q["quota_code"] for q in doc["quotas"]] == CODES
    by_code = {q["quota_code"]: q for q in doc["quotas"]}
    # Lambda concurrency: the service's own API is authoritative, read first.
    assert by_code["L-B99A9384"]["limit_from"].startswith(
        "lambda.GetAccountSettings.ConcurrentExecutions -> "
    )
    assert by_code["L-F678F1CE"]["limit_from"].endswith("published default 5")
    for q in doc["quotas"]:
        assert q["usage_from"] and q["scope"] and q["service_code"] and q["default"] >= 0


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_text_formats_name_every_quota(cli: Callable[..., Result], fmt: str) -> None:
    result = cli("quotas", "--format", fmt)
    assert result.exit_code == 0
    for q in catalog.QUOTAS:
        assert q.quota_code in result.stdout and q.usage_from.split()[0] in result.stdout
    if fmt == "markdown":
        rows = [line for line in result.stdout.splitlines() if line.startswith("| `L-")]
        assert len(rows) == len(CODES)


def test_sarif_is_the_rule_list_and_validates(cli: Callable[..., Result], tmp_path: Path) -> None:
    out = tmp_path / "rules.sarif"
    assert cli("quotas", "--format", "sarif", "-o", str(out)).exit_code == 0
    doc = json.loads(out.read_text())
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(doc)
    assert [r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]] == CODES


def test_an_unknown_format_is_refused(cli: Callable[..., Result]) -> None:
    result = cli("quotas", "--format", "yaml")
    assert result.exit_code == 2 and "yaml" in result.output
