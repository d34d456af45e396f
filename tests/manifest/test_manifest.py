"""The manifest: loading, environment profiles, and one clear message with exit 2 for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from preflight.manifest import load_manifest
from preflight.support.errors import InputError
from tests.conftest import MANIFEST, ROOT

AZS = ("us-east-1a", "us-east-1b", "us-east-1c")


def test_shipped_manifest_describes_the_seed_pipeline_in_production() -> None:
    d = load_manifest(MANIFEST, "prod").requested("us-east-1", AZS)
    assert [f.key for f in d.functions] == ["ingest", "transform", "enrich", "aggregate", "archive"]
    assert all(f.reserved_concurrency == 100 and f.vpc_attached for f in d.functions)
    assert {(e.service, e.type) for e in d.endpoints} == {
        ("s3", "gateway"),
        ("dynamodb", "gateway"),
        ("kinesis-streams", "interface"),
    }
    assert {sg.key for sg in d.security_groups} == {"endpoints", "lambda"}
    assert d.role.managed_policies == (
        "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
    )
    assert all(a.topic == d.topics[0].name for a in d.alarms) and len(d.alarms) == 7
    assert [(s.key, s.shards) for s in d.streams] == [("events", 4)]
    assert [t.key for t in d.tables] == ["state"] and [b.key for b in d.buckets] == ["archive"]
    assert d.vpc.internet_gateway and len(d.vpc.subnets) == 4


def test_environment_profiles_size_down_and_keep_line_numbers() -> None:
    dev = load_manifest(MANIFEST, "dev")
    d = dev.requested("us-east-1", AZS)
    assert {f.reserved_concurrency for f in d.functions} == {5}
    assert d.streams[0].shards == 1 and len(d.vpc.azs) == 1
    assert all(f.name.endswith("-dev") for f in d.functions)
    text = Path(MANIFEST).read_text().splitlines()
    # The overridden value points at the profile's line, not the base's.
    assert "memoryMb: 256" in text[dev.line_of("functions[2].memoryMb") - 1]


def test_unknown_environment_is_an_input_error() -> None:
    with pytest.raises(InputError, match="environment 'staging' is not defined"):
        load_manifest(MANIFEST, "staging")


def _write(tmp_path: Path, text: str | bytes, name: str = "m.yaml") -> str:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def _broken(field: str, value: str) -> str:
    """The shipped manifest with one line replaced."""
    lines = Path(MANIFEST).read_text().splitlines()
    out = [
        line[: len(line) - len(line.lstrip())] + f"{field}: {value}"
        if line.strip().startswith(f"{field}:")
        else line
        for line in lines
    ]
    return "\n".join(out).replace("../handlers/", str(ROOT / "handlers") + "/") + "\n"


BAD = {
    "empty": ("", "manifest is empty"),
    "only a comment": ("# nothing\n", "manifest is empty"),
    "invalid yaml": ("name: [unclosed\n", "invalid YAML"),
    "a list at the top": ("- a\n- b\n", "must be a mapping"),
    "unknown key": (
        "version: 2\nname: tap\nfunctions: [{name: f, source: s.py}]\nsurprise: 1\n",
        ":4 surprise: unknown key",
    ),
    "wrong type": ("version: 2\nname: tap\nfunctions: oops\n", ":3 functions: Input should be a valid list"),
    "no version": ("name: tap\nfunctions: [{name: f, source: s.py}]\n", ":1 version: no `version`"),
    "another version": ("name: tap\nversion: 3\n", ":2 version: manifest version 3 is not supported"),
    "one stream (version 1)": (
        "name: tap\nstream: {name: events, shards: 4}\n",
        ":2 stream: `stream:` is the version-1 shape; version 2 lists each kind by name: write "
        "`version: 2` and `streams: [{name: events, shards: 4}]`",
    ),
    "binary": (b"\x00\x01\x02\xff", "binary data"),
    "not utf-8": (b"name: \xff\xfe\n", "not UTF-8"),
    "duplicate key": ("name: a\nname: b\n", ":2 duplicate key 'name'"),
    "alias bomb": (
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
        ),
        "alias bomb",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_manifest_gets_one_clear_message_and_exit_2(cli, tmp_path: Path, case: str) -> None:
    text, expected = BAD[case]
    path = _write(tmp_path, text)
    result = cli("check", path, "--sandbox", "fresh-account")
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert path in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (
            "reservedConcurrency",
            "-5",
            "functions[0].reservedConcurrency: Input should be greater than or equal to 1",
        ),
        (
            "reservedConcurrency",
            "0",
            "functions[0].reservedConcurrency: Input should be greater than or equal to 1",
        ),
        ("memoryMb", "99999999", "functions[0].memoryMb: Input should be less than or equal to 10240"),
        ("shards", "1e12", "streams[0].shards"),
        ("azCount", "two", "vpc.azCount: Input should be a valid integer"),
    ],
)
def test_bad_values_name_file_line_and_field(
    cli, tmp_path: Path, field: str, value: str, expected: str
) -> None:
    path = _write(tmp_path, _broken(field, value))
    result = cli("check", path, "--env", "prod", "--sandbox", "fresh-account")
    assert result.exit_code == 2, result.output
    assert expected in result.output
    line = next(
        i for i, text in enumerate(Path(path).read_text().splitlines(), 1) if f"{field}: {value}" in text
    )
    assert f"{path}:{line} " in result.output


def test_missing_file_and_directory(cli, tmp_path: Path) -> None:
    missing = cli("check", str(tmp_path / "nope.yaml"), "--sandbox", "fresh-account")
    assert missing.exit_code == 2 and "manifest not found" in missing.output
    directory = cli("check", str(tmp_path), "--sandbox", "fresh-account")
    assert directory.exit_code == 2 and "is a directory" in directory.output


def test_reference_errors_point_at_the_reference(tmp_path: Path) -> None:
    text = Path(MANIFEST).read_text().replace("topic: alarms}", "topic: nowhere}", 1)
    path = _write(tmp_path, text.replace("../handlers/", str(ROOT / "handlers") + "/"))
    with pytest.raises(InputError, match=r"alarms\[0\]\.topic: no topic named 'nowhere'") as err:
        load_manifest(path, "prod")
    assert (
        err.value.line
        == text.splitlines().index(next(line for line in text.splitlines() if "nowhere" in line)) + 1
    )


def test_bad_flag_value_is_exit_2(cli) -> None:
    result = cli("check", MANIFEST, "--limit", "L-1B52E74A=lots", "--sandbox", "fresh-account")
    assert result.exit_code == 2 and "--limit expects CODE=N" in result.output
    result = cli("check", MANIFEST, "--limit", "L-NOTAQUOTA=3", "--sandbox", "fresh-account")
    assert result.exit_code == 2 and "not a quota this tool knows" in result.output


def test_schema_command_prints_the_json_schema(cli) -> None:
    result = cli("schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["title"] == "tap-preflight manifest"
    assert "reservedConcurrency" in json.dumps(schema)
    assert schema["additionalProperties"] is False


def test_help_and_version_do_not_import_boto3() -> None:
    code = (
        "import sys\n"
        "from cli import main\n"
        "for args in (['--help'], ['--version'], ['check', '--help'], ['plan', '--help']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('boto3', 'botocore', 'pulumi', 'moto', 'rich') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    assert "HEAVY []" in out
    assert "tap-preflight, version" in out


def test_a_version_1_profile_and_alarm_say_what_to_write_instead(tmp_path: Path) -> None:
    shipped = Path(MANIFEST).read_text().replace("../handlers/", str(ROOT / "handlers") + "/")
    profile = shipped.replace("    streams:\n      events: {shards: 2}\n", "    stream: {shards: 2}\n", 1)
    assert profile != shipped
    with pytest.raises(InputError) as err:
        load_manifest(_write(tmp_path, profile), "test")
    assert err.value.path == "environments.test.stream"
    assert err.value.line == profile.splitlines().index("    stream: {shards: 2}") + 1
    assert "override a stream by name, as functions are: `streams: {events: {shards: 2}}`" in str(err.value)
    alarm = shipped.replace("    stream: events\n", "    stream: true\n", 1)
    with pytest.raises(InputError) as err:
        load_manifest(_write(tmp_path, alarm, "alarm.yaml"), "prod")
    assert err.value.path == "alarms[6].stream"
    assert "write stream: <the name of a streams entry>" in str(err.value)


def test_an_alarm_names_a_stream_of_the_manifest(tmp_path: Path) -> None:
    text = Path(MANIFEST).read_text().replace("../handlers/", str(ROOT / "handlers") + "/")
    with pytest.raises(
        InputError, match=r"alarms\[6\]\.stream: no stream named 'event'; did you mean 'events'\?"
    ):
        load_manifest(
            _write(tmp_path, text.replace("    stream: events\n", "    stream: event\n", 1)), "prod"
        )
