"""Every reach past moto's documented surface is an optional accelerator (issue 12 item 5).

The same questions are asked with the accelerators on and with the documented path forced
(`accelerators.DOCUMENTED_ONLY`, what `TAP_SANDBOX_MOTO_DOCUMENTED_ONLY=1` sets), and where moto is
made to look unlike what an accelerator expects (its probe fails, or moto's objects raise under it):
the answers are the same bytes, the account the same resources, the check the same findings.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from preflight.sandbox import Sandbox, accelerators, motoserver, paging
from preflight.sandbox.protocol import Response

from .test_paging import ENI_QUESTIONS, GROUP_QUESTIONS, _call, _request, varied  # noqa: F401

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def fresh_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test probes moto anew, and what it drops stays within it."""
    monkeypatch.setattr(accelerators, "_VERDICTS", {})
    monkeypatch.setattr(accelerators, "DOCUMENTED_ONLY", False)


def _documented(monkeypatch: pytest.MonkeyPatch, on: bool) -> None:
    monkeypatch.setattr(accelerators, "DOCUMENTED_ONLY", on)


def _counted(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    """Calls of `owner.name` from now on, counted (the path taken, seen)."""
    calls: list[int] = []
    original = getattr(owner, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls


# --- EC2 listings cut in moto's backend ---------------------------------------------------------------


def _moto_answers(operation: str, params: dict[str, str]) -> Callable[[], Response]:
    """moto's answer to the request, as often as paging asks (a fresh request each time)."""

    def forward() -> Response:
        status, headers, body = motoserver.call_wsgi(
            motoserver.service_app("ec2"), _request(operation, params)
        )
        return Response(status, headers, body)

    return forward


def _ec2_pages(operation: str, params: dict[str, str]) -> list[bytes]:
    """Every page paging answers to the question (status and body), following its tokens."""
    pages, asked = [], dict(params)
    while True:
        answered = paging.EC2Pages().answer(_call(operation, asked), _moto_answers(operation, asked))
        pages.append(f"{answered.status} ".encode() + answered.body)
        token = answered.body.partition(b"<nextToken>")[2].partition(b"</nextToken>")[0]
        if answered.status != 200 or not token:
            return pages
        asked = {**params, "NextToken": token.decode()}


QUESTIONS = [("DescribeNetworkInterfaces", q) for q in ENI_QUESTIONS] + [
    ("DescribeSecurityGroups", q) for q in GROUP_QUESTIONS
]


def _asked(varied: Any, params: dict[str, str]) -> dict[str, str]:  # noqa: F811
    return {k: v.replace("<subnet>", varied[2]) for k, v in params.items()}


@pytest.mark.parametrize(("operation", "params"), QUESTIONS, ids=lambda q: str(q))
def test_ec2_listings_are_the_same_bytes_on_the_documented_path(
    varied: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    operation: str,
    params: dict[str, str],
) -> None:
    asked = _asked(varied, params)
    rendered = _counted(monkeypatch, paging, "_cut_rendered")
    fast = _ec2_pages(operation, asked)
    assert not rendered, "the accelerator did not answer: nothing was compared"
    _documented(monkeypatch, True)
    assert _ec2_pages(operation, asked) == fast
    assert rendered, "the documented path did not answer"
    assert b"<item" in b"".join(fast)


def test_ec2_listings_fall_back_where_moto_is_not_shaped_as_expected(
    varied: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backend method without the parameters the probe expects; an interface without a member."""
    questions = [("DescribeNetworkInterfaces", {"MaxResults": "5"}), ("DescribeSecurityGroups", {})]
    expected = [_ec2_pages(op, params) for op, params in questions]
    assert accelerators.usable(paging.EC2_CUT, lambda: False), "the accelerator was not on to begin with"

    monkeypatch.setattr(accelerators, "_VERDICTS", {})
    changed = {**paging.SLICED_PARAMETERS, "describe_security_groups": ("group_ids", "a_new_parameter")}
    monkeypatch.setattr(paging, "SLICED_PARAMETERS", changed)
    assert [_ec2_pages(op, params) for op, params in questions] == expected
    assert not accelerators.usable(paging.EC2_CUT, lambda: True)

    monkeypatch.setattr(accelerators, "_VERDICTS", {})
    monkeypatch.setattr(paging, "SLICED_PARAMETERS", {**paging.SLICED_PARAMETERS})

    def renamed_member(eni: Any) -> str:
        return str(eni.a_member_moto_renamed)

    monkeypatch.setitem(paging.ITEM_WRITERS, "DescribeNetworkInterfaces", renamed_member)
    assert _ec2_pages(*questions[0]) == expected[0]
    assert not accelerators.usable(paging.EC2_CUT, lambda: True), "the failed accelerator was kept"


# --- S3 and Lambda listings read from moto's backends -------------------------------------------------


def _get(sb: Sandbox, service: str, path: str) -> bytes:
    auth = (
        f"AWS4-HMAC-SHA256 Credential=sandbox/20261130/{REGION}/{service}/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )
    request = urllib.request.Request(sb.endpoint_url + path, headers={"Authorization": auth})
    try:
        with urllib.request.urlopen(request, timeout=30) as answered:
            return f"{answered.status} ".encode() + answered.read()
    except urllib.error.HTTPError as error:
        return f"{error.code} ".encode() + error.read()


def _bucket_pages(sb: Sandbox) -> list[bytes]:
    pages, token = [_get(sb, "s3", "/")], ""
    while True:
        query = urllib.parse.urlencode(
            {"max-buckets": "2", **({"continuation-token": token} if token else {})}
        )
        pages.append(_get(sb, "s3", f"/?{query}"))
        token = pages[-1].partition(b"<ContinuationToken>")[2].partition(b"</ContinuationToken>")[0].decode()
        if not token:
            return pages


def _function_pages(sb: Sandbox) -> list[bytes]:
    pages, marker = [_get(sb, "lambda", "/2015-03-31/functions/?Marker=bad")], ""
    while True:
        query = urllib.parse.urlencode({"MaxItems": "2", **({"Marker": marker} if marker else {})})
        pages.append(_get(sb, "lambda", f"/2015-03-31/functions/?{query}"))
        marker = json.loads(pages[-1].partition(b" ")[2]).get("NextMarker", "")
        if not marker:
            return pages


@pytest.fixture(scope="module")
def listed(varied: Any) -> Any:  # noqa: F811
    """The varied account with buckets in two regions and functions to page through."""
    sb = varied[0]
    for name, region in (
        ("b-one", REGION),
        ("a-two", "eu-west-1"),
        ("c-three", REGION),
        ("d-4", "us-west-2"),
    ):
        where = {} if region == REGION else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        sb.client("s3").create_bucket(Bucket=name, **where)
    role = sb.client("iam").get_role(RoleName="fn")["Role"]["Arn"]
    for name in ("zeta", "alpha", "mid"):
        sb.client("lambda").create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler",
            Code={"ZipFile": _zip()}, Description=f"ü {name}",
        )  # fmt: skip
    return sb


def _zip() -> bytes:
    from preflight.sandbox.target import code_zip

    return code_zip()


def test_bucket_and_function_listings_are_the_same_bytes_on_the_documented_path(
    listed: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    through_api = _counted(monkeypatch, motoserver, "written")
    buckets, functions = _bucket_pages(listed), _function_pages(listed)
    assert not through_api, "the accelerator did not answer ListFunctions"
    assert len(buckets) >= 3 and b"<BucketRegion>eu-west-1" in b"".join(buckets)
    assert len(functions) >= 3 and b'"FunctionName": "alpha"' in functions[1]
    assert functions[0].startswith(b"400 ")  # a marker not ours
    _documented(monkeypatch, True)
    assert _bucket_pages(listed) == buckets
    assert _function_pages(listed) == functions
    assert through_api, "the documented path did not answer ListFunctions"


def test_bucket_and_function_listings_fall_back_where_moto_s_backends_raise(
    listed: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    buckets, functions = _bucket_pages(listed), _function_pages(listed)

    def moved() -> Any:
        raise AttributeError("'S3Backend' object has no attribute 'buckets'")

    monkeypatch.setattr(paging, "_buckets_in_backend", moved)
    assert _bucket_pages(listed) == buckets
    assert not accelerators.usable(paging.MOTO_LISTINGS, lambda: True), "the failed accelerator was kept"
    assert _function_pages(listed) == functions
