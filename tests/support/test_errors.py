"""Errors that reach a person: one line that says what to fix, the right exit code, never a traceback.

The handler (preflight/support/exits.py) maps every failure: input problems exit 2, AWS and environment
problems exit 3 with the fix named, anything unexpected exits 3 as an "internal error" whose traceback
only `--debug` shows. Manifest errors come all at once, where they are written, with a "did you mean".
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import botocore.exceptions as bx
import click
import jsonschema
import pytest
import yaml

from preflight.manifest import load_manifest, manifest_json_schema
from preflight.support.errors import InputError, InputProblems
from preflight.support.exits import ExitCode, classify
from preflight.support.sourcefile import MAX_REPORTED
from tests.conftest import MANIFEST, ROOT

HANDLERS = str(ROOT / "handlers") + "/"


def _no_aws(**extra: str) -> dict[str, str | None]:
    """An environment for CliRunner with no AWS credentials anywhere (so nothing goes to the network)."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
        AWS_CONFIG_FILE="/nonexistent/config",
        AWS_EC2_METADATA_DISABLED="true",
        TAP_PREFLIGHT_DEBUG=None,
    )
    env.update(extra)
    return env


def _errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("tap-preflight: error:")]


def _manifest(tmp_path: Path, *replacements: tuple[str, str]) -> tuple[str, list[str]]:
    text = Path(MANIFEST).read_text().replace("../handlers/", HANDLERS)
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return str(path), text.splitlines()


def _line_of(lines: list[str], needle: str) -> int:
    return next(i for i, line in enumerate(lines, 1) if needle in line)


# --- AWS and environment problems: exit 3 and the fix ------------------------------------------------


def test_unknown_profile_names_the_fix(cli) -> None:
    result = cli("check", MANIFEST, "--profile", "nope", env=_no_aws())
    assert result.exit_code == 3, result.output
    assert _errors(result) == [
        "tap-preflight: error: profile 'nope' not found in /nonexistent/config; "
        "list them with `aws configure list-profiles`"
    ]
    assert "Traceback" not in result.output


def test_unknown_profile_names_the_default_config_file(cli, tmp_path: Path) -> None:
    result = cli("check", MANIFEST, "--profile", "nope", env=_no_aws(AWS_CONFIG_FILE="", HOME=str(tmp_path)))
    assert result.exit_code == 3, result.output
    assert "profile 'nope' not found in ~/.aws/config" in result.stderr


