"""The one interface every account is read through: live, role, emulated (sandbox), snapshot.

Kept apart from `runner` (which builds the sources) so that a source defined elsewhere, such as
`snapshot.SnapshotAccount`, can name the interface without importing the runner back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: the manifest and the account reader pull pydantic and boto3
    from preflight.account import AccountState, Progress
    from preflight.manifest import Manifest


class AccountSource(Protocol):
    """An account's limits and usage in one region, read for one manifest's stack."""

    def read(
        self, manifest: Manifest, region: str, overrides: dict[str, float], progress: Progress | None
    ) -> AccountState: ...
