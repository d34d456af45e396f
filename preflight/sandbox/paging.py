"""Paging as AWS does it, where moto answers everything in one page, and what AWS hides unless asked.

- EC2 `Describe*` listings: `MaxResults` (5-1,000) and `NextToken` are honoured. A call without
  `MaxResults` gets every item: EC2's pagination guide says only that unpaginated calls on large
  accounts "might be throttled and could time out", and documents no refusal, so none is invented.
  Paging costs the page, not the account: interfaces and security groups (the listings a large
  account has thousands of) are cut in moto's backend, and the page's items are written straight from
  moto's objects, byte for byte what moto's serialiser wrote for them (moto still answers the rest:
  its parameters, filters, errors); the other listings are rendered once per page chain, whose
  NextToken names the rendered items kept. The cut is an accelerator (accelerators.py): where moto
  is not shaped as it expects, moto's whole answer is cut instead, to the same bytes and tokens.
- `DescribeNetworkInterfaces` leaves out the interfaces AWS services manage (here: those of VPC
  endpoints) unless `IncludeManagedResources=true`.
- S3 `ListBuckets`: `MaxBuckets` (1-10,000) and `ContinuationToken`; an unpaginated call is rejected
  when the account's general purpose bucket quota is above 10,000 (the S3 user guide's rule).
- Lambda `ListFunctions`: at most 50 functions a page whatever `MaxItems` asks (1-10,000), then
  `NextMarker` (the Lambda API reference).
  Both read moto's backends (an accelerator), else moto's own answer to the whole listing.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from xml.sax.saxutils import escape

from botocore import xform_name
from botocore.utils import parse_to_aware_datetime

from preflight.sandbox import accelerators, motoserver
from preflight.sandbox.protocol import (
    Call,
    Response,
    error_response,
    json_response,
    request_id,
    xml_response,
)
from preflight.sandbox.state import SandboxState, current_account

# Listings cut before moto serialises them: operation -> the EC2 backend's method listing the items,
# and the parameters it is known to take (the accelerator's probe checks them).
SLICED = {
    "DescribeNetworkInterfaces": "get_all_network_interfaces",
    "DescribeSecurityGroups": "describe_security_groups",
}
SLICED_PARAMETERS = {
    "get_all_network_interfaces": ("eni_ids", "filters"),
    "describe_security_groups": ("group_ids", "groupnames", "filters"),
}
EC2_CUT = "EC2 listings cut in moto's backend"  # the accelerator's name (accelerators.py)
MOTO_LISTINGS = "S3 and Lambda listings read from moto's backends"
_T = TypeVar("_T")
CHAINS_KEPT = 32  # page chains whose rendered items are kept (oldest dropped first)
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
    """The network interfaces of the region's VPC endpoints (AWS manages them), as EC2 reports them."""
    ec2 = motoserver.client("ec2", region)
    pages = ec2.get_paginator("describe_vpc_endpoints").paginate()
    return {eni for page in pages for e in page["VpcEndpoints"] for eni in e.get("NetworkInterfaceIds") or []}


@dataclass(frozen=True)
class _Listing:
    """moto's whole answer to one listing, cut where its items go: head + items[a:b] + tail."""

    key: tuple[object, ...]  # what the chain was asked: a token is honoured only for the same question
    head: str
    items: tuple[str, ...]
    tail: str
    namespace: str


def _question(call: Call) -> tuple[object, ...]:
    asked = tuple(sorted((k, v) for k, v in call.params.items() if k not in ("NextToken", "MaxResults")))
    return (motoserver.generation(), current_account(), call.region, call.operation, asked)


def _render(call: Call, response: Response, *, hide_managed: bool = True) -> _Listing | None:
    """Cut moto's answer into its items (serialised once each) and what surrounds them."""
    root = ET.fromstring(response.body)
    namespace = root.tag[1 : root.tag.index("}")] if root.tag.startswith("{") else ""
    holder = _child(root, EC2_LISTINGS[call.operation])
    if holder is None:
        return None
    items = list(holder)
    if (
        hide_managed
        and call.operation == "DescribeNetworkInterfaces"
        and call.params.get("IncludeManagedResources") != "true"
    ):
        hidden = _managed_enis(call.region)
        prefix = f"{{{namespace}}}" if namespace else ""
        items = [i for i in items if i.findtext(f"{prefix}networkInterfaceId") not in hidden]
    for child in list(holder):
        holder.remove(child)
    for old in [c for c in root if _local(c.tag) == "nextToken"]:
        root.remove(old)
    marker = "\x00items\x00"
    holder.text = marker
    options = {"default_namespace": namespace} if namespace else {}
    head, _, tail = ET.tostring(root, encoding="unicode", **options).partition(marker)
    rendered = tuple(ET.tostring(i, encoding="unicode", **options) for i in items)
    return _Listing(_question(call), head, rendered, tail, namespace)


