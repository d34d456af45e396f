"""A redeploy that moves reserved concurrency between the stack's functions: the program lowers the
cuts before it raises the others (explicit dependencies), and the emulated account shows why."""

from __future__ import annotations

from preflight.deployment import CurrentStack
from preflight.program.mockrun import run_with_mocks
from preflight.program.verify import RecordingMocks
from preflight.redeploy import reservation_peak, reservation_steps
from tests.program.conftest import ACCOUNT, AZS, ROOT, make_plan

NOW = {
    "pipeline-ingest-prod": 400,
    "pipeline-transform-prod": 100,
    "pipeline-enrich-prod": 50,
    "pipeline-aggregate-prod": 10,
}  # archive has none; the plan asks 100 of each


def _program(plan):
    from preflight.program.pipeline import Pipeline

    built = []
    mocks = RecordingMocks(ACCOUNT, "us-east-1")
    run_with_mocks(
        mocks,
        lambda: built.append(Pipeline(plan.deployment, base_dir=ROOT / "manifests", current=plan.current)),
        project="tap-pipeline",
        stack="prod",
    )
    return built[0], mocks.records


def test_raises_wait_for_every_cut(manifest) -> None:
    plan = make_plan(manifest, manifest.requested("us-east-1", AZS), current=CurrentStack(reservations=NOW))
    pipeline, records = _program(plan)
    cuts = ("pipeline-ingest-prod",)
    raises = ("pipeline-aggregate-prod", "pipeline-archive-prod", "pipeline-enrich-prod")
    assert reservation_steps(NOW, {n: 100 for n in [*NOW, "pipeline-archive-prod"]}).cuts == cuts
    assert {n for n, waits in pipeline.waits_for.items() if waits} == set(raises)
    assert all(pipeline.waits_for[n] == cuts for n in raises)
    assert pipeline.waits_for["pipeline-transform-prod"] == ()  # unchanged: waits for nothing
    functions = [r["inputs"]["name"] for r in records if r["type"] == "aws:lambda/function:Function"]
    assert functions.index("pipeline-ingest-prod") < min(functions.index(n) for n in raises)
    assert len(pipeline.functions) == len(plan.deployment.functions) == 5


def test_a_first_deploy_orders_nothing(manifest) -> None:
    pipeline, _ = _program(make_plan(manifest, manifest.requested("us-east-1", AZS)))
    assert all(waits == () for waits in pipeline.waits_for.values())


def test_the_peak_of_an_unordered_redeploy_is_the_sum_of_maxima() -> None:
    planned = {n: 100 for n in [*NOW, "pipeline-archive-prod"]}
    assert reservation_peak(NOW, planned, ordered=True) == 500
    assert reservation_peak(NOW, planned, ordered=False) == 400 + 100 + 100 + 100 + 100


def test_the_emulated_account_refuses_a_raise_before_the_cut(sandbox) -> None:
    """Why the order matters: with 300 held by others and 900 reservable, raising aggregate first
    passes the floor although the end state (300 + 500) fits."""
    sb = sandbox("redeploy")
    lam = sb.client("lambda")
    from botocore.exceptions import ClientError

    try:
        lam.put_function_concurrency(FunctionName="pipeline-archive-prod", ReservedConcurrentExecutions=100)
        raised_first = True
    except ClientError as exc:
        raised_first = False
        assert "below its minimum value of [100]" in exc.response["Error"]["Message"]
    assert not raised_first
    # In the program's order every call fits.
    lam.put_function_concurrency(FunctionName="pipeline-ingest-prod", ReservedConcurrentExecutions=100)
    for name in ("pipeline-aggregate-prod", "pipeline-archive-prod", "pipeline-enrich-prod"):
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=100)
