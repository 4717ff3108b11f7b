"""The write-time check: is a new memory a duplicate, a contradiction, or new?

For each new memory two small vector queries run against the index it is going to:
one for an exact duplicate (same content hash, by filter, so it is found whatever its
vector), one for its nearest neighbours on the same subject. What they find decides:

* an exact duplicate, or a near one (within ``Dedup.distance``) that neither
  disagrees (per the checker) nor adds a detail, in the same scope and of the same
  type: **reinforce** it instead of storing a copy;
* a memory on the same subject (within ``Conflicts.distance``) that the checker says
  disagrees, or one another agent wrote very close by: **store** the new memory
  linked to it, and report the conflict;
* anything else: store.

"Same scope" leaves out the conversation except for episodes: a fact repeated in the
next conversation is the same fact, a turn in the next conversation is another event.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..backends import QueryMatch, VectorBackend
from ..core import Field, MemoryType, Scope, conjoin
from ._conflicts import adds_detail
from ._policy import MemoryPolicy

__all__ = ["Verdict", "content_hash", "dedup_scope", "screen"]

#: Neighbours compared per new memory: near-duplicates rank first by definition.
_NEIGHBOURS = 5


def content_hash(content: str) -> str:
    """The identity of a text for exact-duplicate checks (case and spacing do not count)."""
    normal = " ".join(unicodedata.normalize("NFC", content).casefold().split())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()[:16]


def dedup_scope(scope: Scope, memory_type: str) -> Scope:
    """The scope in which two memories of ``memory_type`` are the same memory."""
    return scope if memory_type == MemoryType.EPISODIC.value else replace(scope, conversation_id=None)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one new memory."""

    reinforce: QueryMatch | None = None
    """The existing memory it duplicates (store nothing, reinforce this)."""
    conflicts: tuple[QueryMatch, ...] = field(default_factory=tuple)
    """Existing memories it disagrees with (store it, linked to these)."""


def _agent(metadata: Mapping[str, Any]) -> str | None:
    value = metadata.get(Field.AGENT_ID)
    return value if isinstance(value, str) else None


def _same_scope(metadata: Mapping[str, Any], scope: Scope) -> bool:
    return Scope.from_metadata(metadata) == scope


def screen(
    backend: VectorBackend,
    index: str,
    *,
    key: str,
    metadata: Mapping[str, Any],
    vector: NDArray[np.float32],
    scope: Scope,
    policy: MemoryPolicy,
    scope_filter: Callable[[Scope], dict[str, Any] | None],
    live: Mapping[str, Any],
) -> Verdict:
    """Decide what one new memory is, from what ``index`` already holds.

    Args:
        backend: The backend acting for the new memory's tenant.
        index: The index the new memory goes to.
        key: The new memory's key (a record with this key is being overwritten, so it
            is never its own duplicate or conflict).
        metadata: The new memory's complete metadata (content hash included).
        vector: Its vector.
        scope: Its scope.
        policy: The dedup and conflict settings.
        scope_filter: Builds the layout's filter for a scope (``layout.scope_filter``).
        live: The filter for memories still in play (not expired, not superseded).
    """
    kind = str(metadata[Field.MEMORY_TYPE])
    same = dedup_scope(scope, kind)
    dedup, conflicts = policy.dedup, policy.conflicts
    if dedup.enabled:
        exact = backend.query_vectors(
            index,
            vector,
            top_k=1,
            filter=conjoin(
                scope_filter(same),
                {Field.MEMORY_TYPE: {"$eq": kind}},
                {Field.CONTENT_HASH: {"$eq": metadata[Field.CONTENT_HASH]}},
                live,
            ),
            return_metadata=True,
            return_distance=True,
        )
        if exact and exact[0].key != key and _same_scope(exact[0].metadata or {}, same):
            return Verdict(reinforce=exact[0])
    checked = conflicts.enabled and kind in conflicts.types
    if not dedup.enabled and not checked:
        return Verdict()
    if checked:  # the subject across the team: every agent and conversation of the scope
        wide = replace(scope, agent_id=None, conversation_id=None)
        document = conjoin(scope_filter(wide), {Field.MEMORY_TYPE: {"$in": list(conflicts.types)}}, live)
    else:
        document = conjoin(scope_filter(same), {Field.MEMORY_TYPE: {"$eq": kind}}, live)
    near = backend.query_vectors(
        index, vector, top_k=_NEIGHBOURS, filter=document, return_metadata=True, return_distance=True
    )
    content = str(metadata[Field.CONTENT])
    found: list[QueryMatch] = []
    for match in near:
        other = match.metadata or {}
        distance = match.distance if match.distance is not None else 1.0
        if match.key == key:
            continue
        near_duplicate = (
            dedup.enabled
            and distance <= dedup.distance
            and other.get(Field.MEMORY_TYPE) == kind
            and _same_scope(other, same)
        )
        in_topic = checked and distance <= conflicts.distance
        # The checker guards duplicates too: "fact number 1" and "fact number 2" are close
        # vectors but different memories, whatever their type.
        differs = (near_duplicate or in_topic) and conflicts.checker.disagrees(
            content, str(other.get(Field.CONTENT, ""))
        )
        if in_topic and differs:
            found.append(match)
            continue
        if near_duplicate and not differs and not found and not adds_detail(content, str(other.get(Field.CONTENT, ""))):
            return Verdict(reinforce=match)
        cross_agent = (
            checked
            and conflicts.cross_agent_distance is not None
            and distance <= conflicts.cross_agent_distance
            and _agent(other) is not None
            and _agent(metadata) is not None
            and _agent(other) != _agent(metadata)
            and other.get(Field.CONTENT_HASH) != metadata[Field.CONTENT_HASH]
        )
        if cross_agent:
            found.append(match)
    return Verdict(conflicts=tuple(found))


def in_batch_duplicates(hashes: Sequence[tuple[Scope, str, str]]) -> dict[int, int]:
    """Positions in one batch that repeat an earlier one: position -> first position."""
    first: dict[tuple[Scope, str, str], int] = {}
    repeats: dict[int, int] = {}
    for position, identity in enumerate(hashes):
        if identity in first:
            repeats[position] = first[identity]
        else:
            first[identity] = position
    return repeats
