"""moto's EC2 data read on first use (preflight/sandbox/motoload.py) answers as moto's own files say.

moto decodes every region's instance-type offerings and every instance type's description when its
EC2 backend is imported; the sandbox reads each region's table, and the descriptions, from the same
files the first time they are asked. The answers through the AWS API must be those files' contents,
for any region and location type.
"""

from __future__ import annotations

import gzip
import json
import sys
from importlib import resources
from typing import Any

import pytest

from preflight.sandbox import Sandbox
from preflight.sandbox.motoload import DictOnFirstUse, InstanceTypesOnFirstUse, OfferingsByRegion
from tests.sandbox.helpers import raw_client

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1", "ca-central-1")
LOCATION_TYPES = ("region", "availability-zone", "availability-zone-id")


def _moto_file(relative: str) -> Any:
    """One of moto's data files, as it ships it (gzipped or not)."""
    root = resources.files("moto") / "ec2" / "resources"
    plain = root.joinpath(*relative.split("/"))
    packed = root.joinpath(*f"{relative}.gz".split("/"))
    if packed.is_file():
        return json.loads(gzip.decompress(packed.read_bytes()))
    return json.loads(plain.read_text(encoding="utf-8"))


def _offerings(sb: Sandbox, region: str, location_type: str) -> list[tuple[str, str, str]]:
    pages = raw_client(sb, "ec2", region).get_paginator("describe_instance_type_offerings")
    return sorted(
        (o["InstanceType"], o["Location"], o["LocationType"])
        for page in pages.paginate(LocationType=location_type)
        for o in page["InstanceTypeOfferings"]
    )


def test_moto_s_tables_are_the_ones_read_on_first_use(fresh: Sandbox) -> None:
    """The answers below come from the lazy tables (moto 5.x is shaped as motoload expects)."""
    module = sys.modules["moto.ec2.models.instance_types"]
    assert all(type(module.INSTANCE_TYPE_OFFERINGS[t]) is OfferingsByRegion for t in LOCATION_TYPES)
    assert type(module.INSTANCE_TYPES) is DictOnFirstUse
    assert type(vars(module.InstanceTypeBackend)["instance_types"]) is InstanceTypesOnFirstUse


@pytest.mark.parametrize("location_type", LOCATION_TYPES)
def test_instance_type_offerings_are_moto_s_files_for_every_region(
    fresh: Sandbox, location_type: str
) -> None:
    for region in REGIONS:
        expected = sorted(
            (o["InstanceType"], o["Location"], location_type)
            for o in _moto_file(f"instance_type_offerings/{location_type}/{region}.json")
        )
        assert expected, f"moto ships no {location_type} offerings for {region}"
        assert _offerings(fresh, region, location_type) == expected, (region, location_type)


def test_offerings_filtered_by_instance_type_and_location(fresh: Sandbox) -> None:
    ec2 = raw_client(fresh, "ec2", "eu-west-1")
    answer = ec2.describe_instance_type_offerings(
        LocationType="availability-zone",
        Filters=[
            {"Name": "instance-type", "Values": ["t3.micro"]},
            {"Name": "location", "Values": ["eu-west-1a"]},
        ],
    )["InstanceTypeOfferings"]
    expected = [
        o
        for o in _moto_file("instance_type_offerings/availability-zone/eu-west-1.json")
        if o["InstanceType"] == "t3.micro" and o["Location"] == "eu-west-1a"
    ]
    assert len(answer) == len(expected) == 1
    assert answer[0]["LocationType"] == "availability-zone"


def test_instance_types_are_moto_s_file(fresh: Sandbox) -> None:
    moto_types = _moto_file("instance_types.json")
    ec2 = raw_client(fresh, "ec2")
    names = ["t3.micro", "m5.large", "c6g.xlarge", "p4d.24xlarge"]
    described = {
        t["InstanceType"]: t for t in ec2.describe_instance_types(InstanceTypes=names)["InstanceTypes"]
    }
    assert sorted(described) == sorted(names)
    for name in names:
        assert described[name]["VCpuInfo"]["DefaultVCpus"] == moto_types[name]["VCpuInfo"]["DefaultVCpus"]
        assert described[name]["MemoryInfo"]["SizeInMiB"] == moto_types[name]["MemoryInfo"]["SizeInMiB"]
        assert described[name]["CurrentGeneration"] == moto_types[name]["CurrentGeneration"]
    listed = [
        t["InstanceType"]
        for page in ec2.get_paginator("describe_instance_types").paginate(
            Filters=[{"Name": "instance-type", "Values": ["t3.*"]}]
        )
        for t in page["InstanceTypes"]
    ]
    assert sorted(listed) == sorted(name for name in moto_types if name.startswith("t3."))


def test_a_region_s_offerings_are_read_once_on_first_use() -> None:
    reads: list[str] = []

    def reader(region: str) -> Any:
        return lambda: reads.append(region) or [{"InstanceType": "t3.micro", "Location": region}]

    table = OfferingsByRegion("region", {r: reader(r) for r in ("us-east-1", "eu-west-1")})
    assert "us-east-1" in table and "eu-west-1" in table and "mars-1" not in table
    assert sorted(table) == ["eu-west-1", "us-east-1"] and len(table) == 2
    assert reads == []  # membership and keys read no file
    assert table["us-east-1"] == [
        {"InstanceType": "t3.micro", "Location": "us-east-1", "LocationType": "region"}
    ]
    assert table.get("us-east-1") is table["us-east-1"] and table.get("mars-1", []) == []
    assert reads == ["us-east-1"]


def test_a_dict_on_first_use_reads_once_whatever_is_asked_first() -> None:
    for ask in (len, list, lambda d: "a" in d, lambda d: d["a"], lambda d: d.get("b"), lambda d: d.keys()):
        reads: list[int] = []
        table = DictOnFirstUse(lambda reads=reads: reads.append(1) or {"a": 1, "b": 2})
        ask(table)
        assert reads == [1]
        assert dict(table.items()) == {"a": 1, "b": 2} and table == {"a": 1, "b": 2} and len(table) == 2
        assert reads == [1]
