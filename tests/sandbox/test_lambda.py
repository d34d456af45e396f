"""Lambda in the emulated account: account settings and the reserved concurrency floor."""

from __future__ import annotations

from typing import Any

from preflight.sandbox import Sandbox
from preflight.sandbox.provision import LAMBDA_ROLE
from preflight.sandbox.target import code_zip

from .helpers import code_of, error_of, status_of

FLOOR_MESSAGE = (
    "Specified ReservedConcurrentExecutions for function decreases account's "
    "UnreservedConcurrentExecution below its minimum value of [{}]."
)


def make_functions(sb: Sandbox, names: list[str]) -> Any:
    lam = sb.client("lambda")
    iam = sb.client("iam")
    try:
        iam.get_role(RoleName=LAMBDA_ROLE)
    except iam.exceptions.NoSuchEntityException:
        iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument="{}")
    for name in names:
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=f"arn:aws:iam::123456789012:role/{LAMBDA_ROLE}",
            Handler="index.handler",
            Code={"ZipFile": code_zip()},
        )
    return lam


def test_fresh_account_settings(fresh: Sandbox) -> None:
    settings = fresh.client("lambda").get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["TotalCodeSize"] == 75 * 1024**3
    assert settings["AccountUsage"] == {"TotalCodeSize": 0, "FunctionCount": 0}


def test_seed_account_settings(seed: Sandbox) -> None:
    settings = seed.client("lambda").get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 150
    assert settings["AccountUsage"]["FunctionCount"] == 10
    assert settings["AccountUsage"]["TotalCodeSize"] > 0


def test_seed_reserving_100_on_five_functions_fails_on_the_first(seed: Sandbox) -> None:
    """Issue 3 acceptance: 150 unreserved, floor 100, so the very first 100 breaks the floor."""
    names = [f"tap-fn-{i}" for i in range(5)]
    lam = make_functions(seed, names)
    err = error_of(
        lambda: lam.put_function_concurrency(FunctionName=names[0], ReservedConcurrentExecutions=100)
    )
    assert code_of(err) == "InvalidParameterValueException"
    assert status_of(err) == 400
    assert err.response["Error"]["Message"] == FLOOR_MESSAGE.format(100)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=names[0])


def test_seed_reserving_10_on_five_functions_succeeds(seed: Sandbox) -> None:
    names = [f"tap-fn-{i}" for i in range(5)]
    lam = make_functions(seed, names)
    for name in names:
        assert (
            lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=10)[
                "ReservedConcurrentExecutions"
            ]
            == 10
        )
        assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 10
    settings = lam.get_account_settings()["AccountLimit"]
    assert settings["UnreservedConcurrentExecutions"] == 100  # exactly the floor
    err = error_of(
        lambda: lam.put_function_concurrency(FunctionName="orders-api", ReservedConcurrentExecutions=1)
    )
    assert err.response["Error"]["Message"] == FLOOR_MESSAGE.format(100)


def test_a_function_gives_back_its_own_reservation_first(seed: Sandbox) -> None:
    lam = seed.client("lambda")
    # billing-export holds 50: raising it to 100 needs 50 more of the 150 unreserved, leaving 100.
    lam.put_function_concurrency(FunctionName="billing-export", ReservedConcurrentExecutions=100)
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 100
    # Lowering one's own reservation always fits.
    lam.put_function_concurrency(FunctionName="orders-worker-1", ReservedConcurrentExecutions=0)
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 200


def test_deleting_a_reservation_frees_it(seed: Sandbox) -> None:
    lam = seed.client("lambda")
    lam.delete_function_concurrency(FunctionName="orders-worker-1")
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 250
    lam.put_function_concurrency(FunctionName="orders-api", ReservedConcurrentExecutions=150)


def test_new_account_floor_is_its_whole_limit() -> None:
    with Sandbox("new-account") as sb:
        lam = make_functions(sb, ["tap-fn"])
        settings = lam.get_account_settings()["AccountLimit"]
        assert settings["ConcurrentExecutions"] == 10
        assert settings["UnreservedConcurrentExecutions"] == 10
        err = error_of(
            lambda: lam.put_function_concurrency(FunctionName="tap-fn", ReservedConcurrentExecutions=1)
        )
        assert err.response["Error"]["Message"] == FLOOR_MESSAGE.format(10)
        # A reservation of 0 takes nothing from the pool.
        lam.put_function_concurrency(FunctionName="tap-fn", ReservedConcurrentExecutions=0)
        assert lam.get_function_concurrency(FunctionName="tap-fn")["ReservedConcurrentExecutions"] == 0


def test_the_limit_is_the_applied_quota(fresh: Sandbox) -> None:
    lam = make_functions(fresh, ["big"])
    fresh.set_applied_quota("lambda", "L-B99A9384", 3000)
    assert lam.get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 3000
    lam.put_function_concurrency(FunctionName="big", ReservedConcurrentExecutions=2900)
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 100
    fresh.set_applied_quota("lambda", "L-B99A9384", 50)
    lam2 = make_functions(fresh, ["small"])
    err = error_of(
        lambda: lam2.put_function_concurrency(FunctionName="small", ReservedConcurrentExecutions=1)
    )
    assert err.response["Error"]["Message"] == FLOOR_MESSAGE.format(50)


def test_unknown_function_is_resource_not_found(fresh: Sandbox) -> None:
    lam = fresh.client("lambda")
    for call in (
        lambda: lam.get_function_concurrency(FunctionName="nope"),
        lambda: lam.put_function_concurrency(FunctionName="nope", ReservedConcurrentExecutions=1),
    ):
        assert code_of(error_of(call)) == "ResourceNotFoundException"


def test_function_arn_works_as_a_name(seed: Sandbox) -> None:
    lam = seed.client("lambda")
    arn = lam.get_function(FunctionName="orders-api")["Configuration"]["FunctionArn"]
    lam.put_function_concurrency(FunctionName=arn, ReservedConcurrentExecutions=5)
    assert lam.get_function_concurrency(FunctionName=arn)["ReservedConcurrentExecutions"] == 5
