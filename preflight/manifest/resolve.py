"""A manifest resolved into a `Deployment`: physical names, subnets, the networking's consequences.

`Manifest.requested(region, azs)` is the deployment exactly as the manifest asks for it; the planner
derives the others with `endpoint_for_mode`, `interface_fallback` and `prune`, the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from preflight import kinds
from preflight.deployment import Deployment, EndpointPlan, NetworkMode, SecurityGroupPlan
from preflight.kinds import endpoint, role, security_group
from preflight.kinds.base import Resolving
from preflight.kinds.endpoint import private_dns, url_variable
from preflight.kinds.vpc import nat_gateway_azs as nat_gateway_azs
from preflight.manifest.spec import ManifestDoc
from preflight.support.project import manifest_dir, project_root
from preflight.support.sourcefile import LineMap, PathKey


@dataclass(frozen=True)
class Manifest:
    path: str
    sha256: str
    environment: str
    doc: ManifestDoc
    linemap: LineMap

    @property
    def name(self) -> str:
        return self.doc.name

    @property
    def base_dir(self) -> Path:
        return manifest_dir(self.path)

    @property
    def project_root(self) -> Path:
        """The project the manifest belongs to (`preflight.support.project`): its sources stay inside it."""
        return project_root(self.base_dir)

    def line_of(self, path: str) -> int | None:
        return self.linemap.line_of(_parse_path(path))

    def physical(self, logical: str) -> str:
        """Every name carries the prefix and the environment suffix: ``pipeline-ingest-prod``."""
        return physical_name(self, logical)

    def code_size(self, index: int, source: str) -> int:
        """The size of function `index`'s source (a source that is not there: an error at its line)."""
        path = self.base_dir / source
        if not path.is_file():
            raise self.linemap.error(("functions", index, "source"), f"handler source {source!r} not found")
        return path.stat().st_size

    def requested(self, region: str, azs: tuple[str, ...]) -> Deployment:
        """The deployment exactly as the manifest asks for it, placed in `region` on `azs`."""
        return resolve(self, region, azs)


def _parse_path(path: str) -> PathKey:
    out: list[str | int] = []
    for part in path.replace("]", "").split("."):
        head, *indexes = part.split("[")
        if head:
            out.append(head)
        out.extend(int(i) for i in indexes)
    return tuple(out)


def physical_name(manifest: Manifest, logical: str) -> str:
    """Every name carries the prefix and the environment suffix: ``pipeline-ingest-prod``."""
    return f"{manifest.doc.name_prefix}-{logical}-{manifest.environment}"


def resolve(manifest: Manifest, region: str, azs: tuple[str, ...]) -> Deployment:
    """The deployment exactly as the manifest asks for it (its first networking mode) on `azs`."""
    doc = manifest.doc
    if len(azs) < doc.vpc.az_count:
        raise manifest.linemap.error(
            ("vpc", "azCount"),
            f"region {region} has {len(azs)} availability zones, fewer than {doc.vpc.az_count}",
        )
    mode = doc.lambda_.networking.preference[0]
    resolving = Resolving(
        physical=manifest.physical,
        azs=tuple(azs),
        mode=mode,
        stack=f"{manifest.name} {manifest.environment}",
        code_size=manifest.code_size,
    )
    deployment = Deployment(
        project=manifest.name,
        environment=manifest.environment,
        region=region,
        networking=mode,
        **kinds.resolve(doc, resolving),  # every kind's part (`PART.resolve` of each kind)
    )
    if mode == "vpc-with-interface-endpoints":
        deployment = deployment.model_copy(
            update={"endpoints": tuple(interface_fallback(manifest, ep) for ep in deployment.endpoints)}
        )
    return prune(deployment)


def execution_policies(mode: NetworkMode, extra: Iterable[str]) -> tuple[str, ...]:
    """The role's managed policies: the execution policy follows the networking, the manifest's extras
    come on top."""
    return role.managed_policies(attached=mode != "no-vpc", extra=extra)


def endpoint_plans(manifest: Manifest) -> tuple[EndpointPlan, ...]:
    """Every endpoint as the manifest declares it (the networking may replace gateways, see below)."""
    return endpoint.plans(manifest.doc.endpoints, manifest.physical)


def security_group_plans(manifest: Manifest) -> tuple[SecurityGroupPlan, ...]:
    """Every security group of the manifest (`prune` keeps those a deployment uses)."""
    return security_group.plans(
        manifest.doc.security_groups, manifest.physical, f"{manifest.name} {manifest.environment}"
    )


def endpoint_for_mode(
    manifest: Manifest, ep: EndpointPlan, mode: NetworkMode, interface: frozenset[str] | None = None
) -> EndpointPlan:
    """The endpoint as `mode` deploys it: as the manifest declares it, or its interface stand-in (with
    vpc-with-interface-endpoints: each gateway endpoint in `interface`; None: every one)."""
    spec = next(e for e in manifest.doc.endpoints if e.name == ep.key)
    declared = ep.model_copy(
        update={
            "type": spec.type,
            "security_group": physical_name(manifest, spec.security_group) if spec.security_group else None,
            "private_dns": True,
            "url_variable": None,
            "stands_in_for_gateway": False,
        }
    )
    stand_in = mode == "vpc-with-interface-endpoints" and (interface is None or ep.key in interface)
    return interface_fallback(manifest, declared) if stand_in else declared


def interface_fallback(manifest: Manifest, ep: EndpointPlan) -> EndpointPlan:
    """The interface endpoint that stands in for a gateway endpoint (vpc-with-interface-endpoints):
    same service and name, the manifest's interface group, and the service's DNS as it is offered."""
    if ep.type != "gateway":
        return ep
    group = manifest.doc.lambda_.networking.interface_security_group
    return ep.model_copy(
        update={
            "type": "interface",
            "security_group": physical_name(manifest, group) if group else None,
            "private_dns": private_dns(ep.service),
            "url_variable": url_variable(ep.service),
            "stands_in_for_gateway": True,
        }
    )


def prune(deployment: Deployment) -> Deployment:
    """Drop what nothing needs: the Lambda SG when no function is in the VPC, an endpoint SG with no endpoint.

    This is the cascade rule shared by `resolve` and the planner, so both derive the same shape.
    """
    used: set[str] = {ep.security_group for ep in deployment.endpoints if ep.security_group}
    if deployment.vpc_attached and deployment.lambda_security_group:
        used.add(deployment.lambda_security_group)
    groups = tuple(sg for sg in deployment.security_groups if sg.name in used)
    return deployment.model_copy(update={"security_groups": groups})
