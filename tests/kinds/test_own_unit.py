"""Each kind's `own_*`: which of an account's resources are the stack's, on an account given as data.

The usage counters' tests (tests/quotas/test_usage.py) read a real emulated account; these hold each
kind's rule on its own: the stack's tags, its names, and the ENIs AWS makes for its resources.
"""

from __future__ import annotations

from typing import Any

from preflight import kinds
from preflight.deployment import TAG_ENVIRONMENT, TAG_PROJECT, Deployment
from preflight.kinds import bucket, endpoint, function, role, security_group, stream, table, topic, vpc

OWN = [{"Key": TAG_PROJECT, "Value": "tap-pipeline"}, {"Key": TAG_ENVIRONMENT, "Value": "prod"}]
OTHER = [{"Key": TAG_PROJECT, "Value": "tap-pipeline"}, {"Key": TAG_ENVIRONMENT, "Value": "test"}]


class Account:
    """An account as data: EC2 listings by operation, and the named resources' answers."""

    def __init__(self, ec2: dict[str, list[dict[str, Any]]] | None = None, **named: Any) -> None:
        self.listings = ec2 or {}
        self.named = named

    def owns(self, tags: Any) -> bool:
        found = tags if isinstance(tags, dict) else {t["Key"]: t["Value"] for t in tags or []}
        return found.get(TAG_PROJECT) == "tap-pipeline" and found.get(TAG_ENVIRONMENT) == "prod"

    def ec2(self, operation: str, result_key: str, **kwargs: Any) -> list[dict[str, Any]]:
        return self.listings.get(operation, [])

    def nat_gateways(self) -> list[dict[str, Any]]:
        return self.listings.get("DescribeNatGateways", [])

    def function(self, name: str) -> dict[str, Any] | None:
        return self.named.get("functions", {}).get(name)

    def stream_summary(self, name: str) -> dict[str, Any] | None:
        found = self.named.get("streams", {}).get(name)
        return None if found is None else {"OpenShardCount": found[0]}

    def stream_tags(self, name: str) -> list[dict[str, str]]:
        return self.named["streams"][name][1]

    def table_names(self) -> list[str]:
        return list(self.named.get("tables", {}))

    def table_tags(self, name: str) -> list[dict[str, str]]:
        return self.named["tables"][name]

    def bucket_names(self) -> list[str]:
        return list(self.named.get("buckets", {}))

    def bucket_tags(self, name: str) -> list[dict[str, str]]:
        return self.named["buckets"][name]

    def topic_arns(self) -> list[str]:
        return list(self.named.get("topics", {}))

    def topic_tags(self, arn: str) -> list[dict[str, str]]:
        return self.named["topics"][arn]

    def role(self, name: str) -> dict[str, Any] | None:
        return self.named.get("roles", {}).get(name)


def test_vpc_its_own_vpc_and_its_nat_gateways_enis(requested: Deployment) -> None:
    a = Account(
        {
            "DescribeVpcs": [{"VpcId": "vpc-other", "Tags": OTHER}, {"VpcId": "vpc-own", "Tags": OWN}],
            "DescribeNatGateways": [
                {"Tags": OWN, "NatGatewayAddresses": [{"NetworkInterfaceId": "eni-nat"}, {}]},
                {"Tags": OTHER, "NatGatewayAddresses": [{"NetworkInterfaceId": "eni-theirs"}]},
            ],
        }
    )
    assert vpc.own_vpc_id(a) == "vpc-own"
    assert vpc.own_vpc_id(Account()) is None
    assert vpc.own_enis(a, requested) == {"eni-nat"}


def test_security_group_its_tagged_groups_and_its_vpcs_default_group(requested: Deployment) -> None:
    groups = [
        {"GroupId": "sg-1", "GroupName": "pipeline-lambda-prod", "VpcId": "vpc-own", "Tags": OWN},
        {"GroupId": "sg-2", "GroupName": "default", "VpcId": "vpc-own"},
        {"GroupId": "sg-3", "GroupName": "default", "VpcId": "vpc-other"},
        {"GroupId": "sg-4", "GroupName": "pipeline-lambda-prod", "VpcId": "vpc-own"},
    ]
    a = Account({"DescribeSecurityGroups": groups})
    assert security_group.own_groups(a) == {"sg-1": "pipeline-lambda-prod"}
    assert [g["GroupId"] for g in groups if security_group.is_own(a, g, "vpc-own")] == ["sg-1", "sg-2"]
    assert [g["GroupId"] for g in groups if security_group.is_own(a, g, None)] == ["sg-1"]


