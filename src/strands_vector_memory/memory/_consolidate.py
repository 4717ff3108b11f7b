"""Consolidation: clusters of similar episodes of a scope become one semantic memory each.

An agent that meets a user every week stores the same few facts again and again as
episodes ("we're flying to Lisbon on the 12th", "the Lisbon hotel is booked", ...).
Each is a separate hit that crowds recall, and each expires on its own. Consolidation
finds groups of episodes about one thing, asks a :class:`Merger` (e.g. a model) for one
statement that keeps every fact, stores that as a ``semantic`` memory listing the keys
it replaces (``consolidated_from``), and deletes the episodes.

**Crash safety is the order.** The merged memory is written first and the originals
deleted after, so a crash in between leaves duplicates, never a gap. Every run starts
with recovery: an episode still listed in some merged memory's ``consolidated_from`` is
such a leftover and is deleted then. A second run over the same data is a no-op.

**What is clustered with what.** Only live (not expired, not superseded) episodic
memories, and only those sharing tenant, user, agent, team and task: the merged memory
keeps exactly that scope, so every agent- or team-scoped recall that saw the episodes
sees the merge. The conversation is *not* part of it: the same fact told in several
sessions is precisely what consolidation is for, so the merged memory carries no
``conversation_id``.

**How.** Greedy complete linkage over the stored vectors, oldest first: an episode
joins the open cluster whose members are *all* within ``threshold`` cosine distance
of it (the one with the highest mean similarity when several qualify), else starts its
own. Complete linkage does not chain (A near B near C does not put A with a distant C),
and processing in time order makes the result deterministic.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ..backends import VectorBackend
from ..core import Field, Memory, MemoryType, Scope, ValidationError, conjoin, matches, number, parse_filter
from ..core._limits import json_size
from ._inputs import NewMemory

if TYPE_CHECKING:
    from ._service import VectorMemory

__all__ = ["DEFAULT_THRESHOLD", "SOURCE", "Cluster", "ConsolidationReport", "Merger", "consolidate", "merged_key"]

_log = logging.getLogger("strands_vector_memory")

#: The ``source`` of merged memories (the policy's default confidence for it applies).
SOURCE: Final = "consolidation"

DEFAULT_THRESHOLD: Final = 0.45
"""Cosine distance within which every pair of a cluster must lie (bundled MiniLM model).

