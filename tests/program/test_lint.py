"""`lint`: the seed's code defects in a program's source, and the project's own program passes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from preflight.program.lint import lint_paths
from preflight.support.errors import InputError
from tests.program.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "lint"


def rules(paths: list[Path]) -> list[tuple[str, int]]:
    return [(f.rule, f.line) for f in lint_paths(paths)]


def lint_source(tmp_path: Path, source: str, name: str = "prog.py") -> list[tuple[str, int]]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return rules([path])


def test_crlf_fixture() -> None:
    path = FIXTURES / "crlf_program.py"
    assert b"\r\n" in path.read_bytes(), "the fixture lost its CRLF bytes (.gitattributes: -text)"
    (finding,) = lint_paths([path])
    assert (finding.rule, finding.line, finding.file) == ("TAP001", 1, str(path))
    assert "CRLF" in finding.message


def test_duplicated_alarm_fixture() -> None:
    (finding,) = lint_paths([FIXTURES / "duplicated_alarm.py"])
    assert finding.rule == "TAP002" and finding.line == 27
    assert "alarm.name" in finding.message and "MetricAlarm" in finding.message


def test_mismatched_role_policy_fixture() -> None:
    (finding,) = lint_paths([FIXTURES / "mismatched_role_policy.py"])
    assert finding.rule == "TAP003" and finding.line == 14
    assert "AWSLambdaVPCAccessExecutionRole" in finding.message


def test_clean_fixture() -> None:
    assert lint_paths([FIXTURES / "clean_program.py"]) == []


def test_the_fixture_directory() -> None:
    assert sorted({f.rule for f in lint_paths([FIXTURES])}) == ["TAP001", "TAP002", "TAP003"]


def test_the_projects_own_program_passes() -> None:
    assert lint_paths([ROOT / "tap.py", ROOT / "preflight" / "program"]) == []


def test_same_literal_name_twice(tmp_path: Path) -> None:
    found = lint_source(
        tmp_path,
        """
        import pulumi_aws as aws
        aws.sns.Topic("a", name="alarms")
        aws.sns.Topic("b", name="alarms")
        aws.sqs.Queue("c", name="alarms")  # another type: another namespace
        """,
    )
    assert found == [("TAP002", 4)]


def test_same_expression_twice_and_exclusive_branches(tmp_path: Path) -> None:
    found = lint_source(
        tmp_path,
        """
        from pulumi_aws import lambda_
        def build(fn, attached):
            if attached:
                lambda_.Function("f", name=f"pipeline-{fn}", vpc_config={"subnet_ids": []})
            else:
                lambda_.Function("f", name=f"pipeline-{fn}")
            lambda_.Function("g", name=f"pipeline-{fn}")
        """,
    )
    assert found == [("TAP002", 8)]


def test_constant_name_in_a_loop(tmp_path: Path) -> None:
    found = lint_source(
        tmp_path,
        """
        import pulumi_aws as aws
        for i in range(3):
            aws.cloudwatch.MetricAlarm(f"a-{i}", name="pipeline-errors")
        """,
    )
    assert found == [("TAP002", 4)]


def test_named_after_an_attribute_resource(tmp_path: Path) -> None:
    found = lint_source(
        tmp_path,
        """
        import pulumi_aws as aws
        class C:
            def __init__(self, topic):
                self.alarm = aws.cloudwatch.MetricAlarm("a", name="pipeline-errors")
                aws.cloudwatch.MetricAlarm("a2", name=self.alarm.name, alarm_actions=[topic.arn])
                aws.sns.Topic("t", name=self.alarm.name)  # another type: allowed
        """,
    )
    assert found == [("TAP002", 6)]


def test_vpc_policy_judged_with_functions_of_other_files(tmp_path: Path) -> None:
    (tmp_path / "role.py").write_text(
        "import pulumi_aws as aws\n"
        "POLICY = 'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole'\n"
        "aws.iam.RolePolicyAttachment('vpc', role='r', policy_arn=POLICY)\n"
    )
    assert rules([tmp_path / "role.py"]) == [("TAP003", 3)]
    (tmp_path / "fns.py").write_text(
        "import pulumi_aws as aws\naws.lambda_.Function('f', name='f', vpc_config={'subnet_ids': ['s']})\n"
    )
    assert rules([tmp_path]) == []


def test_unparsable_file(tmp_path: Path) -> None:
    assert lint_source(tmp_path, "def broken(:\n") == [("TAP000", 1)]


def test_missing_path() -> None:
    with pytest.raises(InputError, match="no such file"):
        lint_paths([ROOT / "does-not-exist"])


def test_check_plan_and_lint_do_not_import_pulumi() -> None:
    code = (
        "import sys, preflight.program, preflight.program.lint, preflight.program.planfile, "
        "preflight.program.names, preflight.commands.run, preflight.manifest\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_aws')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
