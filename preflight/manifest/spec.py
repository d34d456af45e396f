"""The manifest's model (version 2): what the pipeline wants, per environment, and what may be degraded.

Each resource kind's part of it is that kind's `Spec` (`preflight/kinds/`); this is the document that
lists them. `tap-preflight schema` prints its JSON Schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, create_model

from preflight import kinds
from preflight.kinds.alarm import AlarmSpec
from preflight.kinds.base import Strict
from preflight.kinds.bucket import BucketSpec
from preflight.kinds.endpoint import EndpointSpec
from preflight.kinds.function import FunctionSpec, LambdaSpec
from preflight.kinds.role import RoleSpec
from preflight.kinds.security_group import SecurityGroupSpec
from preflight.kinds.stream import StreamSpec
from preflight.kinds.table import TableSpec
from preflight.kinds.topic import TopicSpec
from preflight.kinds.vpc import VpcSpec

MANIFEST_VERSION = 2


class ManifestHead(Strict):
    """What the document says of the stack as a whole, before the kinds' parts."""

    version: Literal[2] = Field(
        description=(
            "Manifest format version: 2 (lists per resource kind: streams, tables, buckets, topics). "
            "Version 1 (one stream, table, bucket, topic) is refused with what to write instead."
        ),
        examples=[2],
    )
    name: str = Field(
        pattern=r"^[a-z][a-z0-9-]{1,40}$",
        description="Project name (lowercase, digits, -): tags every resource (tap:project).",
        examples=["tap-pipeline"],
    )
    name_prefix: str = Field(
        "pipeline",
        alias="namePrefix",
        pattern=r"^[a-z][a-z0-9-]{0,20}$",
        description="Prefix of every AWS resource name.",
        examples=["pipeline"],
    )
    region: str = Field(
        "us-east-1",
        pattern=r"^[a-z]{2}(-[a-z]+)+-\d$",
        description="AWS region to deploy to (--region overrides).",
        examples=["us-east-1"],
    )
    default_environment: str = Field(
        "prod",
        alias="defaultEnvironment",
        description="Environment profile used without --env.",
        examples=["prod"],
    )


ENVIRONMENTS = Field(
    default_factory=dict,
    description=(
        "Environment profiles (--env NAME): overrides deep-merged into the fields above. Lists of "
        'named items are overridden by name; "*" applies to every item.'
    ),
    examples=[
        {"test": {"streams": {"events": {"shards": 2}}, "functions": {"*": {"reservedConcurrency": 10}}}}
    ],
)

# The head, every kind's part (`PART.manifest` of each module in `preflight.kinds`), then the profiles.
if TYPE_CHECKING:
    ManifestFields = ManifestHead  # a type checker reads the kinds' fields declared on ManifestDoc
else:
    ManifestFields = create_model(
        "ManifestFields",
        __base__=ManifestHead,
        **kinds.manifest_fields(),
        environments=(dict[str, dict[str, Any]], ENVIRONMENTS),
    )


class ManifestDoc(ManifestFields):
    """What the TAP pipeline wants, per environment, and what plan --adapt may degrade to fit an account."""

    if TYPE_CHECKING:  # the fields the code outside the kinds reads (tests/kinds/test_registry.py checks)
        vpc: VpcSpec
        security_groups: list[SecurityGroupSpec]
        endpoints: list[EndpointSpec]
        lambda_: LambdaSpec
        functions: list[FunctionSpec]
        streams: list[StreamSpec]
        tables: list[TableSpec]
        buckets: list[BucketSpec]
        topics: list[TopicSpec]
        alarms: list[AlarmSpec]
        role: RoleSpec
        environments: dict[str, dict[str, Any]]


SCHEMA_ID = "urn:tap-preflight:manifest:v2"


def manifest_json_schema() -> dict[str, Any]:
    """The manifest's JSON Schema, for editors: every property described, none titled by its field name."""
    schema = ManifestDoc.model_json_schema(by_alias=True)
    for model in (schema, *schema.get("$defs", {}).values()):
        for prop in model.get("properties", {}).values():
            # pydantic's titles ("Reservedconcurrency") would hide the description in an editor's hover.
            prop.pop("title", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "tap-preflight manifest",
    }
