"""Paging as AWS does it, where moto answers everything in one page, and what AWS hides unless asked.

- EC2 `Describe*` listings: `MaxResults` (5-1,000) and `NextToken` are honoured. A call without
  `MaxResults` whose answer would hold more than LARGE_ANSWER items is refused, as EC2 fails
  unpaginated calls on large accounts (the error code is the sandbox's choice: AWS documents none).
- `DescribeNetworkInterfaces` leaves out the interfaces AWS services manage (here: those of VPC
  endpoints) unless `IncludeManagedResources=true`.
- S3 `ListBuckets`: `MaxBuckets` (1-10,000) and `ContinuationToken`; an unpaginated call is rejected
  when the account's general purpose bucket quota is above 10,000 (the S3 user guide's rule).
- Lambda `ListFunctions`: at most 50 functions a page whatever `MaxItems` asks (1-10,000), then
  `NextMarker` (the Lambda API reference).
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from moto.backends import get_backend

from preflight.sandbox.protocol import (
    Call,
    Response,
    error_response,
    json_response,
    request_id,
    xml_response,
)
from preflight.sandbox.state import SandboxState, current_account

LARGE_ANSWER = 1000  # items an unpaginated EC2 Describe* may return before it is refused
DEFAULT_BUCKET_QUOTA = 10_000  # unpaginated ListBuckets works up to this quota

# Paged EC2 listings: operation -> the element holding the items.
EC2_LISTINGS = {
    "DescribeVpcs": "vpcSet",
    "DescribeSubnets": "subnetSet",
    "DescribeInternetGateways": "internetGatewaySet",
    "DescribeNatGateways": "natGatewaySet",
    "DescribeSecurityGroups": "securityGroupInfo",
    "DescribeVpcEndpoints": "vpcEndpointSet",
    "DescribeNetworkInterfaces": "networkInterfaceSet",
}


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _child(node: ET.Element, name: str) -> ET.Element | None:
    """A child by local name, whatever namespace moto wrote."""
    return next((c for c in node if _local(c.tag) == name), None)


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(token: str | None, total: int) -> int | None:
    """The offset a NextToken stands for; None when it is not one of ours."""
    if not token:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:"))
    except ValueError:
        return None
    return value if 0 <= value <= total else None


def _managed_enis(region: str) -> set[str]:
    backend = get_backend("ec2")[current_account()][region]
    return {eni for e in backend.vpc_end_points.values() for eni in e.network_interface_ids or []}


def ec2_page(state: SandboxState, call: Call, response: Response) -> Response:
    """Cut moto's whole answer to one page (or refuse an unpaginated call on a large account)."""
    container = EC2_LISTINGS[call.operation]
    if response.status != 200:
        return response
    root = ET.fromstring(response.body)
    namespace = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    holder = _child(root, container)
    if holder is None:
        return response
    items = list(holder)
    if call.operation == "DescribeNetworkInterfaces" and call.params.get("IncludeManagedResources") != "true":
        hidden = _managed_enis(call.region)
        items = [i for i in items if i.findtext(f"{namespace}networkInterfaceId") not in hidden]
    size_text = call.params.get("MaxResults")
    if size_text is None:
        if len(items) > LARGE_ANSWER:
            return error_response(
                "ec2",
                400,
                "UnsupportedOperation",
                f"{call.operation} without MaxResults is not supported for this many resources "
                f"({len(items)}): page with MaxResults and NextToken.",
            )
        page, next_offset = items, None
    else:
        try:
            size = int(size_text)
        except ValueError:
            size = -1
        low = 1 if call.operation == "DescribeVpcEndpoints" else 5
        if size < low:
            return error_response(
                "ec2", 400, "InvalidParameterValue", f"MaxResults must be at least {low}: {size_text}"
            )
        size = min(size, 1000)
        start = _offset(call.params.get("NextToken"), len(items))
        if start is None:
            return error_response("ec2", 400, "InvalidNextToken", "The token is not valid.")
        page = items[start : start + size]
        next_offset = start + size if start + size < len(items) else None
    for child in list(holder):
        holder.remove(child)
    holder.extend(page)
    for old in [c for c in root if _local(c.tag) == "nextToken"]:
        root.remove(old)
    if next_offset is not None:
        ET.SubElement(root, f"{namespace}nextToken").text = _token(next_offset)
    if namespace:
        ET.register_namespace("", namespace[1:-1])  # keep the default namespace, no ns0: prefixes
    body = ET.tostring(root, encoding="unicode")
    return xml_response('<?xml version="1.0" encoding="UTF-8"?>\n' + body)