Measured with ``MiniLMEmbedder`` on short first-person episodes (the data is in
``tests/memory/test_consolidate.py``: five topics of six distinct facts each, eight
unrelated statements, eight near-domain distractors such as another trip's flight):

* rephrasings of one fact: 0.07-0.20 apart (one outlier, "Biscuit" vs "the puppy", 0.56);
* distinct facts on one topic: 0.18-0.92, median 0.61 (MiniLM keeps facts apart);
* different things: 0.52 at the closest (three flights: Lisbon in June, Tokyo for a
  conference, Berlin for work, all 0.52-0.54 apart), 0.62 for different topics.

With complete linkage no cluster mixes two things up to 0.5 (6 pure clusters, 13 of the
30 topic episodes); at 0.55 two flights join, at 0.7 four clusters are mixed. 0.45 keeps
a 0.07 margin below the closest pair of different things (0.5 would keep 0.02) and still
catches every rephrasing but one: it gathers repeated mentions of the same thing, which
is what consolidation is for. Merging unrelated episodes blurs both, missing a pair only
leaves it for a later run, so the default errs on the strict side. Another embedder
needs its own threshold.
"""

#: Scope parts members of one cluster share (and the merged memory keeps).

#: Bytes of ``consolidated_from`` (compact JSON) one merged memory may carry. It is
#: filterable metadata and S3 Vectors allows 2 KB of that per vector in total.
PROVENANCE_BUDGET: Final = 1024

MAX_CLUSTER_LIMIT: Final = 20
"""Most memories one merge may replace: 20 random keys (35 bytes each in JSON) or 20
idempotent ``m-`` keys (45) stay well under :data:`PROVENANCE_BUDGET`."""


@runtime_checkable
class Merger(Protocol):
    """Turns several related memories into one statement that keeps every fact."""

    def merge(self, texts: Sequence[str]) -> str:
        """One statement for ``texts`` (oldest first); empty text means "do not merge"."""
        ...


@dataclass(frozen=True, slots=True)
class Cluster:
    """One group of episodes and what replaced them.

    Attributes:
        keys: The episodes' keys, oldest first.
        texts: Their contents, in the same order.
        merged_key: The key of the merged memory (derived from ``keys``).
        merged: The merged text as stored; ``None`` on a dry run or when the cluster
            was skipped (the merger gave no text, the guardrails refused it, or an
            episode was forgotten while the merger worked): its episodes were left alone.
    """

    keys: tuple[str, ...]
    texts: tuple[str, ...]
    merged_key: str
    merged: str | None = None


@dataclass(frozen=True, slots=True)
class ConsolidationReport:
    """What a consolidation run found and changed.

    Attributes:
        scanned: Memories of the scope read.
        clusters: The clusters found (every one, including refused merges).
        merged: Merged memories written.
        deleted: Episodes deleted because a merge now holds them.
        recovered: Episodes an earlier, interrupted run had merged but not deleted,
            deleted now (on a dry run: found).
        skipped: Clusters left alone (see :attr:`Cluster.merged`); a later run retries them.
        dry_run: Nothing was merged, written or deleted.
    """

    scanned: int
    clusters: list[Cluster] = field(default_factory=list)
    merged: int = 0
    deleted: int = 0
    recovered: int = 0
    skipped: int = 0
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (the clusters' keys and texts as lists)."""
        view = asdict(self)
        view["clusters"] = [{k: list(v) if isinstance(v, tuple) else v for k, v in c.items()} for c in view["clusters"]]
        return view


def merged_key(keys: Iterable[str]) -> str:
    """The key of the merge of ``keys``: the same cluster always maps to the same memory."""
    return "k-" + hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()[:40]


def _check(threshold: float | None, min_cluster: int, max_cluster: int) -> float:
    if isinstance(max_cluster, bool) or not isinstance(max_cluster, int) or not 2 <= max_cluster <= MAX_CLUSTER_LIMIT:
        raise ValidationError(
            f"max_cluster must be an integer in 2..{MAX_CLUSTER_LIMIT}, got {max_cluster!r}",
            field="max_cluster",
            limit=f"2..{MAX_CLUSTER_LIMIT}",
        )
    if isinstance(min_cluster, bool) or not isinstance(min_cluster, int) or not 2 <= min_cluster <= max_cluster:
        raise ValidationError(
            f"min_cluster must be an integer in 2..max_cluster ({max_cluster}), got {min_cluster!r}",
            field="min_cluster",
            limit=f"2..{max_cluster}",
        )
    if threshold is None:
        return DEFAULT_THRESHOLD
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold < 1:
        raise ValidationError(
            f"threshold must be a cosine distance in (0, 1), got {threshold!r}", field="threshold", limit="(0, 1)"
        )
    return float(threshold)


def _number(value: object) -> float:
    return number(value) or 0.0


def _partition(metadata: Mapping[str, Any]) -> Scope:
    """The scope a memory shares with everything it may be merged with: all of it but the conversation."""
    return replace(Scope.from_metadata(metadata), conversation_id=None)


def _provenance(metadata: Mapping[str, Any]) -> list[str]:
    value = metadata.get(Field.CONSOLIDATED_FROM)
    return [k for k in value if isinstance(k, str)] if isinstance(value, list) else []


def _leftovers(merges: Sequence[Memory], by_key: Mapping[str, Memory]) -> list[str]:
    """Episodes an interrupted run merged but did not delete.

    Only a memory consolidation wrote counts as a merge (its source, and its key derived
    from the keys it lists), so a memory that merely carries a ``consolidated_from`` list
    (any writer can set metadata) cannot get episodes deleted. An episode counts only if
    it is in the merge's scope and was created no later than the merge: a key reused
    afterwards (an idempotent key remembered again) is a new memory, not a leftover.
    """
    found: dict[str, None] = {}
    for merge in merges:
        listed = _provenance(merge.metadata)
        if merge.metadata.get(Field.SOURCE) != SOURCE or merge.key != merged_key(listed):
            continue
        scope, written = _partition(merge.metadata), _number(merge.metadata.get(Field.CREATED_AT))
        for key in listed:
            original = by_key.get(key)
            if (
                original is not None
                and original.memory_type is MemoryType.EPISODIC
                and _partition(original.metadata) == scope
                and _number(original.metadata.get(Field.CREATED_AT)) <= written
            ):
                found[key] = None
    return list(found)


def group(vectors: NDArray[np.float32], keys: Sequence[str], *, threshold: float, max_cluster: int) -> list[list[int]]:
    """Greedy complete-linkage clusters of ``vectors`` (rows in processing order), as row lists.

    A row joins the open cluster every member of which is within ``threshold`` cosine
    distance (the best by mean similarity), provided the cluster has room (fewer than
    ``max_cluster`` members, provenance within :data:`PROVENANCE_BUDGET`); else it
    starts a new one. Every row ends up in exactly one cluster, singletons included.
    """
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    floor = 1.0 - threshold
    labels = np.empty(len(keys), dtype=np.intp)
    members: list[list[int]] = []
    sizes: list[int] = []  # bytes of each cluster's consolidated_from list
    for row, key in enumerate(keys):
        cost = json_size(key) + 1
        choice = -1
        if members:
            similar = unit[:row] @ unit[row]
            worst = np.full(len(members), np.inf)
            np.minimum.at(worst, labels[:row], similar)
            counts = np.bincount(labels[:row], minlength=len(members))
            mean = np.bincount(labels[:row], weights=similar, minlength=len(members)) / counts
            room = (counts < max_cluster) & (np.asarray(sizes) + cost <= PROVENANCE_BUDGET)
            eligible = (worst >= floor) & room
            if eligible.any():
                choice = int(np.argmax(np.where(eligible, mean, -np.inf)))
        if choice < 0:
            choice = len(members)
            members.append([])
            sizes.append(2)  # "[]"
        members[choice].append(row)
        sizes[choice] += cost
        labels[row] = choice
    return members


def _candidates(
    memory: VectorMemory, memories: Iterable[Memory], scope: Scope, exclude: set[str]
) -> dict[Scope, list[Memory]]:
    """Live episodes of ``scope`` not yet merged, by partition, oldest first."""
    wanted = parse_filter(
        conjoin(
            memory.layout.scope_filter(scope),
            {Field.MEMORY_TYPE: {"$eq": MemoryType.EPISODIC.value}},
            {Field.CONSOLIDATED_FROM: {"$exists": False}},
            memory._live_filter(memory._clock()),
        )
    )
    parts: dict[Scope, list[Memory]] = {}
    for item in memories:
        if item.key not in exclude and matches(wanted, item.metadata):
            parts.setdefault(_partition(item.metadata), []).append(item)
    for members in parts.values():
        members.sort(key=lambda m: (_number(m.metadata.get(Field.CREATED_AT)), m.key))
    return parts


@dataclass(frozen=True, slots=True)
class _Found:
    """A cluster with what writing its merge needs."""

    cluster: Cluster
    scope: Scope
    event_time: float | None


def _found(members: Sequence[Memory], scope: Scope) -> _Found:
    keys = tuple(m.key for m in members)
    times = [_number(m.metadata.get(Field.EVENT_TIME)) or _number(m.metadata.get(Field.CREATED_AT)) for m in members]
    return _Found(Cluster(keys, tuple(m.content for m in members), merged_key(keys)), scope, max(times) or None)


def _clusters(
    memory: VectorMemory,
    backend: VectorBackend,
    index: str,
    candidates: Mapping[Scope, list[Memory]],
    *,
    threshold: float,
    min_cluster: int,
    max_cluster: int,
) -> list[_Found]:
    """The clusters of every partition, each partition clustered on its own."""
    found: list[_Found] = []
    for scope, members in candidates.items():
        if len(members) < min_cluster:
            continue
        vectors = memory._vectors(backend, index, [m.key for m in members])
        present = [m for m in members if m.key in vectors]
        if len(present) < min_cluster:
            continue
        rows = group(
            np.stack([vectors[m.key] for m in present]),
            [m.key for m in present],
            threshold=threshold,
            max_cluster=max_cluster,
        )
        found.extend(_found([present[r] for r in row], scope) for row in rows if len(row) >= min_cluster)
    return found


def consolidate(
    memory: VectorMemory,
    merger: Merger | None,
    *,
    scope: Scope,
    threshold: float | None,
    min_cluster: int,
    max_cluster: int,
    dry_run: bool,
) -> ConsolidationReport:
    """Merge clusters of similar episodes of ``scope`` (see the module docstring).

    Raises:
        ValidationError: ``scope`` is empty (consolidating everyone's memories
            together is never right), or a bad threshold or cluster size.
        TypeError: ``merger`` is not a :class:`Merger` (``None`` only on a dry run, which merges nothing).
    """
    if scope.is_empty():
        raise ValidationError("consolidate needs a scope: at least a user_id", field="scope")
    if not isinstance(merger, Merger) and not (merger is None and dry_run):
        raise TypeError(f"merger must implement Merger (a merge(texts) method), got {type(merger).__name__}")
    distance = _check(threshold, min_cluster, max_cluster)
    index = memory.layout.index_for(scope)
    backend = memory._backend_for(scope)
    wide = replace(scope, conversation_id=None)  # merges carry no conversation: find them too
    everything = list(memory.iter_memories(scope=scope if wide.is_empty() else wide, include_expired=True))
    leftovers = _leftovers([m for m in everything if _provenance(m.metadata)], {m.key: m for m in everything})
    if leftovers and not dry_run:
        memory._delete(backend, index, leftovers)
    found = _clusters(
        memory,
        backend,
        index,
        _candidates(memory, everything, scope, set(leftovers)),
        threshold=distance,
        min_cluster=min_cluster,
        max_cluster=max_cluster,
    )
    if dry_run or merger is None:
        report = ConsolidationReport(
            len(everything), [f.cluster for f in found], recovered=len(leftovers), dry_run=True
        )
    else:
        report = _apply(memory, merger, found, backend, index, scanned=len(everything), recovered=len(leftovers))
    memory.telemetry.log(
        "consolidate",
        clusters=len(report.clusters),
        merged=report.merged,
        deleted=report.deleted,
        recovered=report.recovered,
        skipped=report.skipped,
        dry_run=dry_run,
    )
    return report


def _apply(
    memory: VectorMemory,
    merger: Merger,
    found: Sequence[_Found],
    backend: VectorBackend,
    index: str,
    *,
    scanned: int,
    recovered: int,
) -> ConsolidationReport:
    """Merge, write, then delete, cluster by cluster (so an interruption loses nothing)."""
    clusters: list[Cluster] = []
    merged = deleted = skipped = 0
    for item in found:
        stored = _write(memory, item, merger.merge(list(item.cluster.texts)))
        if stored is None:
            skipped += 1
            clusters.append(item.cluster)
            continue
        merged += 1
        deleted += memory._delete(backend, index, list(item.cluster.keys))
        clusters.append(replace(item.cluster, merged=stored))
    return ConsolidationReport(scanned, clusters, merged, deleted, recovered, skipped, dry_run=False)


def _write(memory: VectorMemory, found: _Found, text: object) -> str | None:
    """Store the merge of one cluster; its stored text, or ``None`` when refused (logged)."""
    keys = found.cluster.keys
    if not isinstance(text, str) or not text.strip():
        _log.warning("the merger returned no text for %d memories (%s, ...): left as they are", len(keys), keys[0])
        return None
    if len(memory.get_many(list(keys), scope=found.scope)) != len(keys):
        _log.warning("memories of %s changed while merging: left for the next run", found.cluster.merged_key)
        return None
    item = NewMemory(
        content=text.strip(),
        memory_type=MemoryType.SEMANTIC,
        source=SOURCE,
        key=found.cluster.merged_key,
        metadata={Field.CONSOLIDATED_FROM: list(keys)},
        event_time=found.event_time,
    )
    try:
        stored = memory.remember_many([item], scope=found.scope, screen=False)
    except ValidationError as exc:  # refused by the guardrails, too long, ...
        _log.warning("the merge of %d memories was refused (%s): left as they are", len(keys), exc)
        return None
    return stored[0].content
