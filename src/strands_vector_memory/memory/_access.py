"""Which memories recall returned, written back in batches.

Decay needs to know what is still used, and a memory's metadata is the only place
every backend can keep that. But a write per recall would double the cost of reading
on S3 Vectors (and race every other writer), so recalls only note keys here; the notes
are written back in one read-and-put per index when enough have gathered, when the
oldest note is old enough, or when the service flushes (maintenance runs and ``close``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core import Field, Scope, number

__all__ = ["AccessLog", "PendingAccess"]


@dataclass(slots=True)
class PendingAccess:
    """Recalls of one memory not yet written back."""

    count: int
    last: float


class AccessLog:
    """Recall notes per (index, acting scope), flushed in batches.

    Args:
        max_pending: Flush once this many distinct memories wait.
        max_age: Flush once the oldest note is this many seconds old (checked on record).
        clock: Epoch seconds now.
    """

    def __init__(self, *, max_pending: int = 500, max_age: float = 300.0, clock: Callable[[], float]) -> None:
        self.max_pending = max_pending
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, Scope], dict[str, PendingAccess]] = {}
        self._size = 0
        self._oldest: float | None = None

    def __len__(self) -> int:
        return self._size

    def record(self, index: str, acting: Scope, keys: Iterable[str]) -> bool:
        """Note one recall's results; True when it is time to flush."""
        now = self._clock()
        with self._lock:
            notes = self._pending.setdefault((index, acting), {})
            for key in keys:
                note = notes.get(key)
                if note is None:
                    notes[key] = PendingAccess(1, now)
                    self._size += 1
                else:
                    note.count += 1
                    note.last = now
            if self._oldest is None and self._size:
                self._oldest = now
            return self._size >= self.max_pending or (self._oldest is not None and now - self._oldest >= self.max_age)

    def drop(self, index: str, keys: Iterable[str]) -> None:
        """Forget notes about deleted memories, so a flush never touches them."""
        gone = set(keys)
        with self._lock:
            for (where, _), notes in self._pending.items():
                if where == index:
                    for key in gone.intersection(notes):
                        del notes[key]
                        self._size -= 1

    def take(self) -> dict[tuple[str, Scope], dict[str, PendingAccess]]:
        """Every pending note, leaving the log empty."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._size, self._oldest = 0, None
        return {where: notes for where, notes in pending.items() if notes}


def accessed(metadata: Mapping[str, Any], note: PendingAccess) -> dict[str, Any]:
    """``metadata`` after ``note``'s recalls."""
    previous = int(number(metadata.get(Field.RECALL_COUNT)) or 0)
    latest = max(note.last, number(metadata.get(Field.LAST_RECALLED)) or note.last)
    return {**metadata, Field.RECALL_COUNT: previous + note.count, Field.LAST_RECALLED: latest}
