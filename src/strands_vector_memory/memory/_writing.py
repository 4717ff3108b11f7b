"""The write path behind ``remember``: guardrails, policy defaults, and the duplicate and conflict checks.

:func:`guard` and :func:`apply_defaults` shape each item before anything is embedded;
:func:`write_screened` then stores a batch of one index: new memories are put, repeats
reinforce what they repeat (see ``_screen``), and contradictions are stored linked to
what they contradict, with a ``conflict`` note for the team.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..backends import VectorBackend
from ..core import Field, Memory, MemoryRecord, MemoryType, Scope, WriteOutcome
from ._inputs import NewMemory, build_metadata, check_content
from ._screen import Verdict, content_hash, dedup_scope, in_batch_duplicates, screen
from ._updates import conflict_key, conflict_note, fetch, reinforced, rewrite, superseded

if TYPE_CHECKING:
    from ._service import VectorMemory

__all__ = ["CONFLICT_SOURCE", "Prepared", "acting", "apply_defaults", "guard", "last_wins", "write_screened"]


class Prepared(NamedTuple):
    """One validated item, ready to embed and write."""

    index_name: str
    key: str
    metadata: dict[str, Any]
    context: tuple[str, ...]
    scope: Scope
    addressed: bool
    """The caller chose the key (``key=`` or ``idempotent=True``): a record may already hold it."""


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
    addressed = [item.key for item, _ in members if item.addressed]  # a generated key is never taken
    existing = {r.key for r in fetch(backend, index, addressed, return_metadata=False)} if addressed else set()
    repeats = in_batch_duplicates(
        [
            (dedup_scope(item.scope, item.metadata[Field.MEMORY_TYPE]), item.metadata[Field.MEMORY_TYPE],
             item.metadata[Field.CONTENT_HASH])
            for item, _ in members
        ]
    )  # fmt: skip
    copies = Counter(repeats.values())  # first position -> how many later items repeat it
    verdicts: dict[int, Verdict] = {}
    for position, (item, vector) in enumerate(members):
        if position in repeats:
            continue
        if item.key in existing:  # an overwrite by key stays an overwrite: idempotent keys stay idempotent
            verdicts[position] = Verdict()
            continue
        verdicts[position] = screen(
            backend,
            index,
            key=item.key,
            metadata=item.metadata,
            vector=vector,
            scope=item.scope,
            policy=memory.policy,
            scope_filter=memory.layout.scope_filter,
            live=live,
        )
    times: Counter[str] = Counter()  # existing key -> how often this batch repeated it
    for position, verdict in verdicts.items():
        if verdict.reinforce is not None:
            times[verdict.reinforce.key] += 1 + copies[position]
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
        item, vector = members[position]
        if verdict.reinforce is not None and verdict.reinforce.key in updated:
            continue
        # New, conflicting, or a duplicate of a memory deleted meanwhile: store it.
        metadata = item.metadata
        if copies[position]:
            metadata = reinforced(metadata, policy=memory.policy, now=now, times=copies[position])
        if verdict.conflicts:
            metadata = {**metadata, Field.CONFLICTS_WITH: [m.key for m in verdict.conflicts]}
            notes.extend(((item.key, metadata), (m.key, dict(m.metadata or {})), item.scope) for m in verdict.conflicts)
        records[position] = MemoryRecord(item.key, vector, metadata)
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
    newest_wins = memory.policy.conflicts.newest_wins
    keys, metadatas = [], []
    for (newer, new_meta), (older, old_meta), item_scope in notes:
        note = NewMemory(
            content=conflict_note(new_meta, old_meta, newest_wins=newest_wins),
            memory_type=MemoryType.CONFLICT,
            source=CONFLICT_SOURCE,
            metadata={Field.CONFLICTS_WITH: [older, newer]},
        )
        team = replace(item_scope, agent_id=None, conversation_id=None)
        metadata = build_metadata(note, team, now=now, default_source=CONFLICT_SOURCE)
        apply_defaults(memory, metadata, {}, now)
        keys.append(conflict_key([older, newer]))
        metadatas.append(metadata)
    embedder = memory._embedder_for(acting(notes[0][2]))  # one index, one tenant
    vectors = embedder.embed_documents([m[Field.CONTENT] for m in metadatas])
    records = [MemoryRecord(k, v, m) for k, v, m in zip(keys, vectors, metadatas, strict=True)]
    backend.put_vectors(index, last_wins(records))
    memory.telemetry.conflicts(len(records))
    memory.telemetry.log("conflict", notes=len(records), index=index)
    if newest_wins:
        with memory._mutation_lock:
            rewrite(
                backend,
                index,
                {older: partial(superseded, by=newer) for (newer, _), (older, _), _ in notes},
            )
