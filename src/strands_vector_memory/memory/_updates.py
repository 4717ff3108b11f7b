"""Changing what an existing memory says about itself: reinforcement, supersession, access.

S3 Vectors has no metadata-only update, so every change here is read (vector and
metadata), change, put back. The changes are pure functions of the old metadata so the
callers can batch them (one get and one put per 100 memories, never one per query).
A memory deleted between the read and the put is not brought back: only records the
read returned are written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..backends import VectorBackend
from ..core import Field, MemoryRecord, number
from ..core._limits import MAX_GET_BATCH, MAX_PUT_BATCH
from ._policy import MemoryPolicy

__all__ = ["conflict_key", "conflict_note", "fetch", "reinforced", "rewrite", "superseded"]

Change = Callable[[dict[str, Any]], dict[str, Any] | None]
"""New metadata for a record from its current metadata, or ``None`` to leave it."""


def reinforced(metadata: Mapping[str, Any], *, policy: MemoryPolicy, now: float, times: int = 1) -> dict[str, Any]:
    """``metadata`` after being written again ``times`` times: more trusted, seen later, kept longer."""
    updated = dict(metadata)
    source = str(metadata.get(Field.SOURCE, ""))
    confidence = number(metadata.get(Field.CONFIDENCE))
    if confidence is None:
        confidence = policy.confidence_for(source)
    for _ in range(times):
        confidence += policy.dedup.reinforce * (1.0 - confidence)
    updated[Field.CONFIDENCE] = min(1.0, confidence)
    updated[Field.SEEN_COUNT] = int(number(metadata.get(Field.SEEN_COUNT)) or 1) + times
    updated[Field.LAST_SEEN] = now
    ttl = policy.ttl_for(str(metadata.get(Field.MEMORY_TYPE, "")))
    expires = number(metadata.get(Field.EXPIRES_AT))
    if ttl is not None and expires is not None:
        updated[Field.EXPIRES_AT] = max(expires, now + ttl)  # a repeated episode stays as long as a new one
    return updated


def superseded(metadata: Mapping[str, Any], *, by: str) -> dict[str, Any]:
    """``metadata`` marked as replaced by the memory ``by`` (kept for audit, not recalled)."""
    return {**metadata, Field.SUPERSEDED_BY: by}


def fetch(
    backend: VectorBackend,
    index: str,
    keys: Sequence[str],
    *,
    return_vector: bool = False,
    return_metadata: bool = True,
) -> list[MemoryRecord]:
    """The records of ``keys`` that exist, read 100 at a time (the ``GetVectors`` limit)."""
    found: list[MemoryRecord] = []
    for start in range(0, len(keys), MAX_GET_BATCH):
        found.extend(
            backend.get_vectors(
                index,
                list(keys[start : start + MAX_GET_BATCH]),
                return_vector=return_vector,
                return_metadata=return_metadata,
            )
        )
    return found


def rewrite(backend: VectorBackend, index: str, changes: Mapping[str, Change]) -> dict[str, dict[str, Any]]:
    """Apply ``changes`` (key -> change) to the records that still exist; returns their new metadata."""
    written: dict[str, dict[str, Any]] = {}
    pending: list[MemoryRecord] = []
    for record in fetch(backend, index, list(changes), return_vector=True):
        updated = changes[record.key](dict(record.metadata or {}))
        if updated is not None and record.vector is not None:
            pending.append(MemoryRecord(record.key, record.vector, updated))
            written[record.key] = updated
    for start in range(0, len(pending), MAX_PUT_BATCH):
        backend.put_vectors(index, pending[start : start + MAX_PUT_BATCH])
    return written


def conflict_key(keys: Sequence[str]) -> str:
    """One conflict note per pair, however often the pair is detected."""
    return "c-" + hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:40]


def _clip(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _who(metadata: Mapping[str, Any]) -> str:
    agent = metadata.get(Field.AGENT_ID)
    return f"agent {agent}" if isinstance(agent, str) else f"source {metadata.get(Field.SOURCE, 'unknown')}"


def conflict_note(new: Mapping[str, Any], existing: Mapping[str, Any], *, newest_wins: bool = False) -> str:
    """The text of the ``conflict`` memory a team sees (and can recall) until someone forgets it."""
    action = (
        "The later one now supersedes the earlier (kept for audit); check it, then forget this note."
        if newest_wins
        else "Check which holds, then forget or correct the other, and this note."
    )
    return (
        f'Conflicting memories. {_who(existing)} recorded: "{_clip(str(existing.get(Field.CONTENT, "")))}". '
        f'Later {_who(new)} recorded: "{_clip(str(new.get(Field.CONTENT, "")))}". {action}'
    )
