"""Lambda's network interfaces, kept by the layer: what a VPC function makes and how EC2 shows it.

AWS makes one interface per subnet and security-group combination of a VPC function (Hyperplane),
shared by every function with the same combination; EC2 lists it with InterfaceType `lambda` and
RequesterManaged true, and its `interface-type` filter finds it. moto makes none and knows neither
field nor filter (every interface it holds is an `interface`): the layer makes them with EC2's
CreateNetworkInterface, records their ids (SandboxState), marks them in DescribeNetworkInterfaces'
answers and turns an `interface-type` filter into the `network-interface-id` filter moto knows.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import urlencode
from xml.parsers import expat

from botocore.exceptions import ClientError

from preflight.sandbox import motoserver
from preflight.sandbox.protocol import Call, Response, error_response
from preflight.sandbox.state import SandboxState

LAMBDA_TYPE = "lambda"
MOTO_TYPE = "interface"  # the type moto gives every interface it holds
NO_INTERFACE = "eni-00000000000000000"  # an id no interface has: a filter that selects none
_LOCK = threading.Lock()


def _every_interface(region: str, **params: Any) -> list[dict[str, Any]]:
    pages = motoserver.client("ec2", region).get_paginator("describe_network_interfaces").paginate(**params)
    return [eni for page in pages for eni in page["NetworkInterfaces"]]


def _lambdas_live(state: SandboxState, region: str) -> list[dict[str, Any]]:
    """The acting account's Lambda interfaces in `region` that still exist, as EC2 lists them."""
    ids = state.lambda_interfaces()
    if not ids:
        return []
    return _every_interface(region, Filters=[{"Name": "network-interface-id", "Values": sorted(ids)}])


def _subnet_vpc(region: str, subnet_id: str) -> str | None:
    try:
        found = motoserver.client("ec2", region).describe_subnets(SubnetIds=[subnet_id])["Subnets"]
    except ClientError:  # moto answers the bad subnet with AWS's error when it creates the function
        return None
    return found[0]["VpcId"] if found else None


def _group_ids(interface: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(g["GroupId"] for g in interface.get("Groups") or ()))


def _refused() -> Response:
    return error_response(
        "rest-json",
        502,
        "ENILimitReachedException",
        "Lambda was not able to create an ENI in the VPC of the Lambda function because the limit "
        "for Network Interfaces has been reached.",
    )


def make_for_function(state: SandboxState, call: Call, function: str) -> Response | None:
    """The interfaces a new VPC function needs and has not (ENILimitReachedException over the
    Lambda ENIs per VPC or the ENIs per Region quota); None when made or none needed."""
    vpc = call.json.get("VpcConfig") or {}
    subnets, groups = vpc.get("SubnetIds") or [], sorted(vpc.get("SecurityGroupIds") or [])
    region = call.region
    with _LOCK:
        live = _lambdas_live(state, region)
        existing = {(e["SubnetId"], _group_ids(e)) for e in live}
        new = [
            (s, v) for s in subnets if (s, tuple(groups)) not in existing and (v := _subnet_vpc(region, s))
        ]
        if not new:
            return None
        in_vpc = sum(1 for e in live if e.get("VpcId") == new[0][1])
        if in_vpc + len(new) > state.limit("L-9FEE3D26", region) or (
            len(_every_interface(region)) + len(new) > state.limit("L-DF5E4CA3", region)
        ):
            return _refused()
        ec2 = motoserver.client("ec2", region)
        for subnet_id, _ in new:
            made = ec2.create_network_interface(
                SubnetId=subnet_id, Groups=groups, Description=f"AWS Lambda VPC ENI-{function}"
            )
            state.add_lambda_interface(made["NetworkInterface"]["NetworkInterfaceId"])
    return None


