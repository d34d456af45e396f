"""What keeps a check fast without changing its answer (issue 11): what each path imports, the
collector left as it was found, reads started at once. Times are `make bench`'s, never asserted here."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

from preflight.support.collector import paused
from tests.conftest import MANIFEST, ROOT


def test_a_check_on_a_snapshot_imports_no_botocore(cli, tmp_path: Path) -> None:
    snapshot = tmp_path / "account.json"
    assert (
        cli("snapshot", MANIFEST, "--env", "prod", "--sandbox", "seed-account", "-o", str(snapshot)).exit_code
        == 0
    )
    args = ["check", MANIFEST, "--env", "prod", "--snapshot", str(snapshot), "--format", "json"]
    code = (
        "import sys\n"
        "from cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as exc:\n"
        "    print('EXIT', exc.code, file=sys.stderr)\n"
        "print('HEAVY', [m for m in ('boto3', 'botocore', 'moto') if m in sys.modules], file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "EXIT 1" in out.stderr, out.stderr  # the seed's account: NO_GO, from the file alone
    assert json.loads(out.stdout)["verdict"] == "NO_GO"
    assert "HEAVY []" in out.stderr


def test_the_collector_is_left_as_it_was_found() -> None:
    assert gc.isenabled()
    with paused(freeze=True):
        assert not gc.isenabled()
        kept = [[]]  # alive across the read: frozen after it
    assert gc.isenabled() and gc.get_freeze_count() > 0
    with paused(freeze=True):  # the next read gives the earlier one's objects back first
        assert gc.get_freeze_count() == 0
    gc.unfreeze()
    gc.disable()
    try:
        with paused(freeze=True):
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
        gc.unfreeze()
    assert kept


def test_services_asked_one_at_a_time_answer_as_botocore_lists_them() -> None:
    import botocore.exceptions
    import botocore.loaders

    from preflight.account import aws

    lister = botocore.loaders.Loader()
    asked = botocore.loaders.Loader()  # as the shared loader is made (the sandbox's may have listed first)
    aws._list_services_on_demand(asked)
    for type_name in aws._LISTED_TYPES:
        listed = lister.list_available_services(type_name)
        names = asked.list_available_services(type_name)
        assert isinstance(names, aws._ServiceNames)  # the seed is what botocore's cache answers
        assert "ec2" in names and "ec2" in listed
        assert not any(name in names for name in ("nope", "", ".", "..", "../ec2", "ec2/2016-11-15", None))
        assert len(listed) > 100 and all(name in names for name in listed)
        assert list(names) == listed and names == listed and len(names) == len(listed)
    session = aws._session("us-east-1", keys=("a", "b"))
    try:
        session.create_client("no-such-service")
    except botocore.exceptions.UnknownServiceError as exc:
        assert "ec2" in str(exc)  # botocore's message still lists the known services
    else:
        raise AssertionError("an unknown service made a client")


def test_the_model_file_loader_for_other_loaders_reads_the_same_operations() -> None:
    import botocore.loaders

    from preflight.account import aws

    plain = botocore.loaders.Loader()
    ours = botocore.loaders.Loader()
    ours.file_loader = aws.model_file_loader()
    for service in ("ec2", "s3", "lambda"):
        a = plain.load_service_model(service, "service-2")
        b = ours.load_service_model(service, "service-2")
        assert a["operations"].keys() == b["operations"].keys() and a["metadata"] == b["metadata"]
        assert sorted(a["shapes"]) == sorted(b["shapes"])
