"""A bounded, thread-safe map from tenant key to a per-tenant object built on first use.

Per-tenant backends and embedders are cheap to keep and costly to build (a client,
perhaps an STS call), so they are built once, outside the lock so that one tenant's
slow build never holds up another's, and the least recently used are dropped past a
bound so a service with millions of tenants does not grow without limit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from ..core import ValidationError

__all__ = ["TenantCache"]

V = TypeVar("V")


class TenantCache(Generic[V]):
    """Tenant key -> object, at most ``max_size`` kept; ``on_drop`` gets each one let go."""

    def __init__(self, max_size: int, on_drop: Callable[[V], object] = lambda value: None) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ValidationError(f"max_cached must be a positive int, got {max_size!r}", field="max_cached")
        self._max_size = max_size
        self._on_drop = on_drop
        self._items: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: str, build: Callable[[str], V]) -> V:
        """The object for ``key``, building it if absent (two racing builds keep the first)."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        built = build(key)
        dropped: list[V] = []
        with self._lock:
            kept = self._items.setdefault(key, built)
            self._items.move_to_end(key)
            while len(self._items) > self._max_size:
                dropped.append(self._items.popitem(last=False)[1])
        if kept is not built:
            dropped.append(built)
        for value in dropped:
            self._on_drop(value)
        return kept

    def clear(self) -> list[V]:
        """Empty the cache; returns what it held (the caller releases it)."""
        with self._lock:
            values = list(self._items.values())
            self._items.clear()
        return values
