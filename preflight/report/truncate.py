"""Markdown cut to fit a GitHub comment or step summary: whole lines, what the cut left open closed, and a
note that says where the rest is (the action's PR comment and the `github` and markdown views share it)."""

from __future__ import annotations

COMMENT_LIMIT = 65_536


def truncate_markdown(markdown: str, *, where: str, limit: int = COMMENT_LIMIT) -> str:
    """`markdown` whole when it fits in `limit` UTF-8 bytes; otherwise cut at a line, what the cut left
    open closed (code fences, <details>), and a note saying so that points at `where`."""
    if utf8_size(markdown) <= limit:
        return markdown
    note = (
        f"\n\n---\n**Truncated:** this report is {len(markdown):,} characters, more than a comment holds; "
        f"see {where}.\n"
    )
    room = limit - utf8_size(note) - 64  # 64: the closers added below
    cut = markdown.encode("utf-8")[: max(room, 0)].decode("utf-8", errors="ignore")
    if "\n" in cut:
        cut = cut[: cut.rfind("\n")]  # whole lines only
    return cut + _closers(cut) + note


def _closers(text: str) -> str:
    """Close what a cut left open, so the note is not swallowed by a code block or a fold."""
    closing = ""
    if text.count("```") % 2:
        closing += "\n```"
    open_details = text.count("<details") - text.count("</details>")
    closing += "\n</details>" * max(open_details, 0)
    return closing


def utf8_size(text: str) -> int:
    """How much of a comment's limit `text` takes: GitHub counts characters, we count UTF-8 bytes."""
    return len(text.encode("utf-8"))
