"""`tap-preflight validate`: load each manifest under every environment profile, offline.

For editors and pre-commit (.pre-commit-hooks.yaml): the same loading `check` and `plan` do (schema,
references, profiles), without an account. Each problem is one line naming file, line and field.
"""

from __future__ import annotations

from collections.abc import Iterable

from preflight.support.errors import InputError


def validate_manifests(paths: Iterable[str]) -> list[str]:
    """Every problem found, one message per manifest and profile; empty when all load."""
    from preflight.manifest import load_manifest

    problems: list[str] = []
    for path in paths:
        try:
            default = load_manifest(path)
        except InputError as exc:
            problems.append(str(exc))
            continue
        for env in default.doc.environments:
            try:
                load_manifest(path, env)
            except InputError as exc:
                problems.append(f"{exc} (environment {env})")
    return problems
