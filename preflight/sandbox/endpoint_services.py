"""DescribeVpcEndpointServices answered by the layer: the services AWS offers over PrivateLink.

AWS names each one `com.amazonaws.<region>.<service>`, offered in the region's zones (a scenario may
limit one to some zones: SandboxState.endpoint_zones). moto would make its list by importing every
backend that describes its own services (~0.7 s, ~30 MiB, and server extras the sandbox does not
install); the layer keeps its own list, reads the region's zones with DescribeAvailabilityZones and
adds the account's own services (DescribeVpcEndpointServiceConfigurations), as EC2 lists them too.
Filters, ServiceNames, MaxResults and NextToken (the next service's id) behave as moto's did.
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import Any
from xml.sax.saxutils import escape

from botocore.exceptions import ClientError

from preflight.sandbox import motoserver
from preflight.sandbox.protocol import Call, Response, error_response, request_id, xml_response
from preflight.sandbox.state import SandboxState

# The services AWS offers over PrivateLink in every commercial region (short names).
SERVICES = """
    access-analyzer account acm-pca airflow.api airflow.env airflow.ops analytics-omics app-integrations
    appconfig appconfigdata application-autoscaling appmesh appmesh-envoy-management apprunner
    apprunner.requests appstream.api appstream.streaming appsync-api aps aps-workspaces athena
    auditmanager autoscaling autoscaling-plans awsconnector b2bi backup backup-gateway batch bedrock
    bedrock-agent bedrock-agent-runtime bedrock-runtime billingconductor braket cases cassandra
    cassandra-fips cleanrooms cloudcontrolapi cloudcontrolapi-fips clouddirectory cloudformation
    cloudhsmv2 cloudtrail codeartifact.api codeartifact.repositories codebuild codebuild-fips codecommit
    codecommit-fips codedeploy codedeploy-commands-secure codeguru-profiler codeguru-reviewer
    codepipeline codestar-connections.api codewhisperer comprehend comprehendmedical config
    connect-campaigns console control-storage-omics data-servicediscovery data-servicediscovery-fips
    databrew dataexchange datasync datazone deviceadvisor.iot devops-guru dms dms-fips drs ds dynamodb
    ebs ec2 ec2messages ecr.api ecr.dkr ecs ecs-agent ecs-telemetry eks eks-auth
    elastic-inference.runtime elasticache elasticache-fips elasticbeanstalk elasticbeanstalk-health
    elasticfilesystem elasticfilesystem-fips elasticloadbalancing elasticmapreduce email-smtp
    emr-containers emr-serverless emrwal.prod entityresolution events evidently evidently-dataplane
    execute-api finspace finspace-api fis forecast forecast-fips forecastquery forecastquery-fips
    frauddetector fsx fsx-fips git-codecommit git-codecommit-fips glue grafana grafana-workspace
    greengrass groundstation guardduty-data guardduty-data-fips healthlake identitystore imagebuilder
    inspector2 iot.credentials iot.data iot.fleethub.api iotfleetwise iotroborunner iotsitewise.api
    iotsitewise.data iottwinmaker.api iottwinmaker.data iotwireless.api kendra kinesis-firehose
    kinesis-streams kms kms-fips lakeformation lambda license-manager license-manager-fips
    license-manager-user-subscriptions logs lookoutequipment lookoutmetrics lookoutvision lorawan.cups
    lorawan.lns m2 macie2 managedblockchain-query managedblockchain.bitcoin.mainnet
    managedblockchain.bitcoin.testnet mediaconnect medical-imaging memory-db memorydb-fips mgn
    migrationhub-orchestrator models-v2-lex monitoring neptune-graph networkmonitor nimble organizations
    organizations-fips payment-cryptography.controlplane payment-cryptography.dataplane pca-connector-ad
    personalize personalize-events personalize-runtime pinpoint pinpoint-sms-voice-v2 polly
    private-networks profile proton rds rds-data redshift redshift-data redshift-fips refactor-spaces
    rekognition rekognition-fips rolesanywhere rum rum-dataplane runtime-medical-imaging runtime-v2-lex
    s3 s3-outposts s3express sagemaker.api sagemaker.featurestore-runtime sagemaker.metrics
    sagemaker.runtime sagemaker.runtime-fips scn secretsmanager securityhub servicecatalog
    servicecatalog-appregistry servicediscovery servicediscovery-fips signin simspaceweaver
    snow-device-management sns sqs ssm ssm-contacts ssm-incidents ssmmessages states storage-omics
    storagegateway streaming-rekognition streaming-rekognition-fips sts swf swf-fips sync-states
    synthetics tags-omics textract textract-fips thinclient.api timestream-influxdb tnb transcribe
    transcribestreaming transfer transfer.server translate trustedadvisor verifiedpermissions voiceid
    vpc-lattice wisdom workflows-omics workspaces xray