def test_a_garbage_aws_config_file_is_exit_3_naming_it(cli, tmp_path: Path) -> None:
    garbage = tmp_path / "config"
    garbage.write_bytes(b"[default\n\x00\xff garbage = = =\n")
    result = cli("check", MANIFEST, env=_no_aws(AWS_CONFIG_FILE=str(garbage)))
    assert result.exit_code == 3, result.output
    [line] = _errors(result)
    assert str(garbage) in line and "AWS_CONFIG_FILE" in line
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("exc", "hint"),
    [
        (bx.ProfileNotFound(profile="nope"), "aws configure list-profiles"),
        (bx.ConfigParseError(path="/x/config"), "/x/config"),
        (bx.NoCredentialsError(), "aws configure"),
        (
            bx.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
            "AWS_SECRET_ACCESS_KEY",
        ),
        (bx.NoRegionError(), "--region"),
        (bx.InvalidRegionError(region_name="moon-1"), "'moon-1' is not an AWS region name"),
        (bx.EndpointConnectionError(endpoint_url="https://x.invalid"), "--endpoint-url"),
        (bx.ConnectTimeoutError(endpoint_url="https://x.invalid"), "check the network"),
        (bx.ReadTimeoutError(endpoint_url="https://x.invalid"), "check the network"),
        (bx.ProxyConnectionError(proxy_url="http://proxy.invalid"), "HTTPS_PROXY"),
        (bx.SSLError(endpoint_url="https://x.invalid", error="bad cert"), "AWS_CA_BUNDLE"),
        (bx.UnauthorizedSSOTokenError(), "aws sso login"),
        (bx.CredentialRetrievalError(provider="process", error_msg="exit 1"), "credential_process"),
        (bx.InvalidMaxRetryAttemptsError(provided_max_attempts=-1, min_value=1), "AWS_MAX_ATTEMPTS"),
        (ValueError("Invalid endpoint: not a url"), "AWS_ENDPOINT_URL"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)
def test_aws_and_environment_failures_exit_3_naming_the_fix(exc: BaseException, hint: str) -> None:
    failure = classify(exc)
    assert failure.code == ExitCode.ENVIRONMENT
    assert hint in failure.message
    assert "\n" not in failure.message
    assert not failure.internal


def test_input_errors_exit_2_and_verdicts_alone_exit_1() -> None:
    assert classify(InputError("bad", file="m.yaml", line=3, path="name")).code == ExitCode.INPUT
    assert classify(KeyboardInterrupt()).code == ExitCode.INTERRUPTED
    assert classify(RecursionError("deep")).code == ExitCode.ENVIRONMENT
    assert ExitCode.NO_GO == 1 and ExitCode.INPUT == 2 and ExitCode.ENVIRONMENT == 3


def test_every_error_class_carries_a_member_of_the_one_exit_code_enum() -> None:
    from preflight.account.aws import AwsCallError
    from preflight.commands.deploy import DeployEnvironmentError
    from preflight.support import errors
    from preflight.support.exits import ExitCode as FromExits

    assert FromExits is errors.ExitCode  # one enum, however it is imported
    classes = [errors.InputError, errors.AwsAccessError, errors.EnvironmentProblem, AwsCallError]
    codes = {cls: cls.exit_code for cls in [*classes, DeployEnvironmentError]}
    assert codes[errors.InputError] is ExitCode.INPUT
    assert codes[errors.AwsAccessError] == codes[AwsCallError] == ExitCode.ENVIRONMENT
    assert codes[DeployEnvironmentError] is ExitCode.ENVIRONMENT


def test_a_failed_call_that_leaves_the_account_unusable_is_translated_in_one_place() -> None:
    from preflight.account.aws import AwsCallError
    from preflight.support.errors import AwsAccessError

    failed = AwsCallError("sts", "AssumeRole", "AccessDenied", "not authorized")
    translated = AwsAccessError.of_call(failed)
    assert str(translated) == str(failed) and "access denied (needs sts:AssumeRole)" in str(translated)
    assert translated.operation == "sts:AssumeRole" and translated.permission == "sts:AssumeRole"
    assert classify(translated).code == ExitCode.ENVIRONMENT


# --- internal errors: one line, the traceback only with --debug ----------------------------------------


@pytest.fixture
def broken_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    import preflight.manifest

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(preflight.manifest, "load_manifest", boom)


def test_an_internal_error_is_one_line_exit_3_without_traceback(cli, broken_loader: None) -> None:
    result = cli("check", MANIFEST, "--sandbox", "fresh-account", env={"TAP_PREFLIGHT_DEBUG": None})
    assert result.exit_code == 3, result.output
    assert _errors(result) == [
        "tap-preflight: error: internal error: RuntimeError: boom (run with --debug for the traceback)"
    ]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "env"),
    [(("--debug",), {"TAP_PREFLIGHT_DEBUG": None}), ((), {"TAP_PREFLIGHT_DEBUG": "1"})],
    ids=["--debug", "TAP_PREFLIGHT_DEBUG=1"],
)
def test_debug_shows_the_traceback(cli, broken_loader: None, args: tuple[str, ...], env: dict) -> None:
    result = cli(*args, "check", MANIFEST, "--sandbox", "fresh-account", env=env)
    assert result.exit_code == 3, result.output
    assert "Traceback (most recent call last)" in result.stderr
    assert "RuntimeError: boom" in result.stderr
    assert "run with --debug" not in result.stderr