def s3_list_buckets(state: SandboxState, call: Call) -> Response:
    """ListBuckets answered from moto's buckets, a page at a time."""
    backend: Any = get_backend("s3")[current_account()]["aws"]
    buckets = sorted(backend.buckets.values(), key=lambda b: b.name)
    size_text = (call.query.get("max-buckets") or [None])[0]
    if size_text is None:
        if state.limit("L-DC2B2D3D", "us-east-1") > DEFAULT_BUCKET_QUOTA:
            return error_response(
                "rest-xml",
                400,
                "InvalidRequest",
                "Unpaginated ListBuckets requests are not supported for accounts with a general purpose "
                "bucket quota above 10,000: send MaxBuckets and ContinuationToken.",
            )
        page, next_offset = buckets, None
    else:
        try:
            size = int(size_text)
        except ValueError:
            size = 0
        if not 1 <= size <= 10_000:
            return error_response("rest-xml", 400, "InvalidArgument", "MaxBuckets must be 1 to 10000.")
        start = _offset((call.query.get("continuation-token") or [None])[0], len(buckets))
        if start is None:
            return error_response("rest-xml", 400, "InvalidArgument", "The continuation token is not valid.")
        page = buckets[start : start + size]
        next_offset = start + size if start + size < len(buckets) else None
    entries = "".join(
        f"<Bucket><Name>{escape(b.name)}</Name><CreationDate>{b.creation_date_ISO8601}</CreationDate>"
        f"<BucketRegion>{escape(b.region_name)}</BucketRegion></Bucket>"
        for b in page
    )
    token = f"<ContinuationToken>{_token(next_offset)}</ContinuationToken>" if next_offset is not None else ""
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Owner><ID>{current_account()}</ID><DisplayName>sandbox</DisplayName></Owner>"
        f"<Buckets>{entries}</Buckets>{token}</ListAllMyBucketsResult>"
    )
    response = xml_response(xml)
    response.headers.append(("x-amz-request-id", request_id()))
    return response


LAMBDA_PAGE = 50  # ListFunctions answers at most 50 functions, "even if you set the number higher"


def lambda_list_functions(state: SandboxState, call: Call) -> Response | None:
    """ListFunctions a page at a time (moto answers every function at once)."""
    if (call.query.get("FunctionVersion") or [None])[0] or (call.query.get("MasterRegion") or [None])[0]:
        return None  # versions and Lambda@Edge replicas: moto's own answer
    backend: Any = get_backend("lambda")[current_account()][call.region]
    functions = sorted(backend.list_functions(), key=lambda f: f.function_name)
    size_text = (call.query.get("MaxItems") or [None])[0]
    size = LAMBDA_PAGE
    if size_text is not None:
        try:
            size = int(size_text)
        except ValueError:
            size = 0
        if not 1 <= size <= 10_000:
            return error_response(
                "rest-json", 400, "InvalidParameterValueException", "MaxItems must be 1 to 10000."
            )
    size = min(size, LAMBDA_PAGE)
    start = _offset((call.query.get("Marker") or [None])[0], len(functions))
    if start is None:
        return error_response("rest-json", 400, "InvalidParameterValueException", "The marker is not valid.")
    page = functions[start : start + size]
    payload: dict[str, Any] = {"Functions": [f.get_configuration() for f in page]}
    if start + size < len(functions):
        payload["NextMarker"] = _token(start + size)
    return json_response(payload, protocol="rest-json")
