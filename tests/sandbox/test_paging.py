"""The interfaces and security groups the emulated account writes itself (issue 11: a large account's
listings) are byte for byte what moto's own serialiser answers, cut into the same pages.

Compared where paging answers (`EC2Pages.answer`, moto reached past the layer): the layer's own
rewrites around it (the `interface-type` filter before, Lambda's interfaces marked after) act on the
same request and the same bytes either way. The reference is moto's whole answer cut as the sandbox
cut it before it wrote these items itself: parsed, the page's items kept, re-written (`paging._render`
and `paging._page_response`, which the other listings still use). The account is made varied on
purpose: interfaces of several kinds (attached, Lambda's, a VPC endpoint's, with an Elastic IP, IPv6
addresses, secondary addresses, tags or none) and groups with every kind of rule, text with XML's
special characters, line ends and non-ASCII.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
import zipfile
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder

from preflight.sandbox import Sandbox, lambda_enis, motoserver, paging
from preflight.sandbox.protocol import Call, Response, identify

from .helpers import raw_client

REGION = "us-east-1"
AUTH = (
    f"AWS4-HMAC-SHA256 Credential=sandbox/20261130/{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0"
)
ASSUME = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},'
    '"Action":"sts:AssumeRole"}]}'
)
ODD = "a & b <c> \"d\" 'e' ü €"  # XML's special characters and non-ASCII


def _form(operation: str, params: dict[str, str]) -> bytes:
    return urllib.parse.urlencode({"Action": operation, "Version": "2016-11-15", **params}).encode()


def _through_sandbox(sb: Sandbox, operation: str, params: dict[str, str]) -> tuple[int, bytes]:
    headers = {"Authorization": AUTH, "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    request = urllib.request.Request(sb.endpoint_url, data=_form(operation, params), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _request(operation: str, params: dict[str, str]) -> dict[str, Any]:
    """The WSGI environ of an EC2 query request, in the sandbox's account."""
    headers = {
        "Authorization": AUTH,
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "x-moto-account-id": "123456789012",
    }
    builder = EnvironBuilder(
        "http://127.0.0.1/", method="POST", headers=headers, data=_form(operation, params)
    )
    try:
        return builder.get_environ()
    finally:
        builder.close()


def _moto(environ: dict[str, Any]) -> Response:
    status, headers, body = motoserver.call_wsgi(motoserver.service_app("ec2"), environ)
    return Response(status, headers, body)


def _call(operation: str, params: dict[str, str]) -> Call:
    call = identify(_request(operation, params), _form(operation, params))
    assert call is not None and call.operation == operation
    return call


def _as_paging_answers(operation: str, params: dict[str, str]) -> tuple[int, bytes]:
    """The page the sandbox's paging answers, moto answering behind it as in the sandbox."""
    environ = _request(operation, params)
    answer = paging.EC2Pages().answer(_call(operation, params), lambda: _moto(environ))
    return answer.status, answer.body


def _as_moto_cut_it(operation: str, params: dict[str, str]) -> tuple[int, bytes]:
    """moto's own whole answer to the same question, cut into the page asked as the sandbox cut it before."""
    whole = _moto(
        _request(operation, {k: v for k, v in params.items() if k not in ("MaxResults", "NextToken")})
    )
    if whole.status != 200:
        return whole.status, whole.body
    listing = paging._render(_call(operation, params), whole)
    assert listing is not None
    start = paging._offset(params.get("NextToken"), 2**31) or 0
    size = int(params["MaxResults"]) if "MaxResults" in params else len(listing.items)
    end = min(start + size, len(listing.items))
    token = f"<nextToken>{paging._token(end)}</nextToken>" if end < len(listing.items) else ""
    return 200, paging._page_response(listing, listing.items[start:end], token).body


