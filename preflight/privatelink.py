"""What an interface endpoint (PrivateLink) of each service offers, as the services document it.

* Amazon S3 (AWS PrivateLink for Amazon S3, "Private DNS"): an S3 interface endpoint supports private
  DNS, but with private DNS on, "Enable private DNS only for inbound endpoints" is selected by default
  and needs a gateway endpoint in the VPC (in-VPC traffic keeps using the gateway). Without a gateway
  endpoint the option must be off (`PrivateDnsOnlyForInboundResolverEndpoint: false`) so that the
  functions' S3 calls resolve to the interface endpoint.
* Amazon DynamoDB (AWS PrivateLink for DynamoDB, since March 2024): interface endpoints exist, but do
  not support private DNS; clients must be given the endpoint-specific name
  (`https://vpce-...dynamodb.<region>.vpce.amazonaws.com`). The AWS SDKs read it from
  `AWS_ENDPOINT_URL_DYNAMODB` (service-specific endpoint variables), and the handlers pass it on.
* Kinesis Data Streams: private DNS, as most services.

Interface endpoints count against "Interface and Gateway Load Balancer endpoints per VPC" (vpc /
L-29B6F2EB, 50 by default) and make one network interface per subnet; they cost about $0.01 per hour
per AZ plus $0.01 per GB processed (us-east-1, estimate). Gateway endpoints are free and count
against "Gateway VPC endpoints per Region" (vpc / L-1B52E74A, 20).
"""

from __future__ import annotations

# Services whose interface endpoints offer no private DNS: the variable the functions get its URL in.
URL_VARIABLE = {"dynamodb": "AWS_ENDPOINT_URL_DYNAMODB"}
# Services whose private DNS is "inbound only" unless told otherwise (that mode needs a gateway endpoint).
INBOUND_ONLY_BY_DEFAULT = frozenset({"s3"})


def private_dns(service: str) -> bool:
    """Whether the service's interface endpoint can answer for the service's own DNS name."""
    return service not in URL_VARIABLE


def url_variable(service: str) -> str | None:
    """The environment variable the functions get the endpoint's URL in (None: private DNS does it)."""
    return URL_VARIABLE.get(service)
