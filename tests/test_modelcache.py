"""The botocore model cache: the same models as parsing the JSON, and no trouble when it cannot work."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from preflight import modelcache


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
