"""Scenarios: the shipped ones say what they promise; user files are validated with file, line, field."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from preflight.sandbox import SCENARIO_NAMES, Sandbox, Scenario, load_scenario
from preflight.sandbox.scenario import SCENARIO_DIR, QuotaSetting
from preflight.support.errors import InputError

from .helpers import code_of, error_of


def usage(sb: Sandbox) -> dict[str, Any]:
    ec2 = sb.client("ec2")
    endpoints = ec2.describe_vpc_endpoints()["VpcEndpoints"]
    lam = sb.client("lambda").get_account_settings()["AccountLimit"]
    kinesis = sb.client("kinesis").describe_limits()
    return {
        "vpcs": len(ec2.describe_vpcs()["Vpcs"]),
        "eips": len(ec2.describe_addresses()["Addresses"]),
        "igws": len(ec2.describe_internet_gateways()["InternetGateways"]),
        "gateway_endpoints": sum(1 for e in endpoints if e["VpcEndpointType"] == "Gateway"),
        "reserved": lam["ConcurrentExecutions"] - lam["UnreservedConcurrentExecutions"],
        "concurrency": lam["ConcurrentExecutions"],
        "shards": (kinesis["OpenShardCount"], kinesis["ShardLimit"]),
    }


def test_shipped_scenarios_are_all_listed() -> None:
    assert {p.stem for p in SCENARIO_DIR.glob("*.yaml")} == set(SCENARIO_NAMES)
    assert {"fresh-account", "seed-account", "new-account", "busy-account"} <= set(SCENARIO_NAMES)
    for name in SCENARIO_NAMES:
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.description
        assert load_scenario(SCENARIO_DIR / f"{name}.yaml").name == name


def test_fresh_account() -> None:
    with Sandbox("fresh-account") as sb:
        assert usage(sb) == {
            "vpcs": 1,  # the default VPC, as on AWS
            "eips": 0,
            "igws": 0,
            "gateway_endpoints": 0,
            "reserved": 0,
            "concurrency": 1000,
            "shards": (0, 20000),
        }
        assert sb.client("lambda").list_functions()["Functions"] == []
        assert sb.client("service-quotas").list_service_quotas(ServiceCode="lambda")["Quotas"] == []


def test_seed_account(seed: Sandbox) -> None:
    used = usage(seed)
    assert used["gateway_endpoints"] == 20  # every one the region allows
    assert used["vpcs"] <= 4  # a new stack's VPC still fits the quota of 5
    assert used["reserved"] == 850 and used["concurrency"] == 1000
    assert used["eips"] < 5 and used["igws"] < 5
    reservations = sorted(
        seed.client("lambda")
        .get_function_concurrency(FunctionName=f["FunctionName"])
        .get("ReservedConcurrentExecutions", -1)
        for f in seed.client("lambda").list_functions()["Functions"]
    )
    assert reservations == [-1, 50] + [100] * 8


def test_new_account() -> None:
    with Sandbox("new-account") as sb:
        assert usage(sb)["concurrency"] == 10
        quota = sb.client("service-quotas").get_service_quota(ServiceCode="lambda", QuotaCode="L-B99A9384")
        assert quota["Quota"]["Value"] == 10


def test_busy_account_is_near_several_limits() -> None:
    with Sandbox("busy-account") as sb:
        used = usage(sb)
        assert (used["vpcs"], used["eips"], used["gateway_endpoints"]) == (4, 4, 17)
        assert used["reserved"] == 800
        assert used["shards"] == (180, 200)
        summary = sb.client("iam").get_account_summary()["SummaryMap"]
        assert summary["AttachedPoliciesPerRoleQuota"] == 10
        policies = sb.client("iam").list_attached_role_policies(RoleName="payments-deployer")[
            "AttachedPolicies"
        ]
        assert len(policies) == 9
        for ratio in (4 / 5, 4 / 5, 17 / 20, 800 / 1000, 180 / 200, 9 / 10):
            assert 0.8 <= ratio <= 0.95


def test_low_kinesis_reports_500_shards_that_service_quotas_does_not_list() -> None:
    with Sandbox("low-kinesis") as sb:
        assert usage(sb)["shards"] == (498, 500)
        assert sb.client("service-quotas").list_service_quotas(ServiceCode="kinesis")["Quotas"] == []


def test_neighbour_vpc_is_tagged_as_the_stacks_and_holds_others_resources() -> None:
    with Sandbox("neighbour-vpc") as sb:
        ec2 = sb.client("ec2")
        [vpc] = ec2.describe_vpcs(Filters=[{"Name": "tag:tap:project", "Values": ["tap-pipeline"]}])["Vpcs"]
        inside = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
        subnets = ec2.describe_subnets(Filters=inside)["Subnets"]
        enis = ec2.describe_network_interfaces(Filters=inside, IncludeManagedResources=True)[
            "NetworkInterfaces"
        ]
        endpoints = ec2.describe_vpc_endpoints(Filters=inside)["VpcEndpoints"]
        assert (len(subnets), len(endpoints), len(enis)) == (2, 1, 5)  # 3 plain ENIs + the endpoint's 2
        for item in [*subnets, *endpoints]:
            assert "tap:project" not in {t["Key"] for t in item.get("Tags", [])}


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def test_a_custom_scenario_with_regions_counts_and_no_default_vpc(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: custom
        defaultVpc: false
        quotas:
          - {code: gateway-endpoints, value: 30}
          - {code: L-F678F1CE, value: 7, region: eu-west-1}
        vpcs:
          - name: net
            count: 2
            cidr: 10.20.0.0/16
            subnets: [{az: a, cidr: 10.20.5.0/24}, {az: us-east-1b}]
            internetGateway: true
            natGateways: [{subnet: 1}]
            gatewayEndpoints: [{service: s3, count: 12}]
            interfaceEndpoints: [{service: kinesis-streams}]
          - {name: west, region: eu-west-1, subnets: [{az: c}]}
        elasticIps: [{count: 2}]
        functions:
          - {name: fn, count: 3, reservedConcurrency: 7, memoryMb: 256}
        streams:
          - {name: s, shards: 2, count: 2}
          - {name: od, mode: on-demand}
        tables: [{name: t, count: 3, region: eu-west-1}]
        buckets: [{name: my-bucket, count: 2}]
        topics: [{name: alerts}]
        roles: [{name: deployer, managedPolicies: 1}]
        """,
    )
    with Sandbox(path) as sb:
        used = usage(sb)
        assert used["vpcs"] == 2  # no default VPC
        assert used["gateway_endpoints"] == 24
        assert used["eips"] == 4 and used["igws"] == 2
        assert used["reserved"] == 21
        assert used["shards"] == (4, 20000)
        assert sb.client("kinesis").describe_limits()["OnDemandStreamCount"] == 1
        ec2 = sb.client("ec2")
        subnets = ec2.describe_subnets()["Subnets"]
        assert sorted(s["CidrBlock"] for s in subnets) == [
            "10.20.0.0/24",
            "10.20.0.0/24",
            "10.20.5.0/24",
            "10.20.5.0/24",
        ]
        assert {s["AvailabilityZone"] for s in subnets} == {"us-east-1a", "us-east-1b"}
        names = sorted(f["FunctionName"] for f in sb.client("lambda").list_functions()["Functions"])
        assert names == ["fn-1", "fn-2", "fn-3"]
        west = sb.client("ec2", "eu-west-1")
        assert [v["CidrBlock"] for v in west.describe_vpcs()["Vpcs"]] == ["10.3.0.0/16"]
        assert west.describe_subnets()["Subnets"][0]["AvailabilityZone"] == "eu-west-1c"
        assert len(sb.client("dynamodb", "eu-west-1").list_tables()["TableNames"]) == 3
        assert len(sb.client("s3").list_buckets()["Buckets"]) == 2
        assert (
            sb.client("service-quotas", "eu-west-1").get_service_quota(
                ServiceCode="vpc", QuotaCode="L-F678F1CE"
            )["Quota"]["Value"]
            == 7
        )
        assert sb.call_log.total() > 0  # only this test's reads: setup calls were reset