def _lambda_enis(sb: Sandbox, subnet: str, group: str) -> None:
    """A VPC function: the sandbox makes its Lambda ENI (interface type `lambda`, requester-managed)."""
    role = sb.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=ASSUME)["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("index.py", "def handler(e, c):\n    return 1\n")
    raw_client(sb, "lambda").create_function(
        FunctionName="fn", Runtime="python3.12", Role=role, Handler="index.handler",
        Code={"ZipFile": buffer.getvalue()}, VpcConfig={"SubnetIds": [subnet], "SecurityGroupIds": [group]},
    )  # fmt: skip


def _groups(ec2: Any, vpc: str) -> tuple[str, str]:
    tags = [{"ResourceType": "security-group", "Tags": [{"Key": ODD, "Value": "line\r\nend\rhere"}]}]
    web = ec2.create_security_group(
        GroupName=f"web {ODD}", Description=ODD, VpcId=vpc, TagSpecifications=tags
    )
    db = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)
    web_id, db_id = web["GroupId"], db["GroupId"]
    prefix_list = ec2.create_managed_prefix_list(
        PrefixListName="pl", MaxEntries=5, AddressFamily="IPv4", Entries=[{"Cidr": "10.9.0.0/16"}]
    )["PrefixList"]["PrefixListId"]
    ec2.authorize_security_group_ingress(GroupId=web_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": ODD}, {"CidrIp": "10.1.0.0/16"}],
         "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "v6 \"x\""}]},
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
         "UserIdGroupPairs": [{"GroupId": db_id, "Description": "pair 'd' & <e>"}]},
        {"IpProtocol": "-1", "PrefixListIds": [{"PrefixListId": prefix_list, "Description": "pl"}]},
        {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
        {"IpProtocol": "udp", "FromPort": 1000, "ToPort": 2000, "IpRanges": [{"CidrIp": "10.2.0.0/16"}]},
    ])  # fmt: skip
    ec2.authorize_security_group_ingress(  # the same ports again: moto groups them into one permission
        GroupId=web_id, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                        "IpRanges": [{"CidrIp": "10.3.0.0/16", "Description": ""}]}]
    )  # fmt: skip
    ec2.authorize_security_group_egress(GroupId=web_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 81, "UserIdGroupPairs": [{"GroupId": db_id}]},
    ])  # fmt: skip
    ec2.revoke_security_group_egress(  # a group with no egress rule left
        GroupId=db_id,
        IpPermissions=[
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
        ],
    )
    return web_id, db_id


def _interfaces(sb: Sandbox, ec2: Any, subnet: str, v6_subnet: str, groups: tuple[str, str]) -> list[str]:
    tagged = [{"ResourceType": "network-interface",
               "Tags": [{"Key": "Name", "Value": ODD}, {"Key": "empty", "Value": ""}]}]  # fmt: skip
    made = [
        ec2.create_network_interface(
            SubnetId=subnet, Description=f"{ODD}\r\nsecond line", Groups=list(groups),
            SecondaryPrivateIpAddressCount=2, TagSpecifications=tagged,
        ),
        ec2.create_network_interface(
            SubnetId=subnet,
            PrivateIpAddresses=[{"PrivateIpAddress": "10.3.1.50", "Primary": True},
                                {"PrivateIpAddress": "10.3.1.51", "Primary": False}],
        ),
        ec2.create_network_interface(SubnetId=v6_subnet, Ipv6AddressCount=2, Description=""),
    ]  # fmt: skip
    ids = [m["NetworkInterface"]["NetworkInterfaceId"] for m in made]
    ec2.modify_network_interface_attribute(NetworkInterfaceId=ids[2], SourceDestCheck={"Value": False})
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=allocation, NetworkInterfaceId=ids[1])
    instance = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[groups[1]]
    )["Instances"][0]["InstanceId"]
    ec2.attach_network_interface(NetworkInterfaceId=ids[0], InstanceId=instance, DeviceIndex=1)
    ec2.create_vpc_endpoint(
        VpcId=ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"],
        ServiceName="com.amazonaws.us-east-1.sqs", VpcEndpointType="Interface", SubnetIds=[subnet],
    )  # fmt: skip
    _lambda_enis(sb, subnet, groups[0])
    return ids


