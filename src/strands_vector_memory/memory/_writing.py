"""The write path behind ``remember``: guardrails, policy defaults, and the duplicate and conflict checks.

:func:`guard` and :func:`apply_defaults` shape each item before anything is embedded;
:func:`write_screened` then stores a batch of one index: new memories are put, repeats
reinforce what they repeat (see ``_screen``), and contradictions are stored linked to
what they contradict, with a ``conflict`` note for the team.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..backends import VectorBackend
from ..core import Field, Memory, MemoryRecord, MemoryType, Scope, WriteOutcome, epoch_to_iso
from ..core._limits import MAX_GET_BATCH
from ._inputs import NewMemory, check_content
from ._screen import Verdict, content_hash, dedup_scope, in_batch_duplicates, screen
from ._updates import conflict_key, conflict_note, reinforced, rewrite, superseded

if TYPE_CHECKING:
    from ._service import VectorMemory

__all__ = ["CONFLICT_SOURCE", "Prepared", "acting", "apply_defaults", "guard", "last_wins", "write_screened"]

Prepared = tuple[str, str, dict[str, Any], tuple[str, ...], Scope]
"""(index, key, metadata, context texts, scope) of one validated item."""

_ConflictPair = tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]], Scope]
"""((new key, metadata), (existing key, metadata), the new memory's scope)."""

#: The ``source`` of the notes conflict detection writes for a team.
CONFLICT_SOURCE = "conflict-detection"


def acting(scope: Scope) -> Scope:
    """The part of a scope that decides whose credentials act: the tenant."""
    return Scope(tenant_id=scope.tenant_id)


def last_wins(records: list[MemoryRecord]) -> list[MemoryRecord]:
    """Collapse repeated keys in one batch to the last one (a put overwrites anyway)."""
    by_key = {record.key: record for record in records}
    return list(by_key.values()) if len(by_key) != len(records) else records


def guard(memory: VectorMemory, item: NewMemory) -> tuple[NewMemory, dict[str, tuple[str, ...]]]:
    """``item`` as the guardrails pass it (redacted), with what they recorded."""
    check_content(item.content)
    draft = memory.guardrails.apply(item.content)
    redactions, flags = list(draft.redactions), list(draft.flags)
    context = item.context
    if context is not None and not isinstance(context, str) and isinstance(context, tuple | list):
        cleaned = []
        for text in context:
            if isinstance(text, str) and text.strip():
                guarded = memory.guardrails.apply(text)
                redactions.extend(guarded.redactions)
                text = guarded.content
            cleaned.append(text)
        context = tuple(cleaned)
    marks = {Field.REDACTIONS: tuple(redactions), Field.FLAGS: tuple(dict.fromkeys(flags))}
    return replace(item, content=draft.content, context=context), marks


def apply_defaults(
    memory: VectorMemory, metadata: dict[str, Any], marks: Mapping[str, tuple[str, ...]], now: float
) -> None:
    """The policy's lifetime and confidence where the caller gave none; hash; guardrail marks."""
    if Field.CONFIDENCE not in metadata:
        metadata[Field.CONFIDENCE] = memory.policy.confidence_for(str(metadata[Field.SOURCE]))
    if Field.EXPIRES_AT not in metadata:
        ttl = memory.policy.ttl_for(str(metadata[Field.MEMORY_TYPE]))
        if ttl is not None:
            metadata[Field.EXPIRES_AT] = now + ttl
    metadata[Field.CONTENT_HASH] = content_hash(str(metadata[Field.CONTENT]))
    for name, values in marks.items():
        if values:
            metadata[name] = list(values)


def write_screened(
    memory: VectorMemory, backend: VectorBackend, index: str, members: list[tuple[Prepared, NDArray[np.float32]]]
) -> list[Memory]:
    """Store what is new, reinforce what repeats, link and report what conflicts."""
    now = memory._clock()
    live = memory._live_filter(now)
    existing = {r.key for r in _get_existing(backend, index, [prepared[1] for prepared, _ in members])}
    repeats = in_batch_duplicates(
        [
            (dedup_scope(p[4], p[2][Field.MEMORY_TYPE]), p[2][Field.MEMORY_TYPE], p[2][Field.CONTENT_HASH])
            for p, _ in members
        ]
    )
    verdicts: dict[int, Verdict] = {}
    for position, ((_, key, metadata, _, item_scope), vector) in enumerate(members):
        if position in repeats:
            continue
        if key in existing:  # an overwrite by key stays an overwrite: idempotent keys stay idempotent
            verdicts[position] = Verdict()
            continue
        verdicts[position] = screen(
            backend,
            index,
            key=key,
            metadata=metadata,
            vector=vector,
            scope=item_scope,
            policy=memory.policy,
            scope_filter=memory.layout.scope_filter,
            live=live,
        )
    times: dict[str, int] = {}  # existing key -> how often this batch repeated it
    for position, verdict in verdicts.items():
        if verdict.reinforce is not None:
            target = verdict.reinforce.key
            times[target] = times.get(target, 0) + 1 + sum(1 for first in repeats.values() if first == position)
    updated: dict[str, dict[str, Any]] = {}
    if times:
        with memory._mutation_lock:
            updated = rewrite(
                backend,
                index,
                {k: partial(reinforced, policy=memory.policy, now=now, times=n) for k, n in times.items()},
            )
    records: dict[int, MemoryRecord] = {}
    notes: list[_ConflictPair] = []
    for position, verdict in verdicts.items():
        (_, key, metadata, _, item_scope), vector = members[position]
        if verdict.reinforce is not None and verdict.reinforce.key in updated:
            continue
        # New, conflicting, or a duplicate of a memory deleted meanwhile: store it.
        copies = sum(1 for first in repeats.values() if first == position)
        if copies:
            metadata = reinforced(metadata, policy=memory.policy, now=now, times=copies)
        if verdict.conflicts:
            metadata = {**metadata, Field.CONFLICTS_WITH: [m.key for m in verdict.conflicts]}
            notes.extend(((key, metadata), (m.key, dict(m.metadata or {})), item_scope) for m in verdict.conflicts)
        records[position] = MemoryRecord(key, vector, metadata)
    if records:
        backend.put_vectors(index, last_wins(list(records.values())))
    _write_conflicts(memory, backend, index, notes, now)
    return [_outcome(p, verdicts, repeats, records, updated) for p in range(len(members))]


def _outcome(
    position: int,
    verdicts: Mapping[int, Verdict],
    repeats: Mapping[int, int],
    records: Mapping[int, MemoryRecord],
    updated: Mapping[str, dict[str, Any]],
) -> Memory:
    """What ``remember`` reports for one item of a screened batch."""
    first = repeats.get(position, position)
    record = records.get(first)
    if record is None:  # reinforced an existing memory
        target = verdicts[first].reinforce
        assert target is not None
        meta = updated[target.key]
        return Memory(target.key, str(meta.get(Field.CONTENT, "")), meta, outcome=WriteOutcome.REINFORCED)
    meta = dict(record.metadata or {})
    if first != position:
        outcome = WriteOutcome.REINFORCED
    elif Field.CONFLICTS_WITH in meta:
        outcome = WriteOutcome.CONFLICTED
    else:
        outcome = WriteOutcome.STORED
    return Memory(record.key, str(meta[Field.CONTENT]), meta, outcome=outcome)


def _write_conflicts(
    memory: VectorMemory,
    backend: VectorBackend,
    index: str,
    notes: list[_ConflictPair],
    now: float,
) -> None:
    """One ``conflict`` memory per conflicting pair, for the whole team; newest-wins marks the old."""
    if not notes:
        return
    records = []
    for (newer, new_meta), (older, old_meta), item_scope in notes:
        team = replace(item_scope, agent_id=None, conversation_id=None)
        text = conflict_note(new_meta, old_meta, newest_wins=memory.policy.conflicts.newest_wins)
        metadata = {
            Field.CONTENT: text,
            **team.items(),
            Field.MEMORY_TYPE: MemoryType.CONFLICT.value,
            Field.SOURCE: CONFLICT_SOURCE,
            Field.CREATED_AT: now,
            Field.CREATED_AT_ISO: epoch_to_iso(now),
            Field.CONFIDENCE: memory.policy.confidence_for(CONFLICT_SOURCE),
            Field.CONTENT_HASH: content_hash(text),
            Field.CONFLICTS_WITH: [older, newer],
        }
        vector = memory._embedder_for(acting(item_scope)).embed_documents([text])[0]
        records.append(MemoryRecord(conflict_key([older, newer]), vector, metadata))
    backend.put_vectors(index, last_wins(records))
    memory.telemetry.conflicts(len(records))
    memory.telemetry.log("conflict", notes=len(records), index=index)
    if memory.policy.conflicts.newest_wins:
        with memory._mutation_lock:
            rewrite(
                backend,
                index,
                {older: partial(superseded, by=newer) for (newer, _), (older, _), _ in notes},
            )


def _get_existing(backend: VectorBackend, index: str, keys: Sequence[str]) -> list[MemoryRecord]:
    found: list[MemoryRecord] = []
    for start in range(0, len(keys), MAX_GET_BATCH):
        found.extend(backend.get_vectors(index, list(keys[start : start + MAX_GET_BATCH]), return_metadata=False))
    return found