def test_security_group_rules_the_stack_defines_as_aws_answers_them(requested: Deployment) -> None:
    sg = requested.security_groups[0]
    own = security_group.own_rules(requested)
    assert len(own) == sum(len(g.ingress) + len(g.egress) for g in requested.security_groups)
    # AWS answers "all traffic" as -1 with ports -1/-1 where the manifest says 0/0.
    egress = {"IsEgress": True, "IpProtocol": "-1", "FromPort": -1, "ToPort": -1, "CidrIpv4": "0.0.0.0/0"}
    assert security_group.found_rule_key(sg.name, egress) in own
    added = {"IsEgress": False, "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "10.0.0.0/8"}
    assert security_group.found_rule_key(sg.name, added) not in own


def test_endpoint_and_function_enis_are_tied_back_to_the_stacks_resources(requested: Deployment) -> None:
    a = Account(
        {
            "DescribeVpcEndpoints": [
                {"Tags": OWN, "NetworkInterfaceIds": ["eni-ep1", "eni-ep2"]},
                {"Tags": OTHER, "NetworkInterfaceIds": ["eni-theirs"]},
            ],
            "DescribeSecurityGroups": [
                {"GroupId": "sg-own", "GroupName": "pipeline-lambda-prod", "Tags": OWN},
                {"GroupId": "sg-other", "GroupName": "shared"},
            ],
            "DescribeNetworkInterfaces": [
                {
                    "NetworkInterfaceId": "eni-l1",
                    "InterfaceType": "lambda",
                    "Groups": [{"GroupId": "sg-own"}],
                },
                {
                    "NetworkInterfaceId": "eni-l2",
                    "InterfaceType": "lambda",
                    "Groups": [{"GroupId": "sg-own"}, {"GroupId": "sg-other"}],
                },
                {"NetworkInterfaceId": "eni-l3", "InterfaceType": "lambda", "Groups": []},
                {
                    "NetworkInterfaceId": "eni-x",
                    "InterfaceType": "interface",
                    "Groups": [{"GroupId": "sg-own"}],
                },
            ],
        }
    )
    assert endpoint.own_enis(a, requested) == {"eni-ep1", "eni-ep2"}
    assert function.own_enis(a, requested) == {"eni-l1"}
    assert kinds.own_enis(a, requested) == {"eni-ep1", "eni-ep2", "eni-l1"}
    shared = {"Groups": [{"GroupName": requested.lambda_security_group}]}
    assert function.uses_own_lambda_group(requested, shared)
    assert not function.uses_own_lambda_group(requested, {"Groups": [*shared["Groups"], {"GroupName": "x"}]})


def test_functions_streams_tables_buckets_topics_and_role_by_name_and_tags(requested: Deployment) -> None:
    fn, other_fn = requested.functions[0].name, requested.functions[1].name
    s, t, b = requested.streams[0].name, requested.tables[0].name, requested.buckets[0].name
    topic_arn = f"arn:aws:sns:us-east-1:123456789012:{requested.topics[0].name}"
    a = Account(
        functions={
            fn: {
                "Tags": dict((x["Key"], x["Value"]) for x in OWN),
                "Concurrency": {"ReservedConcurrentExecutions": 7},
            },
            other_fn: {"Tags": {}},  # its name, not its tags: someone else's
        },
        streams={s: (3, OWN)},
        tables={t: OWN, "unrelated": OWN},
        buckets={b: OTHER},
        topics={topic_arn: OWN},
        roles={requested.role.name: {"Tags": OWN}},
    )
    assert function.own_reservations(a, requested) == {fn: 7}
    assert function.own_reservation(a, other_fn) == 0
    assert stream.own_shards(a, requested) == {s: 3}
    assert table.own(a, requested) == [t]
    assert bucket.own(a, requested) == []
    assert topic.own(a, requested) == [topic_arn]
    assert role.own_role(a, requested) is True
    assert role.own_role(Account(), requested) is None
    assert set(requested.role.managed_policies) < role.own_policies(requested)
