"""Adding a resource kind is writing its module and listing it in the registry (docs/architecture.md).

The proof edits a copy of the package as a contributor would: a throwaway kind module (`archive`, S3
buckets of the newer `BucketV2` type, against the bucket quota) written into `preflight/kinds/`, and
its name added to the registry's import and to `KINDS` in `preflight/kinds/__init__.py`. Nothing else
of the copy is touched. A fresh interpreter on that copy then takes a manifest that lists archives
through every stage: the manifest's model and JSON Schema, the deployment, the demand, a plan file
read back as the program reads it, and `verify-program`'s run of the Pulumi program under mocks.
The same run on a copy without the registry line refuses the manifest (exit 2, `archives` is an
unknown key): the registry line is what makes the module count.

The usage counters' side of a kind (`own_reads`, `own_enis`) is checked in-process below.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from preflight import kinds
from tests.conftest import MANIFEST, ROOT, manifest_variant

ARCHIVE_MODULE = '''
"""An archive: an S3 bucket of the BucketV2 type, one against the account's bucket quota."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from preflight.kinds.base import (
    LOGICAL, Checker, Created, Expected, Found, Frozen, Inventory, Name, NameCheck, Needs, Part, Physical,
    Program, Strict, NOT_FOUND,
)
from preflight.quotas.catalog import S3_BUCKETS

ARCHIVE = "aws:s3/bucketV2:BucketV2"
LABELS = {ARCHIVE: "archive bucket"}
NAME_CHECK = NameCheck(
    "archive", "TAP-C008", "archive bucket", "BucketAlreadyExists", (ARCHIVE,),
    title="Archive bucket name taken", help="CreateBucket fails.", help_uri="https://example.test/archive",
)


class ArchiveSpec(Strict):
    """An archive bucket."""

    name: Name = Field(description=LOGICAL)
    retention_days: int = Field(30, alias="retentionDays", ge=1, description="Days objects are kept.")


class ArchivePlan(Frozen):
    path: str
    key: str
    name: str
    retention_days: int


def plans(specs: Sequence[ArchiveSpec], physical: Physical) -> tuple[ArchivePlan, ...]:
    return tuple(
        ArchivePlan(path=f"archives[{i}]", key=a.name, name=physical(a.name), retention_days=a.retention_days)
        for i, a in enumerate(specs)
    )


PART = Part(
    manifest={"archives": (list[ArchiveSpec], Field(default_factory=list, description="Archive buckets."))},
    deployment={"archives": (tuple[ArchivePlan, ...], ())},
    resolve=lambda doc, r: {"archives": plans(doc.archives, r.physical)},
)


def needs(d: Any) -> Needs:
    for a in d.archives:
        yield S3_BUCKETS, "global", 1, a.path


def register(p: Program, d: Any) -> None:
    p.made["archives"] = {
        a.name: p.aws.s3.BucketV2(a.name, bucket=a.name, tags=p.tags(a.name), opts=p.child)
        for a in d.archives
    }


def expected(d: Any) -> Expected:
    return {ARCHIVE: [a.name for a in d.archives]}


def verify(d: Any, inv: Inventory, check: Checker) -> None:
    for a in d.archives:
        if inv.one(ARCHIVE, a.name) is None:
            check.add(f"archive {a.name} is not registered")


def create(c: Any, i: dict[str, Any]) -> Created:
    c("s3").create_bucket(Bucket=i["bucket"])
    return i["bucket"], {"bucket": i["bucket"]}


CREATORS = {ARCHIVE: create}
UPDATERS: dict[str, Any] = {}


def named(d: Any) -> list[tuple[str, str]]:
    return [(a.name, a.path) for a in d.archives]


def find(aws: Any, reads: Any, name: str) -> Found:
    """In this probe, the audit archive's name is held by someone else's bucket."""
    return Found(exists=True, tags={"team": "other"}) if "audit" in name else NOT_FOUND