# --- DescribeNetworkInterfaces -----------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _interface_spans(body: bytes) -> list[tuple[int, int]]:
    """Where each of the answer's interfaces lies in it: from its `<item` to its `</item>`."""
    parser = expat.ParserCreate()
    path: list[str] = []
    spans: list[tuple[int, int]] = []
    opened = [0]

    def start(name: str, _attributes: object) -> None:
        path.append(_local(name))
        if len(path) == 3 and path[1] == "networkInterfaceSet":
            opened[0] = parser.CurrentByteIndex

    def end(_name: str) -> None:
        if len(path) == 3 and path[1] == "networkInterfaceSet":
            spans.append((opened[0], parser.CurrentByteIndex))
        path.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.Parse(body, True)
    return spans


def _marked(item: bytes) -> bytes:
    """One interface's members with Lambda's type and RequesterManaged (appended where moto wrote none)."""
    for name, value in ((b"interfaceType", LAMBDA_TYPE.encode()), (b"requesterManaged", b"true")):
        field = re.compile(rb"<%s(?:\s*/>|>[^<]*</%s>)" % (name, name))
        member = b"<%s>%s</%s>" % (name, value, name)
        item, found = field.subn(lambda _: member, item, count=1)  # noqa: B023 (used at once)
        if not found:
            item += member
    return item


def mark_in_answer(state: SandboxState, call: Call, answer: Response) -> Response:
    """Lambda's interfaces in moto's answer get AWS's InterfaceType and RequesterManaged; every other
    byte of the answer is kept as it was written (written into the text, not parsed and re-written)."""
    ids = [i for i in state.lambda_interfaces() if i.encode() in answer.body]
    if not ids:
        return answer
    wanted = [f"<networkInterfaceId>{i}</networkInterfaceId>".encode() for i in ids]
    body = answer.body
    for begin, finish in reversed(_interface_spans(body)):
        item = body[begin:finish]
        if any(w in item for w in wanted):
            body = body[:begin] + _marked(item) + body[finish:]
    headers = [(k, v) for k, v in answer.headers if k.lower() != "content-length"]
    return Response(answer.status, headers, body)


def _filters(params: dict[str, str]) -> dict[int, tuple[str, list[str]]]:
    """Filter number -> (name, values) of an EC2 query request."""
    found: dict[int, tuple[str, list[str]]] = {}
    for key, name in params.items():
        if re.fullmatch(r"Filter\.\d+\.Name", key):
            n = int(key.split(".")[1])
            values = [v for k, v in sorted(params.items()) if re.fullmatch(rf"Filter\.{n}\.Value\.\d+", k)]
            found[n] = (name, values)
    return found


def _of_types(state: SandboxState, region: str, types: set[str]) -> set[str] | None:
    """Ids of the interfaces of these types (None: every interface)."""
    lambdas = state.lambda_interfaces()
    if {LAMBDA_TYPE, MOTO_TYPE} <= types:
        return None
    if LAMBDA_TYPE in types:
        return set(lambdas)
    if MOTO_TYPE in types:
        return {e["NetworkInterfaceId"] for e in _every_interface(region)} - lambdas
    return set()


def interface_type_filter(state: SandboxState, call: Call, params: dict[str, str]) -> dict[str, str] | None:
    """`interface-type` as the `network-interface-id` filter moto knows (with any such filter asked
    too, the ids both allow); None when the request has no `interface-type` filter."""
    filters = _filters(params)
    typed = [n for n, (name, _) in filters.items() if name == "interface-type"]
    if not typed:
        return None
    ids: set[str] | None = None
    for name, values in filters.values():
        if name == "interface-type":
            allowed = _of_types(state, call.region, set(values))
        elif name == "network-interface-id":
            allowed = set(values)
        else:
            continue
        ids = allowed if ids is None else (ids if allowed is None else ids & allowed)
    kept = [f for n, f in sorted(filters.items()) if f[0] not in ("interface-type", "network-interface-id")]
    if ids is not None:
        kept.append(("network-interface-id", sorted(ids) or [NO_INTERFACE]))
    out = {k: v for k, v in params.items() if not k.startswith("Filter.")}
    for number, (name, values) in enumerate(kept, start=1):
        out[f"Filter.{number}.Name"] = name
        out.update({f"Filter.{number}.Value.{i}": v for i, v in enumerate(values, start=1)})
    return out


def encoded(params: dict[str, str]) -> bytes:
    return urlencode(params).encode()
