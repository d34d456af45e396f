"""Settings files and accepted risk: found upward, flags win, bad files named with the key; --skip and
config `skip` entries make a WARN or UNKNOWN SUPPRESSED (never a FAIL), expired ones fail the gate."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from preflight.report.report import CheckFinding
from preflight.skips import Skip, suppress
from preflight.support.config import active_skips, find_config, load_config
from preflight.support.errors import InputError
from tests.conftest import MANIFEST


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- finding the file --------------------------------------------------------------------------------


def test_the_nearest_file_is_found_from_the_current_directory_upward(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.tap-preflight]\nenv = "prod"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == tmp_path / "pyproject.toml"
    write(tmp_path / "a" / ".tap-preflight.toml", 'env = "staging"\n')
    assert find_config(deep) == tmp_path / "a" / ".tap-preflight.toml"
    assert load_config(start=deep).defaults == {"environment": "staging"}


def test_a_pyproject_without_the_table_is_passed_over(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.ruff]\nline-length = 100\n")
    assert find_config(tmp_path) is None or find_config(tmp_path) != tmp_path / "pyproject.toml"


def test_every_setting_becomes_a_click_default_paths_relative_to_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "proj" / ".tap-preflight.toml",
        'manifest = "manifests/app.yaml"\nenv = "prod"\nregions = ["us-east-1", "eu-west-1"]\n'
        'warn-threshold = 0.7\nfail-on = ["warn"]\nformat = "json"\n'
        'reports = { sarif = "out/gate.sarif" }\n',
    )
    config = load_config(path)
    here = Path.cwd()
    rel = Path(config.defaults["manifest"])
    assert (here / rel).resolve() == (tmp_path / "proj" / "manifests" / "app.yaml").resolve()
    assert config.defaults["regions"] == ("us-east-1", "eu-west-1")
    assert config.defaults["warn_threshold"] == 0.7
    assert config.defaults["fail_on"] == ("warn",)
    assert config.defaults["fmt"] == "json"
    assert config.defaults["reports"][0].startswith("sarif=")
    assert set(config.default_map()) == {"check", "plan", "deploy", "place", "sweep"}


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('formt = "json"\n', "formt", "did you mean 'format'"),
        ('fail-on = ["warnings"]\n', "fail-on", "did you mean 'warn'"),
        ("warn-threshold = 80\n", "warn-threshold", "at most 1"),
        ("regions = []\n", "regions", "non-empty list"),
        ('[[skip]]\nquota = "L-F678F1CE"\n', "skip[1].reason", "is required"),
        ('[[skip]]\nquota = "L-F678F1CE"\nreason = "x"\nexpires = "soon"\n', "skip[1].expires", "TOML date"),
        ('[[skip]]\nquota = "L-F678F1CE"\nreason = "x"\nresaon = "y"\n', "skip[1].resaon", "did you mean"),
        ("env = \n", "", "not valid TOML"),
    ],
)
def test_a_bad_file_names_the_file_and_the_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    path = write(tmp_path / ".tap-preflight.toml", text)
    with pytest.raises(InputError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and key in message and words in message, message


def test_in_pyproject_the_key_is_given_with_its_table(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", '[tool.tap-preflight]\nenviron = "prod"\n')
    with pytest.raises(
        InputError, match=r"tool\.tap-preflight\.environ: unknown setting; did you mean 'env'"
    ):
        load_config(path)


# -- skips -------------------------------------------------------------------------------------------


def test_an_expired_entry_fails_the_gate_and_a_live_one_is_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path / ".tap-preflight.toml",
        '[[skip]]\nquota = "L-F678F1CE"\nreason = "OPS-1"\nexpires = 2026-06-30\n',
    )
    config = load_config(path)
    assert [s.code for s in active_skips(config, ["L-B99A9384:region"], today=date(2026, 6, 30))] == [
        "L-F678F1CE",
        "L-B99A9384",
    ]
    with pytest.raises(
        InputError, match=r"skip\[1\]\.expires: the accepted risk L-F678F1CE \(OPS-1\) expired"
    ):
        active_skips(config, [], today=date(2026, 7, 1))


def test_a_flag_without_a_code_is_refused() -> None:
    from preflight.support.config import Config

    with pytest.raises(InputError, match="--skip"):
        active_skips(Config(), [":region"])


def test_a_check_is_suppressed_by_its_id_and_manifest_path() -> None:
    check = CheckFinding(
        kind="availability",
        id="TAP-A002",
        title="Endpoint service not offered",
        status="UNKNOWN",
        message="cannot tell",
        resources=("endpoints[1]",),
    )
    assert suppress([check], [Skip("TAP-A002", scope="endpoints[0]")])[0].status == "UNKNOWN"
    assert suppress([check], [Skip("TAP-A002", scope="endpoints[1]", reason="ok")])[0].status == "SUPPRESSED"


# -- through the CLI, against the emulated account ---------------------------------------------------


def _plan(cli: Any, *extra: str) -> Any:
    return cli("plan", "--adapt", MANIFEST, "--env", "prod", "--sandbox", "seed-account", *extra)


def test_plan_warns_fail_the_gate_until_accepted_in_the_settings(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = _plan(cli, "--fail-on", "warn", "--format", "json")
    assert failing.exit_code == 1, failing.output
    warns = sorted(f["quota_code"] for f in json.loads(failing.stdout)["findings"] if f["status"] == "WARN")
    assert warns == ["L-B99A9384", "L-F678F1CE"]

    write(
        tmp_path / ".tap-preflight.toml",
        'fail-on = ["warn"]\nformat = "json"\n'
        + "".join(
            f'[[skip]]\nquota = "{code}"\nreason = "accepted in OPS-{i}"\n' for i, code in enumerate(warns)
        ),
    )
    monkeypatch.chdir(tmp_path / ".")  # the settings are found from here
    accepted = _plan(cli)
    assert accepted.exit_code == 0, accepted.output
    report = json.loads(accepted.stdout)  # format = "json" came from the file
    suppressed = {
        f["quota_code"]: f["suppression"] for f in report["findings"] if f["status"] == "SUPPRESSED"
    }
    assert set(suppressed) == set(warns) and suppressed["L-F678F1CE"]["reason"].startswith("accepted in OPS-")
    assert [o["flag"] for o in report["overrides"]] == ["--skip", "--skip"]

    # A flag wins over the file.
    markdown = _plan(cli, "--format", "markdown")
    assert markdown.exit_code == 0 and markdown.stdout.startswith("### ")


def test_an_expired_entry_fails_the_gate_with_exit_2(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.tap-preflight]\n[[tool.tap-preflight.skip]]\nquota = "L-F678F1CE"\nreason = "OPS-1"\n'
        "expires = 2020-01-01\n",
    )
    monkeypatch.chdir(tmp_path)
    result = _plan(cli)
    assert result.exit_code == 2
    assert "pyproject.toml tool.tap-preflight.skip[1].expires" in result.stderr
    assert "expired on 2020-01-01" in result.stderr


def test_a_bad_settings_file_is_exit_2_but_help_still_works(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / ".tap-preflight.toml", 'formt = "json"\n')
    monkeypatch.chdir(tmp_path)
    result = cli("check", MANIFEST, "--sandbox", "seed-account")
    assert result.exit_code == 2
    assert ".tap-preflight.toml formt: unknown setting; did you mean 'format'?" in result.stderr
    assert cli("check", "--help").exit_code == 0


def test_a_fail_cannot_be_skipped(cli: Any) -> None:
    result = cli(
        "check",
        MANIFEST,
        "--env",
        "prod",
        "--sandbox",
        "seed-account",
        "--skip",
        "L-1B52E74A",
        "--format",
        "json",
    )
    assert result.exit_code == 1
    statuses = {f["quota_code"]: f["status"] for f in json.loads(result.stdout)["findings"]}
    assert statuses["L-1B52E74A"] == "FAIL"
    assert "L-1B52E74A is a FAIL, which cannot be suppressed" in result.stderr
