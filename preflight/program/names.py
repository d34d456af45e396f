"""The program's names: the pulumi type token of every resource it registers (each kind's, re-exported
from `preflight/kinds/`, and the component's), their listing order, and the stack's tags.

Shared by the program (`pipeline`), `verify` and `rehearse`, and free of pulumi.
"""

from __future__ import annotations

from preflight import kinds
from preflight.deployment import Deployment
from preflight.kinds.alarm import METRIC_ALARM as METRIC_ALARM
from preflight.kinds.bucket import BUCKET as BUCKET
from preflight.kinds.endpoint import VPC_ENDPOINT as VPC_ENDPOINT
from preflight.kinds.function import FUNCTION as FUNCTION
from preflight.kinds.role import ROLE as ROLE
from preflight.kinds.role import ROLE_POLICY_ATTACHMENT as ROLE_POLICY_ATTACHMENT
from preflight.kinds.security_group import SECURITY_GROUP as SECURITY_GROUP
from preflight.kinds.stream import STREAM as STREAM
from preflight.kinds.table import TABLE as TABLE
from preflight.kinds.topic import TOPIC as TOPIC
from preflight.kinds.vpc import EIP as EIP
from preflight.kinds.vpc import INTERNET_GATEWAY as INTERNET_GATEWAY
from preflight.kinds.vpc import NAT_GATEWAY as NAT_GATEWAY
from preflight.kinds.vpc import ROUTE_TABLE as ROUTE_TABLE
from preflight.kinds.vpc import ROUTE_TABLE_ASSOCIATION as ROUTE_TABLE_ASSOCIATION
from preflight.kinds.vpc import SUBNET as SUBNET
from preflight.kinds.vpc import VPC as VPC

# pulumi-aws type tokens, as the resource monitor (and so the mocks) receives them: each kind declares
# its own (`preflight/kinds/`); the component is the program's.
PIPELINE = "tap:pipeline:Pipeline"

# The order an inventory is listed in (registration order varies from run to run with timing).
TYPE_ORDER = (PIPELINE, *kinds.TYPE_ORDER)

# Resources that take no tags (everything else the program creates is tagged).
UNTAGGED = frozenset({PIPELINE, ROUTE_TABLE_ASSOCIATION, ROLE_POLICY_ATTACHMENT})


def component_name(d: Deployment) -> str:
    return f"{d.project}-{d.environment}"


def stack_tags(d: Deployment, name: str) -> dict[str, str]:
    """The stack's identifying tags (what `check` recognises) plus Name."""
    return {**d.tags, "Name": name}
