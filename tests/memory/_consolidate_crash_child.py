"""A process that consolidates a store and dies: at its first delete, or whenever the parent kills it.

Run by test_consolidate_crash.py: ``python _consolidate_crash_child.py STORE MODE``.

* ``kill-at-delete``: the backend SIGKILLs its own process the moment consolidation
  first deletes anything, i.e. right after the first merged memory was written and
  before any of its originals are gone: the crash lands exactly in the gap the write
  order is there to make safe.
* ``kill-at:N``: the backend SIGKILLs the process instead of making its N-th change
  (a put or a delete), so the parent can crash a run at every point in turn.
* ``run``: consolidates normally; the parent kills it at a random moment.

It prints READY when the store and model are loaded and consolidation starts, and
DONE if it ever finishes.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

from strands_vector_memory import EmbeddedBackend, MemoryRecord, MiniLMEmbedder, VectorMemory


class JoinMerger:
    """A merge that keeps every fact by keeping every text (the parent checks for each one)."""

    def merge(self, texts: Sequence[str]) -> str:
        return " / ".join(texts)


class KillOnDelete(EmbeddedBackend):
    """The real embedded engine, except that the first delete kills the process instead."""

    def delete_vectors(self, index: str, keys: Sequence[str]) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


class KillAtChange(EmbeddedBackend):
    """The real embedded engine, except that its N-th change (put or delete) kills the process instead."""

    def __init__(self, path: str, at: int) -> None:
        super().__init__(path)
        self._left = at

    def _change(self) -> None:
        self._left -= 1
        if self._left == 0:
            os.kill(os.getpid(), signal.SIGKILL)

    def put_vectors(self, index: str, records: Sequence[MemoryRecord]) -> None:
        self._change()
        super().put_vectors(index, records)

    def delete_vectors(self, index: str, keys: Sequence[str]) -> None:
        self._change()
        super().delete_vectors(index, keys)


def main() -> None:
    store, mode = sys.argv[1], sys.argv[2]
    backend: EmbeddedBackend
    if mode == "kill-at-delete":
        backend = KillOnDelete(store)
    elif mode.startswith("kill-at:"):
        backend = KillAtChange(store, int(mode.removeprefix("kill-at:")))
    else:
        backend = EmbeddedBackend(store)
    with VectorMemory(backend, MiniLMEmbedder()) as memory:
        print("READY", flush=True)
        report = memory.consolidate(JoinMerger(), user_id="alice")
        print("DONE", report.merged, report.deleted, report.recovered, flush=True)


if __name__ == "__main__":
    main()