""".split()
# Gateway services AWS also offers over PrivateLink: the interface one has no private DNS (DynamoDB: 2024).
_GATEWAY_AND_INTERFACE = ("dynamodb",)
PAGE_MAX = 1000
FILTERS = ("service-name", "service-type", "tag-key")

_ZONES: dict[str, tuple[str, ...]] = {}
_ZONES_LOCK = threading.Lock()


def _service_id(name: str, kind: str) -> str:
    """A fixed id per service and type (AWS's are fixed too): vpce-svc- and 17 hex digits."""
    return "vpce-svc-" + hashlib.sha256(f"{name}/{kind}".encode()).hexdigest()[:17]


def _service(
    region: str,
    short: str,
    kind: str = "Interface",
    *,
    name: str = "",
    private_dns: str | None = "",
    base_dns: str = "",
) -> dict[str, Any]:
    """One service's details; private_dns "" is `<short>.<region>.amazonaws.com`, None is none."""
    name = name or f"com.amazonaws.{region}.{short}"
    detail: dict[str, Any] = {
        "ServiceName": name,
        "ServiceId": _service_id(name, kind),
        "ServiceType": [kind],
        "Owner": "amazon",
        "BaseEndpointDnsNames": [base_dns or f"{short}.{region}.vpce.amazonaws.com"],
        "VpcEndpointPolicySupported": True,
        "AcceptanceRequired": False,
        "ManagesVpcEndpoints": False,
    }
    if private_dns is not None:
        detail["PrivateDnsName"] = private_dns or f"{short}.{region}.amazonaws.com"
    return detail


def _special(region: str) -> list[dict[str, Any]]:
    """Services whose entries differ from the common form (gateways, other names)."""
    dynamodb_dns = f"dynamodb.{region}.amazonaws.com"
    return [
        _service(region, "dynamodb", "Gateway", private_dns=None, base_dns=dynamodb_dns),
        _service(region, "s3", "Interface"),
        _service(region, "s3", "Gateway"),
        _service(
            region,
            "accesspoint",
            name="com.amazonaws.s3-global.accesspoint",
            private_dns="*.accesspoint.s3-global.amazonaws.com",
            base_dns=f"accesspoint.s3-global.{region}.vpce.amazonaws.com",
        ),
        _service(region, "kinesis", name=f"com.amazonaws.{region}.kinesis-streams"),
    ] + [
        _service(region, short, "Interface", private_dns=None, base_dns=f"{short}.{region}.amazonaws.com")
        for short in _GATEWAY_AND_INTERFACE
    ]


def aws_services(region: str) -> list[dict[str, Any]]:
    """Every service AWS offers in `region` (zones not yet filled in)."""
    special = _special(region)
    named = {s["ServiceName"] for s in special}
    return special + [
        _service(region, short) for short in SERVICES if f"com.amazonaws.{region}.{short}" not in named
    ]


def _zones(region: str) -> tuple[str, ...]:
    """The region's zones, as EC2 lists them (fixed for a region: read once)."""
    with _ZONES_LOCK:
        known = _ZONES.get(region)
    if known is None:
        zones = motoserver.client("ec2", region).describe_availability_zones()["AvailabilityZones"]
        known = tuple(z["ZoneName"] for z in zones)
        with _ZONES_LOCK:
            _ZONES[region] = known
    return known


def _own_services(region: str) -> list[dict[str, Any]]:
    """The account's own endpoint services (service configurations), as EC2 lists them to it."""
    try:
        found = motoserver.client("ec2", region).describe_vpc_endpoint_service_configurations()
    except ClientError:
        return []
    return [
        {
            "ServiceName": c.get("ServiceName", ""),
            "ServiceId": c.get("ServiceId", ""),
            "ServiceType": [t.get("ServiceType", "") for t in c.get("ServiceType") or ()],
            "Owner": c.get("Owner") or "",
            "AvailabilityZones": list(c.get("AvailabilityZones") or ()),
            "BaseEndpointDnsNames": list(c.get("BaseEndpointDnsNames") or ()),
            "VpcEndpointPolicySupported": True,
            "AcceptanceRequired": bool(c.get("AcceptanceRequired")),
            "ManagesVpcEndpoints": bool(c.get("ManagesVpcEndpoints")),
            **({"PrivateDnsName": c["PrivateDnsName"]} if c.get("PrivateDnsName") else {}),
        }
        for c in found.get("ServiceConfigurations", [])
    ]


def _indexed(params: dict[str, str], prefix: str) -> list[str]:
    keys = [k for k in params if re.fullmatch(rf"{re.escape(prefix)}\.\d+", k)]
    return [params[k] for k in sorted(keys, key=lambda k: int(k.rsplit(".", 1)[1]))]


def _filters(params: dict[str, str]) -> list[tuple[str, list[str]]]:
    numbers = sorted({int(k.split(".")[1]) for k in params if re.fullmatch(r"Filter\.\d+\.Name", k)})
    return [(params[f"Filter.{n}.Name"], _indexed(params, f"Filter.{n}.Value")) for n in numbers]


def _matches(service: dict[str, Any], name: str, values: list[str]) -> bool:
    if name == "service-name":
        return service["ServiceName"] in values
    if name == "service-type":
        return bool(set(service["ServiceType"]) & set(values))
    return False  # tag-key, tag:<key>: AWS's own services carry no tags


def describe_vpc_endpoint_services(state: SandboxState, call: Call) -> Response:
    params = call.params
    zones = list(_zones(call.region))
    services = aws_services(call.region) + _own_services(call.region)
    for service in services:
        service.setdefault("AvailabilityZones", zones)
        limited = state.endpoint_zones(call.region, service["ServiceName"])
        if limited:
            service["AvailabilityZones"] = list(limited)
    asked = _indexed(params, "ServiceName")
    known = {s["ServiceName"] for s in services}
    for name in asked:
        if name not in known:
            return _error("InvalidServiceName", f"The Vpc Endpoint Service '{name}' does not exist")
    filters = _filters(params)
    for name, _ in filters:
        if name not in FILTERS and not name.startswith("tag:"):
            return _error("InvalidFilter", f"The filter '{name}' is invalid")
    chosen = [
        s
        for s in services
        if (not asked or s["ServiceName"] in asked) and all(_matches(s, n, v) for n, v in filters)
    ]
    chosen.sort(key=lambda s: s["ServiceName"])  # stable: a name's gateway before its interface twin
    return _page(chosen, params)


def _page(services: list[dict[str, Any]], params: dict[str, str]) -> Response:
    start, token = 0, params.get("NextToken")
    if token:
        ids = [s["ServiceId"] for s in services]
        if token not in ids:
            return _error("InvalidNextToken", f"The token '{token}' is invalid")
        start = ids.index(token)
    try:
        size = int(params.get("MaxResults") or PAGE_MAX)
    except ValueError:
        size = PAGE_MAX
    size = PAGE_MAX if size <= 0 or size > PAGE_MAX else size
    page = services[start : start + size]
    following = services[start + size] if len(services) > start + size else None
    return xml_response(_render(page, following["ServiceId"] if following else None))


def _error(code: str, message: str) -> Response:
    return error_response("ec2", 400, code, message)


def _items(values: list[str], tag: str = "") -> str:
    if tag:
        return "".join(f"<item><{tag}>{escape(v)}</{tag}></item>" for v in values)
    return "".join(f"<item>{escape(v)}</item>" for v in values)


def _detail_xml(s: dict[str, Any]) -> str:
    def flag(key: str) -> str:
        return "true" if s[key] else "false"

    private = s.get("PrivateDnsName")
    dns = (
        f"<privateDnsName>{escape(private)}</privateDnsName>"
        f"<privateDnsNameSet>{_items([private], 'privateDnsName')}</privateDnsNameSet>"
        if private
        else ""
    )
    state = "<privateDnsNameVerificationState>verified</privateDnsNameVerificationState>"
    verified = state if private else ""
    return (
        f"<item><serviceName>{escape(s['ServiceName'])}</serviceName><serviceId>{escape(s['ServiceId'])}"
        f"</serviceId><serviceType>{_items(s['ServiceType'], 'serviceType')}</serviceType>"
        f"<availabilityZoneSet>{_items(s['AvailabilityZones'])}</availabilityZoneSet>"
        f"<owner>{escape(s['Owner'])}</owner>"
        f"<baseEndpointDnsNameSet>{_items(s['BaseEndpointDnsNames'])}</baseEndpointDnsNameSet>{dns}"
        f"<vpcEndpointPolicySupported>{flag('VpcEndpointPolicySupported')}</vpcEndpointPolicySupported>"
        f"<acceptanceRequired>{flag('AcceptanceRequired')}</acceptanceRequired>"
        f"<managesVpcEndpoints>{flag('ManagesVpcEndpoints')}</managesVpcEndpoints><tagSet/>{verified}</item>"
    )


def _render(page: list[dict[str, Any]], next_token: str | None) -> str:
    token = f"<nextToken>{escape(next_token)}</nextToken>" if next_token else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<DescribeVpcEndpointServicesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        f"<requestId>{request_id()}</requestId>"
        f"<serviceNameSet>{_items([s['ServiceName'] for s in page])}</serviceNameSet>"
        f"<serviceDetailSet>{''.join(_detail_xml(s) for s in page)}</serviceDetailSet>{token}"
        "</DescribeVpcEndpointServicesResponse>"
    )
