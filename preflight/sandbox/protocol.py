"""Reading an AWS request off the wire, and writing AWS-shaped answers in each wire protocol.

A request is identified without trusting the Host header (every client talks to 127.0.0.1):
- the service and region come from the SigV4 credential scope (``.../us-east-1/servicequotas/aws4_request``),
  in the Authorization header or, for presigned URLs, the ``X-Amz-Credential`` query parameter;
- the operation from ``X-Amz-Target`` (JSON protocols), ``Action=`` (query and EC2 protocols), the
  ``/service/X/operation/Op`` path (Smithy RPC v2 CBOR), or else by matching the method and path
  against the ``requestUri`` templates of botocore's model (REST protocols: Lambda, S3).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.loaders
import botocore.model

from preflight.account.aws import model_file_loader

# SigV4 signing names that differ from botocore's service names (the names the call log uses).
SIGNING_TO_SERVICE = {
    "servicequotas": "service-quotas",
    "monitoring": "cloudwatch",
    "states": "stepfunctions",
    "email": "ses",
    "execute-api": "apigateway",
    "elasticfilesystem": "efs",
    "elasticmapreduce": "emr",
    "tagging": "resourcegroupstaggingapi",
    "es": "opensearch",
}

Protocol = str  # "json" | "query" | "ec2" | "rest-json" | "rest-xml" | "cbor"


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def status_line(self) -> str:
        from http import HTTPStatus

        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Unknown"
        return f"{self.status} {phrase}"


@dataclass
class Call:
    """One AWS API request, as far as the sandbox needs to know it."""

    service: str  # botocore service name, e.g. "service-quotas"
    region: str
    operation: str  # "" when it could not be told
    protocol: Protocol
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    # The parameters as the client sent them, when the layer rewrote the request for moto.
    original_params: dict[str, str] | None = None

    @property
    def key(self) -> str:
        return f"{self.service}:{self.operation or 'Unknown'}"

    @cached_property
    def json(self) -> dict[str, Any]:
        """The JSON request body (JSON and REST-JSON protocols); {} when absent or not an object."""
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    @cached_property
    def params(self) -> dict[str, str]:
        """Query/EC2 protocol parameters (query string and form body), first value of each."""
        merged = {k: v[0] for k, v in self.query.items() if v}
        ctype = self.headers.get("content-type", "")
        if self.body and ctype.startswith("application/x-www-form-urlencoded"):
            form = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
            merged.update({k: v[0] for k, v in form.items() if v})
        return merged


def _credential_scope(auth: str, query: dict[str, list[str]]) -> tuple[str, str] | None:
    """(region, signing name) from a SigV4 Authorization header or presigned query."""
    cred = ""
    match = re.search(r"Credential=([^,\s]+)", auth or "")
    if match:
        cred = match.group(1)
    elif query.get("X-Amz-Credential"):
        cred = query["X-Amz-Credential"][0]
    parts = cred.split("/")
    if len(parts) < 5:
        return None
    return parts[-3], parts[-2]


def _headers_of(environ: dict[str, Any]) -> dict[str, str]:
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
    if "CONTENT_TYPE" in environ:
        headers["content-type"] = environ["CONTENT_TYPE"]
    return headers


def identify(environ: dict[str, Any], body: bytes) -> Call | None:
    """The AWS call this request is, or None for a request that is not a signed AWS call."""
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    headers = _headers_of(environ)
    scope = _credential_scope(headers.get("authorization", ""), query)
    if scope is None:
        return None
    region, signing = scope
    service = SIGNING_TO_SERVICE.get(signing.lower(), signing.lower())
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "") or "/"
    call = Call(service, region, "", "rest-json", method, path, query, body, headers)

    target = headers.get("x-amz-target")
    if target:
        call.protocol = "json"
        call.operation = target.rsplit(".", 1)[-1]
        return call
    if headers.get("smithy-protocol", "").startswith("rpc-v2-cbor"):
        call.protocol = "cbor"
        call.operation = path.rstrip("/").rsplit("/", 1)[-1]
        return call
    action = call.params.get("Action")
    if action:
        call.protocol = "ec2" if service == "ec2" else "query"
        call.operation = action
        return call
    call.protocol = "rest-xml" if service == "s3" else "rest-json"
    matcher = _rest_matcher(service)
    if matcher is not None:
        call.protocol = matcher.protocol
        call.operation = matcher.match(method, path, query, headers)
    return call


class _Route(NamedTuple):
    method: str
    path: re.Pattern[str]
    query: list[tuple[str, str | None]]  # required query keys (and value, when the URI fixes one)
    headers: list[str]  # required headers, lower case
    score: tuple[int, int]  # more requirements, then more literal path, wins
    operation: str


class _RestMatcher:
    """Finds a REST operation from method + path + query + headers, using botocore's model.

    Candidates are the operations whose requestUri template matches; required query-string and
    header members tell apart operations sharing a URI (S3 PutObject, CopyObject, UploadPart).
    """

    def __init__(self, service: str) -> None:
        model = _published_model(service)
        self.protocol = "rest-xml" if model.protocol == "rest-xml" else "rest-json"
        self.routes: list[_Route] = []
        for name in model.operation_names:
            op = model.operation_model(name)
            uri, _, qs = op.http.get("requestUri", "/").partition("?")
            pattern, literal = "", 0
            for piece in re.split(r"(\{[^}]+\})", uri.rstrip("/")):
                if piece.startswith("{"):
                    pattern += "(.+)" if piece.endswith("+}") else "([^/]+)"
                else:
                    pattern += re.escape(piece)
                    literal += len(piece)
            query: list[tuple[str, str | None]] = []
            for item in filter(None, qs.split("&")):
                k, eq, v = item.partition("=")
                query.append((k, v if eq else None))
            headers: list[str] = []
            shape = op.input_shape
            for member in shape.required_members if shape is not None else []:
                where = shape.members[member].serialization
                if where.get("location") == "querystring":
                    query.append((where.get("name", member), None))
                elif where.get("location") == "header":
                    headers.append(where.get("name", member).lower())
            score = (len(query) + len(headers), literal)
            route = _Route(
                op.http.get("method", "GET"), re.compile(f"^{pattern}/?$"), query, headers, score, name
            )
            self.routes.append(route)

    def match(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> str:
        best: _Route | None = None
        for route in self.routes:
            if route.method != method or not route.path.match(path):
                continue
            if any(k not in query or (v is not None and v not in query[k]) for k, v in route.query):
                continue
            if any(h not in headers for h in route.headers):
                continue
            if best is None or route.score > best.score:
                best = route
        return best.operation if best else ""


def _published_model(service: str) -> botocore.model.ServiceModel:
    """A service's model as published, from a loader of its own that is dropped once the routes are
    built: clients edit their models in place (S3's drop `/{Bucket}` from request URIs), and the
    routes need no model afterwards. Read as the gate's clients read models (the model cache, no
    documentation), not parsed from JSON again."""
    loader = botocore.loaders.create_loader()
    loader.file_loader = model_file_loader()
    return botocore.model.ServiceModel(loader.load_service_model(service, "service-2"), service)


_MATCHERS: dict[str, _RestMatcher | None] = {}
_MATCHERS_LOCK = threading.Lock()


def _rest_matcher(service: str) -> _RestMatcher | None:
    with _MATCHERS_LOCK:  # built once: the first calls of a service often arrive together
        if service not in _MATCHERS:
            try:
                matcher: _RestMatcher | None = _RestMatcher(service)
            except Exception:  # unknown to botocore: the call is logged as "<service>:Unknown"
                matcher = None
            _MATCHERS[service] = matcher
        return _MATCHERS[service]


# --- answers ---------------------------------------------------------------------------------------


def request_id() -> str:
    return str(uuid.uuid4())


def json_response(payload: dict[str, Any], status: int = 200, protocol: Protocol = "json") -> Response:
    ctype = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
    body = json.dumps(payload).encode()
    return Response(status, [("Content-Type", ctype), ("x-amzn-RequestId", request_id())], body)


def empty_response(status: int) -> Response:
    """A bodiless answer, as S3 gives to HEAD requests (errors included: the status says it all)."""
    return Response(status, [("Content-Length", "0"), ("x-amz-request-id", request_id())], b"")


def xml_response(body: str, status: int = 200) -> Response:
    return Response(status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id())], body.encode())


def error_response(protocol: Protocol, status: int, code: str, message: str) -> Response:
    """An error in the shape botocore parses for this wire protocol."""
    rid = request_id()
    if protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        return Response(
            status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", rid)], body
        )
    if protocol == "rest-json":
        body = json.dumps({"Type": "User" if status < 500 else "Service", "message": message}).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", rid),
        ]
        return Response(status, headers, body)
    if protocol == "cbor":
        body = _cbor_text_map({"__type": code, "message": message})
        headers = [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("x-amzn-RequestId", rid),
        ]
        return Response(status, headers, body)
    msg = escape(message)
    if protocol == "ec2":
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{code}</Code><Message>{msg}</Message></Error></Errors>"
            f"<RequestID>{rid}</RequestID></Response>"
        )
    elif protocol == "rest-xml":
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{msg}</Message><RequestId>{rid}</RequestId></Error>"
        )
    else:  # query
        kind = "Sender" if status < 500 else "Receiver"
        xml = (
            "<ErrorResponse><Error>"
            f"<Type>{kind}</Type><Code>{code}</Code><Message>{msg}</Message>"
            f"</Error><RequestId>{rid}</RequestId></ErrorResponse>"
        )
    return Response(status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], xml.encode())


def _cbor_text_map(items: dict[str, str]) -> bytes:
    """A CBOR map of text strings (all a CBOR error body needs); RFC 8949 major types 3 and 5."""

    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        if n < 256:
            return bytes([major << 5 | 24, n])
        return bytes([major << 5 | 25]) + n.to_bytes(2, "big")

    out = head(5, len(items))
    for k, v in items.items():
        for text in (k, v):
            raw = text.encode()[:65535]
            out += head(3, len(raw)) + raw
    return out


# Throttling answers each service's SDK retries: (status, code) per protocol / service.
def throttle_response(call: Call) -> Response:
    if call.protocol == "ec2":
        return error_response("ec2", 503, "RequestLimitExceeded", "Request limit exceeded.")
    if call.protocol == "rest-xml":
        return error_response("rest-xml", 503, "SlowDown", "Please reduce your request rate.")
    if call.protocol == "query":
        return error_response("query", 400, "Throttling", "Rate exceeded")
    if call.protocol == "rest-json":
        return error_response("rest-json", 429, "TooManyRequestsException", "Rate exceeded")
    return error_response(call.protocol, 400, "ThrottlingException", "Rate exceeded")


def access_denied_response(call: Call) -> Response:
    """What AWS answers a caller whose policy lacks the action (each protocol's own code)."""
    from preflight.account.aws import iam_action

    message = (
        f"User: arn:aws:iam::123456789012:user/sandbox is not authorized to perform: "
        f"{iam_action(call.service, call.operation)}"
    )
    if call.protocol == "ec2":
        return error_response("ec2", 403, "UnauthorizedOperation", message)
    if call.protocol in ("query", "rest-xml"):
        return error_response(call.protocol, 403, "AccessDenied", message)
    return error_response(call.protocol, 403, "AccessDeniedException", message)


def internal_error_response(call: Call) -> Response:
    if call.protocol in ("ec2", "rest-xml"):
        code = "InternalError"  # EC2's and S3's name for it
    elif call.service == "lambda":
        code = "ServiceException"
    else:
        code = "InternalFailure"
    return error_response(call.protocol, 500, code, "We encountered an internal error. Please try again.")
