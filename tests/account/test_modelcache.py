"""The botocore model cache: the same models as parsing the JSON, and no trouble when it cannot work."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from preflight.account import modelcache


def _model_file(tmp_path: Path) -> tuple[str, dict[str, object]]:
    model = {"metadata": {"protocol": "ec2"}, "operations": {f"Op{i}": {"n": i} for i in range(50)}}
    path = tmp_path / "service-2.json.gz"
    path.write_bytes(gzip.compress(json.dumps(model).encode()))
    return str(path), model


def _parse(path: str) -> object:
    return modelcache.parse_json(gzip.open, path)


def test_a_cached_model_equals_the_parsed_one_and_is_read_from_the_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(modelcache.ENV, str(tmp_path / "cache"))
    path, model = _model_file(tmp_path)
    assert modelcache.load(path, lambda: _parse(path)) == model
    assert len(list((tmp_path / "cache").glob("*.marshal"))) == 1
    assert not list((tmp_path / "cache").glob(".model-*"))  # no temporary file left behind

    def must_not_parse() -> object:
        raise AssertionError("parsed although cached")

    assert modelcache.load(path, must_not_parse) == model


def test_a_changed_model_file_misses_the_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(modelcache.ENV, str(tmp_path / "cache"))
    path, _ = _model_file(tmp_path)
    modelcache.load(path, lambda: _parse(path))
    changed = {"metadata": {"protocol": "json"}, "operations": {}}
    Path(path).write_bytes(gzip.compress(json.dumps(changed).encode()))
    assert modelcache.load(path, lambda: _parse(path)) == changed


def test_a_corrupt_entry_falls_back_to_parsing(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(modelcache.ENV, str(tmp_path / "cache"))
    path, model = _model_file(tmp_path)
    modelcache.load(path, lambda: _parse(path))
    (entry,) = (tmp_path / "cache").glob("*.marshal")
    entry.write_bytes(b"\x00garbage")
    assert modelcache.load(path, lambda: _parse(path)) == model


@pytest.mark.parametrize("setting", ["off", "unwritable"])
def test_no_cache_still_gives_the_model(tmp_path, monkeypatch, setting) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(modelcache.ENV, "off" if setting == "off" else str(blocker / "cache"))
    path, model = _model_file(tmp_path)
    assert modelcache.load(path, lambda: _parse(path)) == model
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "service-2.json.gz"]


def test_an_entry_of_another_cache_format_misses(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(modelcache.ENV, str(tmp_path / "cache"))
    path, model = _model_file(tmp_path)
    modelcache.load(path, lambda: _parse(path))
    monkeypatch.setattr(modelcache, "FORMAT", modelcache.FORMAT + "-next")
    parsed: list[str] = []

    def parse() -> object:
        parsed.append(path)
        return _parse(path)

    assert modelcache.load(path, parse) == model
    assert parsed == [path]  # the old entry was not read
    assert len(list((tmp_path / "cache").glob("*.marshal"))) == 2


def test_documentation_goes_only_where_the_model_format_puts_it() -> None:
    model = {
        "documentation": "the service",
        "operations": {
            "Op": {
                "documentation": "op",
                "input": {"shape": "In", "documentation": "in"},
                "output": {"shape": "Out"},
                "errors": [{"shape": "Err", "documentation": "err"}],
            }
        },
        "shapes": {
            "In": {
                "type": "structure",
                "documentation": "shape",
                # A member NAMED documentation is data, not a docstring: it stays.
                "members": {"documentation": {"shape": "S", "documentation": "member"}},
            },
            "L": {"type": "list", "member": {"shape": "S", "documentation": "m"}},
            "M": {"type": "map", "key": {"shape": "S", "documentation": "k"}, "value": {"shape": "S"}},
            "S": {"type": "string", "documentation": "s"},
        },
    }
    assert modelcache.without_documentation(model) == {
        "operations": {
            "Op": {"input": {"shape": "In"}, "output": {"shape": "Out"}, "errors": [{"shape": "Err"}]}
        },
        "shapes": {
            "In": {"type": "structure", "members": {"documentation": {"shape": "S"}}},
            "L": {"type": "list", "member": {"shape": "S"}},
            "M": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "S"}},
            "S": {"type": "string"},
        },
    }


def _signature(shape: object, seen: set[str]) -> object:
    """Everything of a shape that builds a request or parses a response (not its documentation)."""
    name = shape.name  # type: ignore[attr-defined]
    if name in seen:
        return name
    seen = seen | {name}
    metadata = {k: v for k, v in shape.metadata.items() if k != "documentation"}  # type: ignore[attr-defined]
    parts: dict[str, object] = {
        "type": shape.type_name,  # type: ignore[attr-defined]
        "serialization": shape.serialization,  # type: ignore[attr-defined]
        "metadata": metadata,
    }
    for attr in ("member", "key", "value"):
        if hasattr(shape, attr):
            parts[attr] = _signature(getattr(shape, attr), seen)
    if hasattr(shape, "members"):
        parts["members"] = {k: _signature(v, seen) for k, v in shape.members.items()}  # type: ignore[attr-defined]
    return parts


# Every service the gate's clients talk to.
SERVICES = ("ec2", "lambda", "iam", "s3", "service-quotas", "sts", "dynamodb", "kinesis", "sns", "cloudwatch")


@pytest.mark.parametrize("service", SERVICES)
def test_a_model_without_documentation_builds_and_parses_as_the_whole_model(service: str) -> None:
    import copy

    import botocore.loaders
    import botocore.model

    whole = botocore.loaders.Loader().load_service_model(service, "service-2")
    lean = modelcache.without_documentation(copy.deepcopy(whole))
    assert not [op for op in lean["operations"].values() if "documentation" in op]
    assert not [shape for shape in lean["shapes"].values() if "documentation" in shape]
    full_model = botocore.model.ServiceModel(whole, service)
    lean_model = botocore.model.ServiceModel(lean, service)
    assert lean_model.operation_names == full_model.operation_names
    assert lean_model.metadata == full_model.metadata
    for name in full_model.operation_names:
        a, b = full_model.operation_model(name), lean_model.operation_model(name)
        assert b.http == a.http and b.metadata == a.metadata and b.context_parameters == a.context_parameters
        for shape_a, shape_b in ((a.input_shape, b.input_shape), (a.output_shape, b.output_shape)):
            assert (shape_a is None) == (shape_b is None)
            if shape_a is not None:
                assert _signature(shape_b, set()) == _signature(shape_a, set()), (service, name)
        assert [e.name for e in b.error_shapes] == [e.name for e in a.error_shapes]


def _model_with_shapes(tmp_path: Path) -> tuple[str, dict[str, object]]:
    model = {
        "metadata": {"protocol": "ec2"},
        "operations": {"DescribeThingsByARNs": {"input": {"shape": "In"}}},
        "shapes": {"In": {"type": "structure", "members": {"Ids": {"shape": "L"}}}, "L": {"type": "list"}},
    }
    path = tmp_path / "service-2.json.gz"
    path.write_bytes(gzip.compress(json.dumps(model).encode()))
    return str(path), model


def test_cached_shapes_are_decoded_when_asked_for_and_equal_the_parsed_ones(tmp_path, monkeypatch) -> None:
    import botocore

    monkeypatch.setenv(modelcache.ENV, str(tmp_path / "cache"))
    path, model = _model_with_shapes(tmp_path)
    assert modelcache.load(path, lambda: _parse(path)) == model  # the first reading: parsed
    monkeypatch.setattr(botocore, "_xform_cache", {})
    cached = modelcache.load(path, lambda: pytest.fail("parsed although cached"))
    shapes = cached["shapes"]
    assert isinstance(shapes, modelcache.Shapes) and sorted(shapes) == ["In", "L"]
    assert {name: shapes[name] for name in shapes} == model["shapes"]
    assert shapes.get("L") == {"type": "list"} and shapes.get("nope") is None
    assert dict(shapes.items()) == model["shapes"] and list(shapes.values()) == list(model["shapes"].values())
    assert shapes == model["shapes"] and shapes.copy() == model["shapes"] and type(shapes.copy()) is dict
    assert shapes.setdefault("L") == {"type": "list"}
    shapes["In"]["members"]["Extra"] = {"shape": "L"}  # botocore's extras merge changes a shape in place
    assert "Extra" in shapes["In"]["members"]
    assert shapes.pop("L") == {"type": "list"} and "L" not in shapes and shapes.pop("L", None) is None
    assert {k: v for k, v in cached.items() if k != "shapes"} == {
        k: v for k, v in model.items() if k != "shapes"
    }
    # The method name botocore would make, remembered in its memo (and equal to what it computes).
    assert botocore._xform_cache == {("DescribeThingsByARNs", "_"): "describe_things_by_arns"}
    botocore._xform_cache.clear()
    assert botocore.xform_name("DescribeThingsByARNs") == "describe_things_by_arns"


@pytest.mark.parametrize(
    "entry",
    [
        42,
        ("whole",),
        ("shapes", {}, {"In": {"type": "structure"}}, {}),
        ("shapes", {}, {}, {"Op": 1}),
        ["whole", {}],
    ],
)
def test_an_entry_of_the_wrong_shape_falls_back_to_parsing(tmp_path, monkeypatch, entry) -> None:
    import marshal

    monkeypatch.setenv(modelcache.ENV, str(tmp_path / "cache"))
    path, model = _model_with_shapes(tmp_path)
    modelcache.load(path, lambda: _parse(path))
    (cached,) = (tmp_path / "cache").glob("*.marshal")
    cached.write_bytes(marshal.dumps(entry))
    assert modelcache.load(path, lambda: _parse(path)) == model