'''

# Run on the copy: every stage, each answer printed as one JSON document for the test to judge.
FLOW = """
import json, sys
from pathlib import Path

import preflight
assert preflight.__file__.startswith(sys.argv[1]), preflight.__file__  # the copy, not the worktree

from preflight.manifest import load_manifest, manifest_json_schema
from preflight.support.errors import InputError

out = {}
try:
    manifest = load_manifest(sys.argv[2], "prod")
except InputError as exc:
    print(json.dumps({"refused": str(exc), "code": int(exc.exit_code)}))
    sys.exit(0)

from preflight.demand import compute_demand
from preflight.program.verify import verify_plan_file
from preflight.quotas import catalog
from tests.program.conftest import make_plan, write_plan

out["schema"] = manifest_json_schema()["properties"]["archives"]["description"]
d = manifest.requested("us-east-1", ("us-east-1a", "us-east-1b"))
out["deployment"] = [[a.name, a.retention_days] for a in d.archives]
buckets = next(x for x in compute_demand(d) if x.quota_code == catalog.S3_BUCKETS.quota_code)
out["demand"] = [buckets.amount, list(buckets.resources)]
path = write_plan(Path(sys.argv[3]), make_plan(manifest, d))
out["plan_file"] = json.loads(path.read_text())["deployment"]["archives"]
result = verify_plan_file(str(path))
out["violations"] = result.violations
archives = [r for r in result.resources if r["type"] == "aws:s3/bucketV2:BucketV2"]
out["registered"] = sorted(r["inputs"]["bucket"] for r in archives)

# The name check: the rule, the evidence's type and the finding come from the module alone.
from preflight.conflicts import RULES, Evidence, Observed, checks_for
from preflight.kinds import archive

seen = tuple(
    Observed(type="archive", name=a.name, **vars(archive.find(None, None, a.name))) for a in d.archives
)
out["rule"] = RULES["TAP-C008"].title
found = checks_for(d, Evidence(resources=seen))
out["conflicts"] = [[c.id, c.status, list(c.resources)] for c in found if c.id == "TAP-C008"]
print(json.dumps(out))
"""


def _package_copy(root: Path, *, registered: bool) -> Path:
    """A copy of `preflight/` with the archive module written, and listed in the registry if `registered`."""
    code = root / "code"
    shutil.copytree(ROOT / "preflight", code / "preflight", ignore=shutil.ignore_patterns("__pycache__"))
    (code / "preflight" / "kinds" / "archive.py").write_text(textwrap.dedent(ARCHIVE_MODULE).lstrip())
    if registered:
        registry = code / "preflight" / "kinds" / "__init__.py"
        text = registry.read_text()
        # The one entry a contributor adds: the module's name in the import and at the end of KINDS.
        text = text.replace(
            "from preflight.kinds import (\n", "from preflight.kinds import (\n    archive,\n", 1
        )
        text = text.replace("    alarm,\n)\n", "    alarm,\n    archive,\n)\n", 1)
        assert text.count("archive,") == 2, "the registry's layout changed: update this test"
        registry.write_text(text)
    return code


def _run_flow(tmp_path: Path, *, registered: bool) -> dict:
    doc = yaml.safe_load(Path(MANIFEST).read_text())
    doc["archives"] = [{"name": "logs"}, {"name": "audit", "retentionDays": 365}]
    manifest = manifest_variant(tmp_path / "project", text=yaml.safe_dump(doc, sort_keys=False))
    code = _package_copy(tmp_path, registered=registered)
    env = {**os.environ, "PYTHONPATH": f"{code}{os.pathsep}{ROOT}", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", FLOW, str(code), manifest, str(tmp_path / "project" / "plan.json")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path / "project",
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_kind_declared_in_its_module_and_the_registry_flows_through_every_stage(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    out = _run_flow(tmp_path, registered=True)
    assert out["schema"] == "Archive buckets."
    assert out["deployment"] == [["pipeline-logs-prod", 30], ["pipeline-audit-prod", 365]]
    amount, resources = out["demand"]
    assert resources[-2:] == ["archives[0]", "archives[1]"]  # after the shipped buckets
    assert amount == len(resources)
    assert out["plan_file"] == [
        {"path": "archives[0]", "key": "logs", "name": "pipeline-logs-prod", "retention_days": 30},
        {"path": "archives[1]", "key": "audit", "name": "pipeline-audit-prod", "retention_days": 365},
    ]
    assert out["violations"] == []
    assert out["registered"] == ["pipeline-audit-prod", "pipeline-logs-prod"]
    assert out["rule"] == "Archive bucket name taken"
    assert out["conflicts"] == [["TAP-C008", "FAIL", ["archives[1]"]]]


def test_without_the_registry_line_the_module_is_not_a_kind(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    out = _run_flow(tmp_path, registered=False)
    assert out["code"] == 2
    assert "archives" in out["refused"] and "unknown key" in out["refused"]


# --- the usage counters' side: what a kind recognises as the stack's own -----------------------------


def test_the_counters_take_each_kinds_own_reads_and_enis(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kind that declares `own_reads` has them started with the account's listings, and one that
    declares `own_enis` has its ENIs left out of the network interface count."""
    from preflight.quotas import usage

    seen: list[str] = []
    extra = SimpleNamespace(
        __name__="preflight.kinds.extra",
        own_reads=lambda a, d: [("sns", "the stack's extras", lambda: seen.append("read"))],
        own_enis=lambda a, d: {"eni-extra"},
    )
    stack = usage.Stack.of(load_deployment())
    monkeypatch.setattr(kinds, "KINDS", (*kinds.KINDS, extra))
    reads = usage.Reads(aws=None, stack=stack)  # type: ignore[arg-type]
    labels = [(service, label) for service, label, _ in reads.independent()]
    assert ("sns", "the stack's extras") in labels
    assert labels.index(("sns", "the stack's extras")) > labels.index(("sns", "sns:ListTopics"))
    next(read for _, label, read in reads.independent() if label == "the stack's extras")()
    assert seen == ["read"]
    account = _Listings(stack)
    assert "eni-extra" in kinds.own_enis(account, stack.deployment)
    monkeypatch.setattr(kinds, "KINDS", kinds.KINDS[:-1])
    assert "eni-extra" not in kinds.own_enis(account, stack.deployment)


def load_deployment():
    from preflight.account.sources import PLACEHOLDER_AZS
    from preflight.manifest import load_manifest

    return load_manifest(MANIFEST, "prod").requested("us-east-1", PLACEHOLDER_AZS)


class _Listings:
    """An account with nothing in it, for the kinds' own_* (every listing empty)."""

    def __init__(self, stack) -> None:
        self.owns = stack.owns

    def ec2(self, operation: str, result_key: str, **kwargs) -> list:
        return []

    def nat_gateways(self) -> list:
        return []