def _page_response(listing: _Listing, items: tuple[str, ...], token_xml: str) -> Response:
    close = listing.tail.rindex("</")  # the root's closing tag: the token goes just before it
    body = listing.head + "".join(items) + listing.tail[:close] + token_xml + listing.tail[close:]
    return xml_response('<?xml version="1.0" encoding="UTF-8"?>\n' + body)


def _chain_token(chain: int, offset: int) -> str:
    return base64.urlsafe_b64encode(f"chain:{chain}:{offset}".encode()).decode()


def _chain_of(token: str | None) -> tuple[int, int] | None:
    """(chain, offset) of one of our chain tokens; None otherwise."""
    if not token:
        return None
    try:
        kind, chain, offset = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        return (int(chain), int(offset)) if kind == "chain" else None
    except ValueError:
        return None


_PATCH_LOCK = threading.Lock()
_SLICE = threading.local()  # the page a request on this thread asks of a SLICED backend listing


def _ec2_backend_shaped() -> bool:
    """The accelerator's probe: moto's EC2 backend lists interfaces and groups as it expects."""
    from moto.ec2.models import EC2Backend

    return all(accelerators.has_parameters(EC2Backend, m, p) for m, p in SLICED_PARAMETERS.items())


def _sliced(method: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    """A backend listing that, inside a cut request, keeps that request's page (`_SLICE.page`) for the
    sandbox to write and gives moto none to serialise: moto still parses, filters and answers errors.
    Items not shaped as expected are left to moto whole (`_SLICE.failed`: the documented path)."""

    @functools.wraps(method)
    def listing(self: Any, *args: Any, **kwargs: Any) -> list[Any]:
        items = method(self, *args, **kwargs)
        asked = getattr(_SLICE, "asked", None)
        if asked is None:
            return items
        _SLICE.asked = None  # only the request's own listing is cut, not a later one moto makes
        start, size, hidden = asked
        try:
            kept = [i for i in items if i.id not in hidden] if hidden else list(items)
        except accelerators.SHAPE_ERRORS as error:
            _SLICE.failed = error
            return items
        _SLICE.total = len(kept)
        _SLICE.page = kept[start:] if size is None else kept[start : start + size]
        return []

    return listing


def _rendered(call: Call, forward: Callable[[], Response]) -> _Listing | Response:
    """moto's whole answer to the listing, its items rendered; moto's answer itself when it is an error
    or holds no listing."""
    response = forward()
    if response.status != 200:
        return response
    return _render(call, response) or response


def _cut_rendered(call: Call, start: int, size: int | None, forward: Callable[[], Response]) -> Response:
    """The documented path: moto answers the whole listing, the page is cut from its rendered answer
    (the same bytes and offset tokens as the accelerator's)."""
    listing = _rendered(call, forward)
    if isinstance(listing, Response):
        return listing
    total = len(listing.items)
    if start > total:
        return error_response("ec2", 400, "InvalidNextToken", "The token is not valid.")
    end = total if size is None else min(start + size, total)
    token_xml = f"<nextToken>{_token(end)}</nextToken>" if end < total else ""
    return _page_response(listing, listing.items[start:end], token_xml)


# Interfaces and security groups written from moto's objects: what moto's EC2 serialiser writes for
# them (each member from the attribute its value picker finds first, in the model's order, empty lists
# as an empty element, None left out), as `_render` then re-writes it with ElementTree (text escaped
# &, <, > only; line ends read as an XML parser reads them; an empty element as `<name />`).
def _text(value: object) -> str:
    text = str(value)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return escape(text)


def _string(name: str, value: object) -> str:
    if value is None:
        return ""
    text = _text(value)
    return f"<{name}>{text}</{name}>" if text else f"<{name} />"


def _boolean(name: str, value: object) -> str:
    if value is None:
        return ""
    return f"<{name}>{'true' if value is True or str(value).lower() == 'true' else 'false'}</{name}>"


def _integer(name: str, value: Any) -> str:
    return "" if value is None else f"<{name}>{int(value)}</{name}>"


def _timestamp(name: str, value: Any) -> str:
    if value is None:
        return ""
    return f"<{name}>{parse_to_aware_datetime(value).strftime('%Y-%m-%dT%H:%M:%S.000Z')}</{name}>"


def _struct(name: str, members: str) -> str:
    return f"<{name}>{members}</{name}>" if members else f"<{name} />"


def _items(name: str, rendered: Iterable[str]) -> str:
    """A list: its non-empty items; none at all is an empty element."""
    return _struct(name, "".join(f"<item>{item}</item>" for item in rendered if item))


_WRITERS = {"s": _string, "b": _boolean, "i": _integer}
_Fields = tuple[tuple[str, tuple[str, ...], Callable[[str, Any], str]], ...]


def _fields(*members: tuple[str, str, str]) -> _Fields:
    """(member, wire name, kind) of a dict-held structure -> the keys moto's picker tries, in its order."""
    return tuple(
        (wire, tuple(dict.fromkeys((member, xform_name(member), wire, xform_name(wire)))), _WRITERS[kind])
        for member, wire, kind in members
    )


def _from_dict(item: object, fields: _Fields) -> str:
    if not isinstance(item, Mapping):
        return ""  # moto's picker finds nothing in it: an empty item, left out
    parts = []
    for wire, keys, write in fields:
        key = next((k for k in keys if k in item), None)
        parts.append("" if key is None else write(wire, item[key]))
    return "".join(parts)


_ASSOCIATION = _fields(
    ("AllocationId", "allocationId", "s"), ("AssociationId", "associationId", "s"),
    ("IpOwnerId", "ipOwnerId", "s"), ("PublicDnsName", "publicDnsName", "s"), ("PublicIp", "publicIp", "s"),
    ("CustomerOwnedIp", "customerOwnedIp", "s"), ("CarrierIp", "carrierIp", "s"),
)  # fmt: skip
_PRIVATE_IP = _fields(
    ("Primary", "primary", "b"), ("PrivateDnsName", "privateDnsName", "s"),
    ("PrivateIpAddress", "privateIpAddress", "s"),
)  # fmt: skip
_PRIVATE_IP_ASSOCIATION = (
    "NetworkInterfaceAssociation",
    "network_interface_association",
    "Association",
    "association",
)
_IPV6_ADDRESS = _fields(
    ("Ipv6Address", "ipv6Address", "s"), ("PublicIpv6DnsName", "publicIpv6DnsName", "s"),
    ("IsPrimaryIpv6", "isPrimaryIpv6", "b"),
)  # fmt: skip
_GROUP_PAIR = _fields(
    ("Description", "description", "s"), ("UserId", "userId", "s"), ("GroupName", "groupName", "s"),
    ("GroupId", "groupId", "s"), ("VpcId", "vpcId", "s"),
    ("VpcPeeringConnectionId", "vpcPeeringConnectionId", "s"), ("PeeringStatus", "peeringStatus", "s"),
)  # fmt: skip
_IP_RANGE = _fields(("Description", "description", "s"), ("CidrIp", "cidrIp", "s"))
_IPV6_RANGE = _fields(("Description", "description", "s"), ("CidrIpv6", "cidrIpv6", "s"))
_PREFIX_LIST = _fields(("Description", "description", "s"), ("PrefixListId", "prefixListId", "s"))


def _private_ip(item: object) -> str:
    if not isinstance(item, Mapping):
        return ""
    key = next((k for k in _PRIVATE_IP_ASSOCIATION if k in item), None)
    association = (
        ""
        if key is None or item[key] is None
        else _struct("association", _from_dict(item[key], _ASSOCIATION))
    )
    return association + _from_dict(item, _PRIVATE_IP)


def _tag_set(resource: Any) -> str:
    """Its tags, found by id in the backend's tag map (moto scans every tag of the account for them)."""
    resource_id = resource.id
    if not resource_id:
        pairs: Iterable[tuple[str, str]] = ()
    elif any(c in resource_id for c in "*?["):  # moto matches the id as a pattern: let it
        pairs = [(t["key"], t["value"]) for t in resource.get_tags()]
    else:
        pairs = resource.ec2_backend.tags.get(resource_id, {}).items()
    return _items("tagSet", (_string("key", k) + _string("value", v) for k, v in pairs))


def _attachment(attachment: Any) -> str:
    if attachment is None:
        return ""
    return _struct(
        "attachment",
        _timestamp("attachTime", attachment.attach_time)
        + _string("attachmentId", attachment.attachment_id)
        + _boolean("deleteOnTermination", attachment.delete_on_termination)
        + _integer("deviceIndex", attachment.device_index)
        + _integer("networkCardIndex", attachment.network_card_index)
        + _string("instanceId", attachment.instance_id)
        + _string("instanceOwnerId", attachment.instance_owner_id)
        + _string("status", attachment.status),
    )


def _interface(eni: Any) -> str:
    """One network interface's members (moto: NetworkInterface under the NetworkInterface shape)."""
    association = eni.association
    return (
        (
            ""
            if association in (None, "", {}, [])
            else _struct("association", _from_dict(association, _ASSOCIATION))
        )
        + _attachment(eni.attachment)
        + _string("availabilityZone", eni.availability_zone)
        + _string("description", eni.description)
        + _items(
            "groupSet",
            (_string("groupId", g.group_id) + _string("groupName", g.group_name) for g in eni.group_set),
        )
        + _string("interfaceType", eni.interface_type)
        + _items(
            "ipv6AddressesSet",
            (_from_dict(a, _IPV6_ADDRESS) for a in eni.network_interface_ipv6_addresses_list),
        )
        + _string("macAddress", eni.mac_address)
        + _string("networkInterfaceId", eni.id)
        + _string("ownerId", eni.owner_id)
        + _string("privateDnsName", getattr(eni, "private_dns_name", None))
        + _string("privateIpAddress", eni.private_ip_address)
        + _items("privateIpAddressesSet", map(_private_ip, eni.private_ip_addresses))
        + _string("requesterId", eni.requester_id)
        + _boolean("requesterManaged", eni.requester_managed)
        + _boolean("sourceDestCheck", eni.source_dest_check)
        + _string("status", eni.status)
        + _string("subnetId", eni.subnet_id)
        + _tag_set(eni)
        + _string("vpcId", eni.vpc_id)
    )


def _permission(view: Any) -> str:
    """One IpPermission (moto: a rule view of a group's rules grouped by protocol and ports)."""
    return (
        _string("ipProtocol", view.ip_protocol)
        + _integer("fromPort", view.from_port)
        + _integer("toPort", view.to_port)
        + _items("groups", (_from_dict(p, _GROUP_PAIR) for p in view.user_id_group_pairs))
        + _items("ipRanges", (_from_dict(r, _IP_RANGE) for r in view.ip_ranges))
        + _items("ipv6Ranges", (_from_dict(r, _IPV6_RANGE) for r in view.ipv6_ranges))
        + _items("prefixListIds", (_from_dict(p, _PREFIX_LIST) for p in view.prefix_list_ids))
    )


def _security_group(group: Any) -> str:
    """One security group's members (moto: SecurityGroup under the SecurityGroup shape)."""
    return (
        _string("groupId", group.group_id)
        + _items("ipPermissionsEgress", map(_permission, group.ip_permissions_egress))
        + _tag_set(group)
        + _string("vpcId", group.vpc_id)
        + _string("securityGroupArn", group.arn)
        + _string("ownerId", group.owner_id)
        + _string("groupName", group.group_name)
        + _string("groupDescription", group.description)
        + _items("ipPermissions", map(_permission, group.ip_permissions))
    )


# How each cut listing's items are written, by operation.
ITEM_WRITERS: dict[str, Callable[[Any], str]] = {
    "DescribeNetworkInterfaces": _interface,
    "DescribeSecurityGroups": _security_group,
}


class EC2Pages:
    """EC2 listings a page at a time, each chain rendered by moto once (see the module docstring)."""

    def __init__(self) -> None:
        self._chains: OrderedDict[int, _Listing] = OrderedDict()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def answer(self, call: Call, forward: Callable[[], Response]) -> Response:
        size = self._size(call)
        if isinstance(size, Response):
            return size
        token = call.params.get("NextToken")
        if call.operation in SLICED and (size is not None or not token):
            return self._cut(call, size, forward)
        resumed = _chain_of(token)
        listing = self._resume(call, resumed)
        if token and resumed is None:
            return error_response("ec2", 400, "InvalidNextToken", "The token is not valid.")
        if listing is None:
            listing = _rendered(call, forward)
            if isinstance(listing, Response):
                return listing
        start = resumed[1] if resumed else 0
        if not 0 <= start <= len(listing.items):
            return error_response("ec2", 400, "InvalidNextToken", "The token is not valid.")
        end = len(listing.items) if size is None else min(start + size, len(listing.items))
        token_xml = ""
        if end < len(listing.items):
            chain = resumed[0] if resumed and self._has(resumed[0]) else self._keep(listing)
            token_xml = f"<nextToken>{_chain_token(chain, end)}</nextToken>"
        return _page_response(listing, listing.items[start:end], token_xml)

    def _cut(self, call: Call, size: int | None, forward: Callable[[], Response]) -> Response:
        """A page (size None: every item) of a SLICED listing, with offset tokens: cut in moto's backend
        where moto is shaped as expected (an accelerator), else cut from moto's whole answer."""
        token = call.params.get("NextToken")
        start = _offset(token, 2**31) if token else 0
        if start is None:
            return error_response("ec2", 400, "InvalidNextToken", "The token is not valid.")
        if accelerators.usable(EC2_CUT, _ec2_backend_shaped):
            try:
                return self._cut_in_backend(call, start, size, forward)
            except accelerators.SHAPE_ERRORS as error:
                accelerators.drop(EC2_CUT, error)
        return _cut_rendered(call, start, size, forward)

    def _cut_in_backend(
        self, call: Call, start: int, size: int | None, forward: Callable[[], Response]
    ) -> Response:
        """The page cut in moto's backend, its items written by the sandbox (the accelerator)."""
        self._patch_backend()
        hidden: set[str] = set()
        if (
            call.operation == "DescribeNetworkInterfaces"
            and call.params.get("IncludeManagedResources") != "true"
        ):
            hidden = _managed_enis(call.region)
        _SLICE.asked, _SLICE.total, _SLICE.page, _SLICE.failed = (start, size, hidden), None, None, None
        try:
            response = forward()
            total, page, failed = _SLICE.total, _SLICE.page, _SLICE.failed
        finally:
            _SLICE.asked = _SLICE.page = _SLICE.failed = None
        if failed is not None:
            raise failed  # moto's objects were not as expected: moto answered them whole, uncut
        if response.status != 200 or total is None:
            return response
        if start > total:
            return error_response("ec2", 400, "InvalidNextToken", "The token is not valid.")
        listing = _render(call, response, hide_managed=False)  # moto's answer around no items
        if listing is None:
            return response
        write = ITEM_WRITERS[call.operation]
        opening = f'<item xmlns="{listing.namespace}">' if listing.namespace else "<item>"
        items = tuple(f"{opening}{write(item)}</item>" for item in page)
        token_xml = ""
        if size is not None and start + size < total:
            token_xml = f"<nextToken>{_token(start + size)}</nextToken>"
        return _page_response(listing, items, token_xml)

    _patched = False

    @classmethod
    def _patch_backend(cls) -> None:
        with _PATCH_LOCK:
            if cls._patched:
                return
            from moto.ec2.models import EC2Backend

            for name in SLICED.values():
                setattr(EC2Backend, name, _sliced(getattr(EC2Backend, name)))
            cls._patched = True

    @staticmethod
    def _size(call: Call) -> int | Response | None:
        """MaxResults as EC2 bounds it (None: unpaginated, every item)."""
        size_text = call.params.get("MaxResults")
        if size_text is None:
            return None
        try:
            size = int(size_text)
        except ValueError:
            size = -1
        low = 1 if call.operation == "DescribeVpcEndpoints" else 5
        if size < low:
            return error_response(
                "ec2", 400, "InvalidParameterValue", f"MaxResults must be at least {low}: {size_text}"
            )
        return min(size, 1000)

    def _resume(self, call: Call, resumed: tuple[int, int] | None) -> _Listing | None:
        if resumed is None:
            return None
        with self._lock:
            listing = self._chains.get(resumed[0])
        # Another question's token, or a chain dropped since: moto answers afresh and the offset holds.
        return listing if listing is not None and listing.key == _question(call) else None

    def _has(self, chain: int) -> bool:
        with self._lock:
            return chain in self._chains

    def _keep(self, listing: _Listing) -> int:
        with self._lock:
            chain = next(self._ids)
            self._chains[chain] = listing
            while len(self._chains) > CHAINS_KEPT:
                self._chains.popitem(last=False)
            return chain


def _backends_shaped() -> bool:
    """The listings' accelerator's probe: moto's backends are reachable as it expects."""
    from moto.backends import get_backend

    return callable(get_backend)


def _from_backend_or_api(fast: Callable[[], _T], documented: Callable[[], _T]) -> _T:
    """`fast` (moto's backends: no answer rendered and parsed) where moto is shaped as expected, else
    `documented` (moto's AWS API): the same value either way."""
    if accelerators.usable(MOTO_LISTINGS, _backends_shaped):
        try:
            return fast()
        except accelerators.SHAPE_ERRORS as error:
            accelerators.drop(MOTO_LISTINGS, error)
    return documented()


_Bucket = tuple[str, str, str]  # name, creation date as S3 writes it, region


def _buckets_in_backend() -> list[_Bucket]:
    from moto.backends import get_backend

    backend: Any = get_backend("s3")[current_account()]["aws"]
    return sorted((b.name, b.creation_date_ISO8601, b.region_name) for b in backend.buckets.values())


def _buckets_through_api() -> list[_Bucket]:
    s3 = motoserver.client("s3", "us-east-1")
    found = []
    for bucket in s3.list_buckets()["Buckets"]:  # moto answers every bucket at once
        name = bucket["Name"]
        region = bucket.get("BucketRegion") or (
            s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        )
        found.append((name, bucket["CreationDate"].strftime("%Y-%m-%dT%H:%M:%S.000Z"), region))
    return sorted(found)


def s3_list_buckets(state: SandboxState, call: Call) -> Response:
    """ListBuckets answered from moto's buckets, a page at a time."""
    buckets = _from_backend_or_api(_buckets_in_backend, _buckets_through_api)
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
        f"<Bucket><Name>{escape(name)}</Name><CreationDate>{created}</CreationDate>"
        f"<BucketRegion>{escape(region)}</BucketRegion></Bucket>"
        for name, created, region in page
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
_FunctionPage = tuple[int, list[dict[str, Any]]]  # how many functions, the page's configurations


def _function_page(region: str, start: int, size: int) -> _FunctionPage:
    """The region's functions in name order: their number and the configurations of [start:start+size]."""

    def in_backend() -> _FunctionPage:
        from moto.backends import get_backend

        backend: Any = get_backend("lambda")[current_account()][region]
        functions = sorted(backend.list_functions(), key=lambda f: f.function_name)
        return len(functions), [f.get_configuration() for f in functions[start : start + size]]

    def through_api() -> _FunctionPage:
        listed = json.loads(motoserver.written("lambda", region, "list_functions"))["Functions"]
        listed.sort(key=lambda f: f["FunctionName"])  # moto answers every function at once
        return len(listed), listed[start : start + size]

    return _from_backend_or_api(in_backend, through_api)


def lambda_list_functions(state: SandboxState, call: Call) -> Response | None:
    """ListFunctions a page at a time (moto answers every function at once)."""
    if (call.query.get("FunctionVersion") or [None])[0] or (call.query.get("MasterRegion") or [None])[0]:
        return None  # versions and Lambda@Edge replicas: moto's own answer
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
    start = _offset((call.query.get("Marker") or [None])[0], 2**31)
    total, configurations = (0, []) if start is None else _function_page(call.region, start, size)
    if start is None or start > total:
        return error_response("rest-json", 400, "InvalidParameterValueException", "The marker is not valid.")
    payload: dict[str, Any] = {"Functions": configurations}
    if start + size < total:
        payload["NextMarker"] = _token(start + size)
    return json_response(payload, protocol="rest-json")