@pytest.fixture(scope="module")
def varied() -> Any:
    with Sandbox("fresh-account") as sb:
        ec2 = sb.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.3.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]
        ec2.modify_vpc_attribute(VpcId=vpc["VpcId"], EnableDnsHostnames={"Value": True})
        plain_vpc = ec2.create_vpc(CidrBlock="10.4.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]
        subnet = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.3.1.0/24")["Subnet"]["SubnetId"]
        v6_block = ec2.describe_vpcs(VpcIds=[plain_vpc["VpcId"]])["Vpcs"][0]["Ipv6CidrBlockAssociationSet"][0]
        v6_subnet = ec2.create_subnet(
            VpcId=plain_vpc["VpcId"], CidrBlock="10.4.1.0/24",
            Ipv6CidrBlock=v6_block["Ipv6CidrBlock"].replace("/56", "/64"),
        )["Subnet"]["SubnetId"]  # fmt: skip
        groups = _groups(ec2, vpc["VpcId"])
        _interfaces(sb, ec2, subnet, v6_subnet, groups)
        yield sb, vpc["VpcId"], subnet


def _pages(operation: str, params: dict[str, str]) -> list[bytes]:
    """Every page paging answers, each checked against moto's own answer cut the same way."""
    pages = []
    asked = dict(params)
    while True:
        status, body = _as_paging_answers(operation, asked)
        expected_status, expected = _as_moto_cut_it(operation, asked)
        assert (status, body.decode()) == (expected_status, expected.decode()), f"{operation} {asked}"
        pages.append(body)
        token = body.partition(b"<nextToken>")[2].partition(b"</nextToken>")[0]
        if status != 200 or not token:
            return pages
        asked = {**params, "NextToken": token.decode()}


ENI_QUESTIONS = [
    {},
    {"IncludeManagedResources": "true"},
    {"MaxResults": "5"},
    {"MaxResults": "5", "IncludeManagedResources": "true"},
    {"MaxResults": "1000", "IncludeManagedResources": "true"},
    {"MaxResults": "5", "Filter.1.Name": "subnet-id", "Filter.1.Value.1": "<subnet>"},
    {"MaxResults": "5", "Filter.1.Name": "tag:Name", "Filter.1.Value.1": ODD},
]
GROUP_QUESTIONS = [
    {},
    {"MaxResults": "5"},
    {"MaxResults": "1000"},
    {"MaxResults": "5", "Filter.1.Name": "group-name", "Filter.1.Value.1": "db"},
]


@pytest.mark.parametrize("params", ENI_QUESTIONS, ids=lambda p: str(sorted(p.items())))
def test_network_interfaces_are_what_moto_answers_cut_the_same_way(
    varied: Any, params: dict[str, str]
) -> None:
    asked = {k: v.replace("<subnet>", varied[2]) for k, v in params.items()}
    pages = _pages("DescribeNetworkInterfaces", asked)
    assert b"<item" in b"".join(pages), "the question found no interface: nothing was compared"


@pytest.mark.parametrize("params", GROUP_QUESTIONS, ids=lambda p: str(sorted(p.items())))
def test_security_groups_are_what_moto_answers_cut_the_same_way(varied: Any, params: dict[str, str]) -> None:
    pages = _pages("DescribeSecurityGroups", params)
    pages += _pages(
        "DescribeSecurityGroups", {**params, "Filter.9.Name": "vpc-id", "Filter.9.Value.1": varied[1]}
    )
    assert b"<item" in b"".join(pages)


ENI_MEMBERS = [
    b"<attachment>", b"<association>", b"<ipv6AddressesSet><item>", b"<interfaceType>lambda",
    b"<requesterManaged>true", b"<sourceDestCheck>false", b"<privateDnsName>", b"<tagSet><item>",
    b"<value />", b"<description />", "ü".encode(), b"&amp;", b"&lt;", b"\nsecond line",
]  # fmt: skip
GROUP_MEMBERS = [
    b"<groups><item>", b"<prefixListIds><item>", b"<ipv6Ranges><item>", b"<fromPort>-1",
    b"<ipPermissionsEgress />", b"<tagSet><item>", b"line\nend\nhere", b"<description />",
]  # fmt: skip


def test_the_account_is_as_varied_as_the_comparison_needs(varied: Any) -> None:
    """What the comparisons above are worth: every kind of member moto writes is in the account."""
    sb = varied[0]
    _, enis = _through_sandbox(sb, "DescribeNetworkInterfaces", {"IncludeManagedResources": "true"})
    _, groups = _through_sandbox(sb, "DescribeSecurityGroups", {})
    for member in ENI_MEMBERS:
        assert member in enis, member
    for member in GROUP_MEMBERS:
        assert member in groups, member
    # the endpoint's interface is hidden unless asked for, in pages too
    _, unasked = _through_sandbox(sb, "DescribeNetworkInterfaces", {"MaxResults": "1000"})
    assert unasked.count(b"<networkInterfaceId>") == enis.count(b"<networkInterfaceId>") - 1


def test_errors_and_bad_tokens_are_moto_s_and_the_sandbox_s_as_before(varied: Any) -> None:
    sb = varied[0]
    status, body = _through_sandbox(
        sb, "DescribeNetworkInterfaces", {"NetworkInterfaceId.1": "eni-0000000000"}
    )
    assert status == 400 and b"InvalidNetworkInterfaceID.NotFound" in body
    status, body = _through_sandbox(sb, "DescribeSecurityGroups", {"GroupId.1": "sg-0000000000"})
    assert status == 400 and b"InvalidGroup.NotFound" in body
    status, body = _through_sandbox(sb, "DescribeSecurityGroups", {"MaxResults": "5", "NextToken": "nope"})
    assert status == 400 and b"InvalidNextToken" in body
    status, body = _through_sandbox(sb, "DescribeSecurityGroups", {"MaxResults": "4"})
    assert status == 400 and b"MaxResults must be at least 5" in body


def _members(body: bytes) -> list[tuple[str, str | None, dict[str, str]]]:
    """Every element of an answer in order: (tag, text, attributes), namespaces included."""
    return [(e.tag, e.text, dict(e.attrib)) for e in ET.fromstring(body).iter()]


@pytest.mark.parametrize("params", [{}, {"MaxResults": "5"}, {"IncludeManagedResources": "true"}])
def test_lambda_s_interfaces_are_marked_in_the_text_every_other_byte_kept(
    varied: Any, params: dict[str, str]
) -> None:
    """`mark_in_answer` changes two members of Lambda's interface and nothing else: the items keep
    the namespace declaration they were written with (a parse and re-write dropped it)."""
    sb = varied[0]
    unmarked = _as_paging_answers("DescribeNetworkInterfaces", params)[1]
    (lambda_id,) = sb.state.lambda_interfaces()
    assert lambda_id.encode() in unmarked, "Lambda's interface is not on the page: nothing was compared"
    response = Response(200, [("Content-Length", str(len(unmarked)))], unmarked)
    marked = lambda_enis.mark_in_answer(sb.state, _call("DescribeNetworkInterfaces", params), response).body
    assert marked.count(b"<item xmlns=") == unmarked.count(b"<item xmlns=") > 0
    changed = [(a, b) for a, b in zip(_members(unmarked), _members(marked), strict=True) if a != b]
    assert [(tag.rpartition("}")[2], old, new) for (tag, old, _), (_, new, _) in changed] == [
        ("interfaceType", "interface", "lambda"),
        ("requesterManaged", "false", "true"),
    ]
    assert len(marked) - len(unmarked) == len(b"lambdatrue") - len(b"interfacefalse")