def test_an_interrupt_is_130_not_a_verdict(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import preflight.manifest

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(preflight.manifest, "load_manifest", interrupted)
    result = cli("check", MANIFEST, "--sandbox", "fresh-account")
    assert result.exit_code == 130
    assert result.stderr == "tap-preflight: interrupted\n"


def test_a_click_error_raised_by_a_command_is_never_exit_1(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import preflight.manifest

    def click_error(*_args: object, **_kwargs: object) -> None:
        raise click.ClickException("cannot use that")

    monkeypatch.setattr(preflight.manifest, "load_manifest", click_error)
    result = cli("check", MANIFEST, "--sandbox", "fresh-account")
    assert result.exit_code == 2, result.output
    assert "cannot use that" in result.output


# --- manifest errors that teach ------------------------------------------------------------------------


def test_every_manifest_error_at_once_in_file_order_with_did_you_mean(cli, tmp_path: Path) -> None:
    path, lines = _manifest(
        tmp_path,
        ("    memoryMb: 512\n", "    memoryMB: 512\n"),
        ("service: dynamodb", "service: dynamo"),
        ("    shards: 4", "    shards: -4"),
    )
    result = cli("check", path, "--env", "prod", "--sandbox", "fresh-account")
    assert result.exit_code == 2, result.output
    enrich, archive = (i for i, line in enumerate(lines, 1) if "memoryMB: 512" in line)
    unknown = "unknown key; did you mean 'memoryMb'?"
    assert _errors(result) == [
        f"tap-preflight: error: {path}:{_line_of(lines, 'service: dynamo')} endpoints[1].service: "
        "Input should be 's3', 'dynamodb' or 'kinesis-streams' (got 'dynamo'); did you mean 'dynamodb'?",
        f"tap-preflight: error: {path}:{enrich} functions[2].memoryMB: {unknown}",
        f"tap-preflight: error: {path}:{archive} functions[4].memoryMB: {unknown}",
        f"tap-preflight: error: {path}:{_line_of(lines, 'shards: -4')} streams[0].shards: "
        "Input should be greater than or equal to 1 (got -4)",
    ]


def test_an_enum_value_in_the_wrong_case_is_suggested_in_the_right_one(tmp_path: Path) -> None:
    path, _ = _manifest(tmp_path, ("billingMode: PAY_PER_REQUEST", "billingMode: provisioned"))
    with pytest.raises(InputError) as err:
        load_manifest(path, "prod")
    assert str(err.value).endswith(
        "tables[0].billingMode: Input should be 'PAY_PER_REQUEST' or 'PROVISIONED' (got 'provisioned'); "
        "did you mean 'PROVISIONED'?"
    )


def test_an_unknown_key_without_a_close_match_lists_the_keys(tmp_path: Path) -> None:
    path, _ = _manifest(tmp_path, ("  azCount: 2", "  azCount: 2\n  zzzzzz: 1"))
    with pytest.raises(InputError) as err:
        load_manifest(path, "prod")
    assert "vpc.zzzzzz: unknown key; the keys here are: name, cidr, azCount, publicSubnets" in str(err.value)


def test_an_override_error_is_reported_where_it_is_written(cli, tmp_path: Path) -> None:
    path, lines = _manifest(
        tmp_path,
        (
            '"*": {reservedConcurrency: 10, minReservedConcurrency: 2}',
            '"*": {reservedConcurency: 10, minReservedConcurrency: 2}',
        ),
    )
    result = cli("check", path, "--env", "test", "--sandbox", "fresh-account")
    assert result.exit_code == 2, result.output
    # Five functions receive the typo; it is one mistake, written once.
    assert _errors(result) == [
        f"tap-preflight: error: {path}:{_line_of(lines, 'reservedConcurency')} "
        'environments.test.functions."*".reservedConcurency: unknown key; '
        "did you mean 'reservedConcurrency'?"
    ]


def test_an_override_value_error_names_the_override(tmp_path: Path) -> None:
    path, lines = _manifest(tmp_path, ("      events: {shards: 2}", "      events: {shards: 0}"))
    with pytest.raises(InputError) as err:
        load_manifest(path, "test")
    assert err.value.path == "environments.test.streams.events.shards"
    assert err.value.line == _line_of(lines, "shards: 0")


def test_an_override_of_a_missing_entry_suggests_the_name(tmp_path: Path) -> None:
    path, _ = _manifest(tmp_path, ('"*": {reservedConcurrency: 5,', "ingset: {reservedConcurrency: 5,"))
    with pytest.raises(
        InputError, match=r"no functions entry named 'ingset' to override; did you mean 'ingest'\?"
    ):
        load_manifest(path, "dev")


def test_an_unknown_environment_suggests_the_closest(cli) -> None:
    result = cli("check", MANIFEST, "--env", "tset", "--sandbox", "fresh-account")
    assert result.exit_code == 2
    assert (
        "environment 'tset' is not defined (defined: dev, prod, test); did you mean 'test'?" in result.stderr
    )


def test_reference_errors_come_all_at_once(tmp_path: Path) -> None:
    path, lines = _manifest(
        tmp_path,
        (
            "metric: Errors, function: ingest, threshold: 1, topic: alarms}",
            "metric: Errors, function: ingset, threshold: 1, topic: alarm}",
        ),
    )
    with pytest.raises(InputProblems) as err:
        load_manifest(path, "prod")
    line = _line_of(lines, "ingset")
    assert str(err.value).splitlines() == [
        f"{path}:{line} alarms[0].topic: no topic named 'alarm'; did you mean 'alarms'?",
        f"{path}:{line} alarms[0].function: no function named 'ingset'; did you mean 'ingest'?",
    ]


def test_many_errors_are_capped_and_counted(cli, tmp_path: Path) -> None:
    count = MAX_REPORTED + 7
    functions = "".join(f"  - {{name: f{i}, source: s.py, memoryMB: 1}}\n" for i in range(count))
    path = tmp_path / "many.yaml"
    path.write_text(f"version: 2\nname: tap\nfunctions:\n{functions}")
    result = cli("check", str(path), "--sandbox", "fresh-account")
    assert result.exit_code == 2
    errors = _errors(result)
    assert len(errors) == MAX_REPORTED + 1
    assert all(
        f"{path}:{i + 4} functions[{i}].memoryMB: unknown key" in errors[i] for i in range(MAX_REPORTED)
    )
    assert errors[-1] == f"tap-preflight: error: {path}: and 7 more problems"


# --- the schema an editor shows --------------------------------------------------------------------------


def _properties(schema: dict) -> list[tuple[str, str, dict]]:
    models = [("manifest", schema), *schema["$defs"].items()]
    return [
        (model, name, prop) for model, body in models for name, prop in body.get("properties", {}).items()
    ]


def test_every_schema_property_has_a_description_and_no_field_name_title() -> None:
    properties = _properties(manifest_json_schema())
    assert len(properties) >= 70
    undescribed = [f"{model}.{name}" for model, name, prop in properties if not prop.get("description")]
    assert undescribed == []
    assert [f"{m}.{n}" for m, n, prop in properties if "title" in prop] == []


def test_the_schema_is_valid_identified_and_accepts_the_shipped_manifest() -> None:
    schema = manifest_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("urn:tap-preflight:manifest")
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(yaml.safe_load(Path(MANIFEST).read_text()))) == []


def test_the_schemas_examples_are_valid_values_and_units_are_named() -> None:
    schema = manifest_json_schema()
    for model, name, prop in _properties(schema):
        for example in prop.get("examples", []):
            errors = list(
                jsonschema.Draft202012Validator({**prop, "$defs": schema["$defs"]}).iter_errors(example)
            )
            assert errors == [], f"{model}.{name}: example {example!r}: {errors[0].message}"
    described = {name: prop["description"] for _, name, prop in _properties(schema)}
    assert "MB" in described["memoryMb"]
    assert "seconds" in described["timeoutS"] and "seconds" in described["periodS"]
    assert "hours" in described["retentionHours"]
    assert "concurrent executions" in described["minReservedConcurrency"]


def test_the_readme_shows_the_modeline_and_how_to_write_the_schema() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "# yaml-language-server: $schema=" in readme
    assert "tap-preflight schema > " in readme


def test_schema_command_output_is_the_schema(cli) -> None:
    result = cli("schema")
    assert result.exit_code == 0
    assert json.loads(result.output) == manifest_json_schema()


def test_a_system_error_is_exit_3_without_internal_error() -> None:
    failure = classify(OSError(98, "Address already in use"))
    assert failure.code == ExitCode.ENVIRONMENT and not failure.internal
    assert failure.message == "system error: Address already in use"
    denied = classify(PermissionError(13, "Permission denied", "/etc/out.json"))
    assert denied.message == "system error: Permission denied: /etc/out.json"


def test_an_unknown_scenario_suggests_the_closest(cli) -> None:
    result = cli("check", MANIFEST, "--sandbox", "seed-acount")
    assert result.exit_code == 2
    assert "did you mean 'seed-account'?" in result.stderr


@pytest.mark.parametrize(
    "source",
    [
        "x = " + "+".join(["a"] * 2000) + "\n",
        "x = " + "-" * 100_000 + "1\n",
        "x = " + "not " * 20_000 + "a\n",
    ],
    ids=["long chain", "parser overflow", "ast too deep"],
)
def test_lint_reports_deep_nesting_as_a_finding(cli, tmp_path: Path, source: str) -> None:
    path = tmp_path / "deep.py"
    path.write_text(source)
    result = cli("lint", str(path))
    assert "Traceback" not in result.output
    assert result.exit_code == 1  # a finding is lint's verdict
    # Whether the parser or the analysis gives up first depends on the stack already in use.
    assert re.search(
        rf"{re.escape(str(path))}:1: TAP000 cannot (parse|analyse): expressions nested too deeply",
        result.output,
    )


def test_a_port_in_use_is_exit_3_naming_the_fix(cli) -> None:
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = cli("sandbox", "serve", "--port", str(port))
    assert result.exit_code == 3, result.output
    [line] = _errors(result)
    assert f"127.0.0.1:{port}" in line and "pick another --port" in line
    assert "Traceback" not in result.output


def test_every_unusable_yaml_value_at_once(tmp_path: Path) -> None:
    path = tmp_path / "tags.yaml"
    path.write_text(
        "name: tap\n"
        "functions:\n"
        "  - name: f\n"
        "    source: s.py\n"
        "    memoryMb: !!binary aGVsbG8=\n"
        "    weight: !!float abc\n"
        "    uses: !!set {s3: null}\n"
        "    handler: !!python/name:os.system x\n"
    )
    with pytest.raises(InputProblems) as err:
        load_manifest(str(path))
    assert [(p.line, p.path) for p in err.value.problems] == [
        (5, "functions[0].memoryMb"),
        (6, "functions[0].weight"),
        (7, "functions[0].uses"),
        (8, "functions[0].handler"),
    ]
    assert "YAML tag !!binary is not allowed here" in str(err.value)
    assert "cannot read 'abc' as !!float" in str(err.value)


def test_dates_stay_strings_and_a_lone_equals_sign_is_a_string(tmp_path: Path) -> None:
    from preflight.support.sourcefile import parse_yaml

    data, _ = parse_yaml("created: 2024-01-01\nsign: =\n", "x.yaml")
    assert data == {"created": "2024-01-01", "sign": "="}


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "--debug"])
def test_a_logged_traceback_shows_only_with_debug(cli, monkeypatch: pytest.MonkeyPatch, debug: bool) -> None:
    """A sandbox bug, logged in a request thread: one line; its trace only with --debug."""
    import preflight.sandbox.rules as rules

    def broken(*_args: object) -> None:
        raise RuntimeError("sandbox bug")

    monkeypatch.setitem(rules.RULES, ("lambda", "GetAccountSettings"), broken)
    args = ("--debug",) if debug else ()
    result = cli(*args, "check", MANIFEST, "--sandbox", "fresh-account", env={"AWS_MAX_ATTEMPTS": "1"})
    assert result.exit_code == 3, result.output  # the concurrency quota is UNKNOWN: fail closed
    logged = [
        line for line in result.stderr.splitlines() if line.startswith("tap-preflight: [preflight.sandbox]")
    ]
    assert logged and logged[0].endswith("error: sandbox rule failed for lambda:GetAccountSettings")
    assert ("Traceback" in result.stderr) is debug


def test_a_library_exiting_1_inside_a_command_is_not_a_verdict(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import preflight.manifest

    monkeypatch.setattr(preflight.manifest, "load_manifest", lambda *_a, **_k: sys.exit(1))
    result = cli("check", MANIFEST, "--sandbox", "fresh-account")
    assert result.exit_code == 3, result.output
    assert "a library ended the run with exit code 1" in result.stderr