def test_scenarios_follow_the_sandbox_region() -> None:
    with Sandbox("seed-account", region="eu-west-1") as sb:
        assert usage(sb)["gateway_endpoints"] == 20
        assert sb.client("ec2", "us-east-1").describe_vpc_endpoints()["VpcEndpoints"] == []


def test_a_scenario_object_can_be_built_in_code() -> None:
    scenario = Scenario(name="code", quotas=[QuotaSetting(code="L-B99A9384", value=50)])
    with Sandbox(scenario) as sb:
        assert usage(sb)["concurrency"] == 50


def test_a_scenario_over_its_own_quota_is_an_input_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: too-many
        vpcs:
          - name: net
            gatewayEndpoints: [{service: s3, count: 21}]
        """,
    )
    with pytest.raises(InputError) as info:
        Sandbox(path).start()
    assert info.value.file == str(path) and info.value.line == 3
    assert "VpcEndpointLimitExceeded" in str(info.value)
    with Sandbox() as sb:  # the failed start left nothing running
        assert code_of(error_of(lambda: sb.client("lambda").get_function(FunctionName="x"))) == (
            "ResourceNotFoundException"
        )


BAD = [
    ("name: x\nvpcs:\n  - name: a\n    colour: blue\n", 4, "vpcs[0].colour", "unknown key"),
    (
        "functions:\n  - name: f\n    reservedConcurrency: lots\n",
        3,
        "functions[0].reservedConcurrency",
        "integer",
    ),
    ("quotas:\n  - {code: L-NOPE, value: 3}\n", 2, "quotas[0].code", "the emulated account knows"),
    ("quotas:\n  - {code: L-F678F1CE}\n", 2, "quotas[0].value", "required"),
    ("quotas:\n  - {service: ec2, code: L-F678F1CE, value: 3}\n", 2, "quotas[0].service", "'vpc'"),
    (
        "vpcs:\n  - name: a\n    subnets: [{az: a}]\n    natGateways:\n      - subnet: 3\n",
        5,
        "vpcs[0].natGateways[0].subnet",
        "out of range",
    ),
    ("tables:\n  - {name: t-1}\n  - {name: t, count: 2}\n", 3, "tables[1].name", "used twice"),
    ("buckets:\n  - {name: MyBucket}\n", 2, "buckets[0].name", "bucket name"),
    ("topics:\n  - {name: t, count: 0}\n", 2, "topics[0].count", "greater than or equal to 1"),
    ("streams:\n  - {name: s, region: moon-1}\n", 2, "streams[0].region", "region"),
    (
        "vpcs:\n  - name: a\n    cidr: 10.0.0.0/16\n    subnets: [{az: a, cidr: 10.9.0.0/24}]\n",
        4,
        "vpcs[0].subnets[0].cidr",
        "inside",
    ),
    (
        "vpcs:\n  - name: a\n    region: eu-west-1\n    subnets:\n      - {az: us-east-1a}\n",
        5,
        "vpcs[0].subnets[0].az",
        "eu-west-1",
    ),
    ("vpcs:\n  - name: a\n    cidr: 10.0.0.0/8\n", 3, "vpcs[0].cidr", "/16 to /28"),
    (
        "quotas:\n  - {code: L-F678F1CE, value: 3, listed: false}\n",
        2,
        "quotas[0].listed",
        "Service Quotas must list it",
    ),
    ("name: x\nvpcs: [\n", 3, "", "invalid YAML"),
    ("- just\n- a list\n", 1, "", "mapping"),
]


@pytest.mark.parametrize(("text", "line", "field", "message"), BAD)
def test_malformed_scenarios_name_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    err = info.value
    assert err.file == str(path)
    assert err.line == line
    assert err.path == field
    assert message in str(err)
    assert str(err).startswith(f"{path}:{line}")


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_scenario(tmp_path / "nope.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("\n")
    with pytest.raises(InputError, match="empty"):
        load_scenario(empty)
    with pytest.raises(InputError, match="seed-account"):
        load_scenario("no-such-scenario")
    with pytest.raises(InputError, match="unknown scenario"):
        Sandbox("no-such-scenario")
