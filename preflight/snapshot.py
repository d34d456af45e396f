"""Snapshots: an account's limits and usage recorded once, so `check` and `plan` can run offline."""

from __future__ import annotations

import json

from pydantic import ValidationError

from preflight.account import SNAPSHOT_SCHEMA, AccountState
from preflight.errors import InputError
from preflight.yamlio import read_text_file


def load_snapshot(path: str) -> AccountState:
    text = read_text_file(path, "snapshot")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"snapshot is not valid JSON: {exc.msg}", file=path, line=exc.lineno) from exc
    if not isinstance(data, dict) or "schema" not in data:
        raise InputError("not a tap-preflight snapshot (no schema field)", file=path)
    if data["schema"] != SNAPSHOT_SCHEMA:
        raise InputError(
            f"unsupported snapshot schema {data['schema']!r} (expected {SNAPSHOT_SCHEMA})",
            file=path,
            path="schema",
        )
    try:
        return AccountState.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InputError(f"damaged snapshot: {first['msg']}", file=path, path=loc) from exc


def snapshot_json(state: AccountState, *, redact: bool = False) -> str:
    if redact:
        state = state.model_copy(update={"account_id": "************"})
    return state.model_dump_json(by_alias=True, indent=2) + "\n"
