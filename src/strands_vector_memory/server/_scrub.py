"""Scrubbing an index's files soon after deletes stop, so deleted data leaves the disk.

``DeleteVectors`` removes records, but their bytes linger: in the WAL until a
checkpoint, and their words in the full-text index until its segments merge. The
embedded engine's ``scrub`` clears both, at a cost that grows with the index (about
0.1 s for 10,000 records), too much for every delete. So the endpoint scrubs an index
once, ``delay`` seconds after the last delete that touched it, on a background thread:
a user erased through the endpoint is gone from its files within about a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..core import NotFoundError, VectorMemoryError

__all__ = ["DeferredScrub"]

_log = logging.getLogger("strands_vector_memory.server")


class DeferredScrub:
    """Runs ``scrub(bucket, index)`` once deletes to that index have been quiet for ``delay`` seconds.

    Args:
        scrub: Makes an index's deleted data unrecoverable from its files.
        delay: Quiet time before scrubbing, so a run of deletes costs one scrub.
    """

    def __init__(self, scrub: Callable[[str, str], None], *, delay: float = 0.5) -> None:
        self._scrub = scrub
        self.delay = delay
        self._due: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False

    def deleted(self, bucket: str, index: str) -> None:
        """Note a delete: (re)start the quiet period of that index."""
        with self._lock:
            if self._closed:
                return
            self._due[bucket, index] = time.monotonic() + self.delay
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="strands-memory-scrub", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._closed and (not self._due or min(self._due.values()) > time.monotonic()):
                    timeout = min(self._due.values()) - time.monotonic() if self._due else None
                    self._wake.wait(timeout)
                if self._closed:
                    return
                now = time.monotonic()
                ready = [where for where, at in self._due.items() if at <= now]
                for where in ready:
                    del self._due[where]
            for bucket, index in ready:
                self._run_one(bucket, index)

    def _run_one(self, bucket: str, index: str) -> None:
        try:
            self._scrub(bucket, index)
        except NotFoundError:
            pass  # the index or bucket went meanwhile: nothing left to scrub
        except VectorMemoryError as exc:  # e.g. a reader pinned the WAL: try again after another quiet period
            _log.warning("could not scrub %s/%s yet: %s", bucket, index, exc)
            self.deleted(bucket, index)

    def close(self) -> None:
        """Scrub every index still waiting, now, and stop the thread."""
        with self._lock:
            self._closed = True
            pending, self._due = list(self._due), {}
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()
        for bucket, index in pending:
            try:
                self._scrub(bucket, index)
            except VectorMemoryError as exc:
                _log.warning("could not scrub %s/%s at shutdown: %s", bucket, index, exc)
