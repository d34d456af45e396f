"""Helpers of the GitHub Action (action.yml): the pull-request comment's body and the SARIF categories.

`python -m preflight.commands.ci comment --key K [--link URL] REPORT.md BODY.md` writes the comment the action
keeps up to date: a hidden marker first (how the action finds its own comment again), then the
report, cut at a line and closed properly (code fences, <details>) when the whole would pass a
comment's 65,536 characters, with a link to the full report.

`python -m preflight.commands.ci sarif-category --category C FILE` does for one file what
github/codeql-action/upload-sarif's `category` input does (its runs without
`automationDetails.id` get `C/`), so that a directory of per-region files uploads with a category
each.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from pathlib import Path

from preflight.report.truncate import COMMENT_LIMIT, truncate_markdown, utf8_size
from preflight.support.errors import ExitCode
from preflight.support.fileio import write_atomic

_KEY = re.compile(r"^[A-Za-z0-9._/:@-]+$")


def marker(key: str) -> str:
    """The hidden first line of the action's comment; `key` names the gate (environment, manifest)."""
    if not _KEY.match(key):
        raise ValueError(f"comment key {key!r}: letters, digits and ._/:@- only")
    return f"<!-- tap-preflight:{key} -->"


def comment_body(markdown: str, *, key: str, link: str | None = None, limit: int = COMMENT_LIMIT) -> str:
    """The comment: marker and report, truncated under `limit` (counted in UTF-8 bytes, to be safe)."""
    head = marker(key) + "\n"
    where = f"[the full report]({link})" if link else "the full report in this run's artifacts"
    return head + truncate_markdown(markdown, where=where, limit=limit - utf8_size(head))


def categorize_sarif(path: str | Path, category: str) -> int:
    """Give the file's runs without one `automationDetails.id = category/`; how many were changed."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    automation_id = category if category.endswith("/") else category + "/"
    changed = 0
    for run in data.get("runs") or []:
        if not (run.get("automationDetails") or {}).get("id"):
            run["automationDetails"] = {**(run.get("automationDetails") or {}), "id": automation_id}
            changed += 1
    write_atomic(path, json.dumps(data, indent=2) + "\n")
    return changed


def main(argv: Sequence[str] | None = None) -> ExitCode:
    parser = argparse.ArgumentParser(prog="python -m preflight.commands.ci")
    sub = parser.add_subparsers(dest="command", required=True)
    comment = sub.add_parser("comment", help="write the PR comment's body")
    comment.add_argument("--key", required=True)
    comment.add_argument("--link")
    comment.add_argument("--limit", type=int, default=COMMENT_LIMIT)
    comment.add_argument("report")
    comment.add_argument("body")
    sarif = sub.add_parser("sarif-category", help="set a SARIF file's category")
    sarif.add_argument("--category", required=True)
    sarif.add_argument("file")
    args = parser.parse_args(argv)
    if args.command == "comment":
        markdown = Path(args.report).read_text(encoding="utf-8")
        body = comment_body(markdown, key=args.key, link=args.link or None, limit=args.limit)
        write_atomic(args.body, body)
    else:
        categorize_sarif(args.file, args.category)
    return ExitCode.GO


if __name__ == "__main__":
    raise SystemExit(main())
