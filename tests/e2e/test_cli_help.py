"""Help a person can use, and one vocabulary of flags across commands."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import Result

from tests.conftest import MANIFEST, ROOT

SCENARIOS = sorted(p.stem for p in (ROOT / "preflight" / "sandbox" / "scenarios").glob("*.yaml"))


def commands() -> Iterator[tuple[str, click.Command]]:
    from cli import main

    def walk(group: click.Group, prefix: str) -> Iterator[tuple[str, click.Command]]:
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                yield from walk(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", command

    yield from walk(main, "")


COMMANDS = dict(commands())


def test_the_commands_are_all_here() -> None:
    assert set(COMMANDS) == {
        "check", "plan", "deploy", "snapshot", "request-increases", "schema", "sandbox serve",
        "verify-program", "rehearse", "lint", "validate", "place", "quotas", "sweep",
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_examples_and_every_option_a_description(
    name: str, cli: Callable[..., Result]
) -> None:
    command = COMMANDS[name]
    undocumented = [
        p.name
        for p in command.params
        if isinstance(p, click.Option) and not p.hidden and not (p.help or "").strip()
    ]
    assert undocumented == [], f"{name}: options without help: {undocumented}"
    result = cli(*name.split(), "--help")
    assert result.exit_code == 0
    examples = result.output[result.output.index("Examples:") :]
    # Each example is a command this tool (or an AWS client, for the sandbox) really has.
    example_lines = [line.strip() for line in examples.splitlines()[1:] if line.strip()]
    runs = [line for line in example_lines if line.startswith("tap-preflight ")]
    assert runs, examples
    for line in runs:
        words = line.split()
        assert " ".join(words[1:3]) in COMMANDS or words[1] in COMMANDS, line


@pytest.mark.parametrize(
    "name", [n for n, c in COMMANDS.items() if any(p.name in ("sandbox", "scenario") for p in c.params)]
)
def test_sandbox_help_lists_the_shipped_scenarios(name: str, cli: Callable[..., Result]) -> None:
    assert len(SCENARIOS) >= 4
    text = " ".join(cli(*name.split(), "--help").output.split())
    listed = ", ".join(SCENARIOS)
    # click may break a name at its hyphen when it wraps: compare with the line breaks undone.
    assert listed in text.replace("- ", "-"), text


def test_every_command_that_writes_a_result_offers_every_format() -> None:
    # One renderer interface (preflight/report/formats): the same formats for every result, table by default.
    from preflight.report.formats import FORMAT_NAMES

    for name in ("check", "plan", "request-increases", "verify-program", "rehearse", "lint"):
        [fmt] = [p for p in COMMANDS[name].params if p.name == "fmt"]
        assert isinstance(fmt.type, click.Choice)
        assert tuple(fmt.type.choices) == FORMAT_NAMES, name
        assert fmt.default == "table"


def test_format_text_is_still_accepted(cli: Callable[..., Result], tmp_path: Path) -> None:
    missing = str(tmp_path / "absent.json")
    for name in ("verify-program", "rehearse"):
        extra = ("--sandbox", "fresh-account") if name == "rehearse" else ()
        result = cli(name, "--plan", missing, "--format", "text", *extra)
        assert result.exit_code == 2, result.output
        assert "Invalid value for '--format'" not in result.output
        assert "absent.json" in result.output  # it got as far as reading the plan
    bad = cli("verify-program", "--plan", missing, "--format", "yaml")
    assert bad.exit_code == 2 and "'table', 'json'" in bad.output


def test_report_is_an_output_everywhere_and_the_input_is_from_report() -> None:
    for name in ("check", "plan"):
        [report] = [p for p in COMMANDS[name].params if "--report" in getattr(p, "opts", [])]
        assert report.metavar == "FORMAT=PATH"
    increases = {o: p for p in COMMANDS["request-increases"].params for o in getattr(p, "opts", [])}
    assert not increases["--from-report"].hidden and increases["--report"].hidden


def test_every_help_stays_light() -> None:
    # --help must not pay for boto3, moto, pulumi or rich: the scenario names are read from their folder.
    code = (
        "import sys\n"
        "from cli import main\n"
        f"for args in {[[*n.split(), '--help'] for n in COMMANDS]!r}:\n"
        "    try:\n"
        "        main(args, prog_name='tap-preflight')\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ('boto3', 'botocore', 'pulumi', 'moto', 'rich', 'pydantic')\n"
        "print('HEAVY', [m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    assert "HEAVY []" in out
    assert out.count("Usage: tap-preflight") == len(COMMANDS)


# --- plan without --adapt ------------------------------------------------------------------------------


def test_plan_without_adapt_is_the_requested_plan_judged_as_check(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / "plan.json"
    args = (MANIFEST, "--env", "prod", "--sandbox", "seed-account")
    result = cli("plan", *args, "--format", "json", "--save-plan", str(path))
    assert result.exit_code == 1, result.output  # NO_GO, as check says
    report = json.loads(result.stdout)
    assert report["command"] == "plan" and report["verdict"] == "NO_GO"
    assert report["adaptations"] == []
    assert {f["quota_code"] for f in report["findings"] if f["status"] == "FAIL"} == {
        "L-1B52E74A",
        "L-B99A9384",
    }
    plan = json.loads(path.read_text())
    assert plan["verdict"] == "NO_GO" and plan["adaptations"] == []
    assert len(plan["deployment"]["endpoints"]) == 3  # as requested: nothing dropped
    assert f"plan written to {path}" in result.stderr
    table = cli("plan", *args)
    assert table.exit_code == 1
    assert "No changes: the plan is the deployment as requested." in table.stdout
    assert "tap-preflight plan --adapt" in table.stdout  # the next step is to let it adapt
