"""Where a scope's memories live: which index, and which filter keeps scopes apart.

A policy object rather than a hard-coded name, so multi-tenant layouts (one index per
tenant) can be added without touching the service. The default keeps every memory in
one index and separates tenants, users, agents and teams by metadata filter.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ..core import Scope
from ..core._limits import validate_index_name

__all__ = ["IndexLayout", "SharedIndexLayout"]


@runtime_checkable
class IndexLayout(Protocol):
    """Maps a scope to its index and to the filter that isolates it there."""

    def index_for(self, scope: Scope) -> str:
        """The index holding memories of ``scope``."""
        ...

    def scope_filter(self, scope: Scope) -> dict[str, Any] | None:
        """The metadata filter selecting ``scope`` inside its index (``None`` = all)."""
        ...

    def all_indexes(self, existing: list[str]) -> list[str]:
        """Of the bucket's ``existing`` index names, those this layout owns (for scans)."""
        ...


class SharedIndexLayout:
    """Every memory in one index; scopes (tenant included) are metadata filters.

    Args:
        index: The index name (S3 Vectors naming rules apply).
    """

    def __init__(self, index: str = "memories") -> None:
        self.index = validate_index_name(index)

    def __repr__(self) -> str:
        return f"SharedIndexLayout(index={self.index!r})"

    def index_for(self, scope: Scope) -> str:
        """Always the one shared index."""
        return self.index

    def scope_filter(self, scope: Scope) -> dict[str, Any] | None:
        """Filter on every part of the scope that is set, tenant included."""
        return scope.to_filter()

    def all_indexes(self, existing: list[str]) -> list[str]:
        """Just the shared index, if it exists."""
        return [self.index] if self.index in existing else []
