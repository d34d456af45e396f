"""Every result that is not a quota report, seen as a checklist: the things checked, each passed or not.

`lint`, `verify-program`, `rehearse` and `request-increases` each have their own result model (and their
own table and JSON). For the CI formats they are all the same shape: rules (an id and a description),
and items (a rule, a name, a status, a message, and where in which file). The SARIF, JUnit, GitHub and
markdown renderers take a `Checklist`, so a lint finding or a failed rehearsal step reaches code scanning,
test reports and annotations as a quota finding does.

The result models are imported for their types only: rendering a lint result must not import Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from preflight.program.lint import LintResult
    from preflight.program.rehearse import RehearsalResult
    from preflight.program.verify import VerifyResult
    from preflight.report.results import IncreasesResult

ItemStatus = Literal["passed", "failed", "error", "warning", "skipped"]
# Statuses that need the reader's attention, worst first (the order of every list of them).
ATTENTION: tuple[ItemStatus, ...] = ("error", "failed", "warning")


@dataclass(frozen=True)
class Rule:
    id: str
    name: str  # a short title
    description: str  # one or two sentences: what it finds and why it matters


@dataclass(frozen=True)
class Item:
    rule: str  # a Rule.id of the checklist
    name: str  # what was checked: a file, a resource, a quota
    status: ItemStatus
    message: str = ""
    file: str = ""  # where to point: the checklist's `source` when empty
    line: int | None = None


@dataclass(frozen=True)
class Checklist:
    command: str  # the tap-preflight command that made it
    title: str  # the result in one line, as its table view starts
    ok: bool  # what the command's exit code says (0 or 1)
    source: str  # the file the result is about (the plan, the report), "" when several
    rules: tuple[Rule, ...]
    items: tuple[Item, ...]

    def needing_attention(self) -> list[Item]:
        rank = {status: i for i, status in enumerate(ATTENTION)}
        return sorted((i for i in self.items if i.status in rank), key=lambda i: rank[i.status])

    def count(self, status: ItemStatus) -> int:
        return sum(1 for i in self.items if i.status == status)

    def location(self, item: Item) -> tuple[str, int | None]:
        """The file and line an annotation points at: the item's own, else the checklist's source."""
        return (item.file, item.line) if item.file else (self.source, None)


# --- lint ----------------------------------------------------------------------------------------------


def of_lint(result: LintResult) -> Checklist:
    rules = tuple(Rule(r.id, r.name, r.description) for r in result.rules)
    flagged = {f.file for f in result.findings}
    items = [Item(f.rule, f.file, "failed", f.message, f.file, f.line) for f in result.findings]
    items += [Item("", path, "passed", "no finding", path) for path in result.files if path not in flagged]
    title = f"{len(result.findings)} finding(s) in {len(result.paths)} path(s)"
    return Checklist("lint", title, not result.findings, "", rules, tuple(items))


# --- verify-program ------------------------------------------------------------------------------------

VERIFY_RULES = (
    Rule(
        "TAPV001",
        "program departs from the plan",
        "What the Pulumi program registers under mocks is not "
        "exactly what the plan asks for: a resource missing or extra, a name, a policy or a setting.",
    ),
    Rule("TAPV000", "resource registered", "A resource the program registers, as the plan asks for it."),
)


def of_verify(result: VerifyResult) -> Checklist:
    items = [Item("TAPV001", "inventory", "failed", v) for v in result.violations]
    items += [Item("TAPV000", f"{r['type']} {r['name']}", "passed") for r in result.resources]
    found = (
        f"{len(result.violations)} violation(s)" if result.violations else "exactly what the plan asks for"
    )
    title = f"Program inventory: {len(result.resources)} resources, {found}"
    return Checklist("verify-program", title, result.ok, result.plan_path, VERIFY_RULES, tuple(items))


# --- rehearse ------------------------------------------------------------------------------------------

REHEARSE_RULES = (
    Rule(
        "TAPR001",
        "resource not created",
        "The emulated account refused to create a resource of the "
        "plan's program: the deploy would fail there.",
    ),
    Rule(
        "TAPR002",
        "resource not rehearsed",
        "The rehearsal has no translation for this resource type, "
        "so the account was not asked: the rehearsal is incomplete.",
    ),
    Rule("TAPR003", "skipped after a failure", "Not attempted: a resource it depends on failed first."),
    Rule("TAPR000", "resource created", "Created in the emulated account as the program asks."),
    Rule("TAPR004", "forced", "Rehearsed with --force: the program itself would refuse this plan."),
)


def of_rehearsal(result: RehearsalResult) -> Checklist:
    items = [Item("TAPR004", "plan", "warning", result.forced)] if result.forced else []
    items += [
        Item("TAPR001", f"{r['type']} {r['name']}", "failed", f"{r['code']}: {r['message']}")
        for r in result.failed
    ]
    items += [
        Item("TAPR002", f"{r['type']} {r['name']}", "failed", "no translation for this type")
        for r in result.not_rehearsed
    ]
    items += [
        Item("TAPR003", f"{r['type']} {r['name']}", "skipped", str(r.get("reason", "")))
        for r in result.skipped
    ]
    items += [Item("TAPR000", f"{r['type']} {r['name']}", "passed", str(r["id"])) for r in result.deployed]
    total = len(result.deployed) + len(result.failed) + len(result.skipped) + len(result.not_rehearsed)
    verdict = "COMPLETE" if result.complete else "INCOMPLETE"
    title = f"Rehearsal against {result.endpoint_url}: {verdict} ({len(result.deployed)}/{total} deployed)"
    return Checklist("rehearse", title, result.complete, result.plan_path, REHEARSE_RULES, tuple(items))


# --- request-increases ---------------------------------------------------------------------------------

# Each outcome of an increase request, as a checklist sees it: what still blocks the deploy fails.
_INCREASE_STATUS: dict[str, ItemStatus] = {
    "design-change": "failed",  # AWS does not raise it: only a design change fits
    "error": "error",
    "would-file": "warning",  # still needed: --submit would file it
    "listed": "warning",
    "open-request": "passed",
    "already-raised": "passed",
    "filed": "passed",
}


def of_increases(result: IncreasesResult) -> Checklist:
    from preflight.report.formats.increases import summary_line
    from preflight.report.results import STATUS_TEXT

    rules = tuple(
        Rule(f"TAPQ-{status}", text, _INCREASE_HELP[status]) for status, text in STATUS_TEXT.items()
    )
    items = tuple(
        Item(
            f"TAPQ-{o.status}",
            f"{o.service_code}/{o.quota_code} {o.quota_name} ({o.region})",
            _INCREASE_STATUS[o.status],
            o.detail or STATUS_TEXT[o.status],
        )
        for o in result.outcomes
    )
    return Checklist(
        "request-increases", summary_line(result), not result.errors, result.source, rules, items
    )


_INCREASE_HELP = {
    "design-change": "The quota is not adjustable: the deployment must fit in it (see plan --adapt).",
    "listed": "An increase the file asks for, listed without calling AWS (--offline).",
    "open-request": "A request for this quota is already open; AWS allows one at a time.",
    "already-raised": "The value in force already reaches what the deployment needs.",
    "would-file": "An increase the deployment still needs; --submit files it with Service Quotas.",
    "filed": "Filed with Service Quotas.",
    "error": "An AWS call for this request failed; the others went on.",
}
