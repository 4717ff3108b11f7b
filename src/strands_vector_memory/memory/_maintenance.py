"""Maintenance that walks every index: expiry, confidence decay, a user's erasure and export.

These run as jobs (``strands-memory expire|decay|forget --user|export --user``), while
agents keep reading and writing. Each works index by index with that index's owner's
identity (per-tenant indexes included), reads in pages, and writes in batches:

* **expire** deletes memories past ``expires_at``. They are already invisible to
  recall; this reclaims the space. A batch is read again just before it is deleted, so
  a memory rewritten meanwhile with a new lifetime survives. Running it twice deletes
  nothing the second time.
* **decay** lowers the confidence of memories nobody has written or recalled for a
  while (half-life decay, from the end of the grace window or the last decay, so two
  runs in a row do not decay twice). Recall's relevance score weighs confidence, so
  decayed memories sink.
* **forget_user** deletes every memory of a user in every index and clears what the
  service keeps beside the indexes (caches, registered side stores such as a plugin's
  outbox) so no trace of the user remains; **export_user** returns everything held.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from ..backends import ScopedBackend, VectorBackend
from ..core import Field, MemoryRecord, Scope, ValidationError, number
from ..core._limits import MAX_DELETE_BATCH
from ._policy import DAY
from ._updates import fetch, rewrite

if TYPE_CHECKING:
    from ._service import VectorMemory

__all__ = ["DecayReport", "ExpireReport", "ForgetReport", "decay", "expire", "export_user", "forget_user"]


@dataclass(frozen=True, slots=True)
class ExpireReport:
    """What an expiry sweep found and deleted."""

    indexes: int
    scanned: int
    expired: int
    deleted: int
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class DecayReport:
    """What a decay run changed."""

    indexes: int
    scanned: int
    decayed: int
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ForgetReport:
    """What forgetting a user removed, per index and per side store."""

    user_id: str
    tenant_id: str | None
    memories: dict[str, int] = field(default_factory=dict)
    side_stores: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def total(self) -> int:
        """Memories deleted (or, on a dry run, that would be)."""
        return sum(self.memories.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {**asdict(self), "total": self.total}


def indexes(memory: VectorMemory, *, tenant_id: str | None = None) -> list[tuple[str, VectorBackend]]:
    """Every index of the layout, each with the backend acting for its owner.

    With ``tenant_id`` on a one-index-per-tenant layout, just that tenant's index.
    """
    if tenant_id is not None:
        scope = Scope(tenant_id=tenant_id)
        own = memory.layout.index_for(scope)
        if own != memory.layout.index_for(Scope(tenant_id=f"{tenant_id}-other")):  # an index per tenant
            return [(own, memory._backend_for(scope))]
    names = memory.layout.all_indexes([info.name for info in memory.backend.list_indexes()])
    backend = memory.backend
    if isinstance(backend, ScopedBackend):
        return [(name, backend.for_index(name)) for name in names]
    return [(name, backend) for name in names]


def _records(memory: VectorMemory, backend: VectorBackend, index: str) -> Iterator[MemoryRecord]:
    for _, _, record in memory._scan(backend, index):
        yield record


def _is_expired(metadata: Mapping[str, Any] | None, now: float) -> bool:
    expires = number((metadata or {}).get(Field.EXPIRES_AT))
    return expires is not None and expires <= now


def expire(memory: VectorMemory, *, dry_run: bool = False) -> ExpireReport:
    """Delete every expired memory in every index (see the module docstring)."""
    now = memory._clock()
    scanned = expired = deleted = 0
    walked = indexes(memory)
    for index, backend in walked:
        keys = []
        for record in _records(memory, backend, index):
            scanned += 1
            if _is_expired(record.metadata, now):
                keys.append(record.key)
        expired += len(keys)
        if dry_run:
            continue
        for start in range(0, len(keys), MAX_DELETE_BATCH):
            deleted += _delete_if_still_expired(memory, backend, index, keys[start : start + MAX_DELETE_BATCH], now)
    if deleted:
        memory.telemetry.expired(deleted)
    memory.telemetry.log("expire", indexes=len(walked), scanned=scanned, expired=expired, deleted=deleted)
    return ExpireReport(len(walked), scanned, expired, deleted, dry_run)


def _delete_if_still_expired(
    memory: VectorMemory, backend: VectorBackend, index: str, keys: list[str], now: float
) -> int:
    with memory._mutation_lock:
        still = [r.key for r in fetch(backend, index, keys) if _is_expired(r.metadata, now)]
        return memory._delete(backend, index, still)


def decayed(
    metadata: Mapping[str, Any], *, now: float, window: float, half_life: float, floor: float
) -> dict[str, Any] | None:
    """``metadata`` with its confidence decayed, or ``None`` when it keeps its confidence."""
    confidence = number(metadata.get(Field.CONFIDENCE))
    if confidence is None or confidence <= floor or metadata.get(Field.SUPERSEDED_BY) is not None:
        return None
    activity = [number(metadata.get(k)) for k in (Field.CREATED_AT, Field.LAST_SEEN, Field.LAST_RECALLED)]
    last_active = max((t for t in activity if t is not None), default=None)
    if last_active is None or now - last_active < window:
        return None
    since = max(last_active + window, number(metadata.get(Field.DECAYED_AT)) or 0.0)
    if now <= since:
        return None
    lowered = max(floor, confidence * math.pow(0.5, (now - since) / half_life))
    if confidence - lowered < 1e-6:
        return None
    return {**metadata, Field.CONFIDENCE: lowered, Field.DECAYED_AT: now}


def decay(
    memory: VectorMemory,
    *,
    window: float = 30 * DAY,
    half_life: float = 90 * DAY,
    floor: float = 0.05,
    dry_run: bool = False,
) -> DecayReport:
    """Lower the confidence of memories idle for longer than ``window`` seconds."""
    for name, value in (("window", window), ("half_life", half_life)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValidationError(f"{name} must be a positive number of seconds, got {value!r}", field=name)
    if isinstance(floor, bool) or not isinstance(floor, int | float) or not 0 <= floor <= 1:
        raise ValidationError(f"floor must be in 0..1, got {floor!r}", field="floor", limit="0..1")
    memory.flush_access()  # recent recalls count as use
    now = memory._clock()
    rule = partial(decayed, now=now, window=float(window), half_life=float(half_life), floor=float(floor))
    scanned = changed = 0
    walked = indexes(memory)
    for index, backend in walked:
        due = []
        for record in _records(memory, backend, index):
            scanned += 1
            if not _is_expired(record.metadata, now) and rule(record.metadata or {}) is not None:
                due.append(record.key)
        if dry_run:
            changed += len(due)
            continue
        with memory._mutation_lock:  # recomputed on the fresh read: a reinforcement meanwhile wins
            changed += len(rewrite(backend, index, {key: rule for key in due}))
    memory.telemetry.log("decay", indexes=len(walked), scanned=scanned, decayed=changed)
    return DecayReport(len(walked), scanned, changed, dry_run)


def _belongs(metadata: Mapping[str, Any] | None, user_id: str, tenant_id: str | None) -> bool:
    """Whether a memory is the user's: the same user id under the same tenant (or none).

    ``alice`` of one tenant and ``alice`` of another are two people, and a user without
    a tenant is a third.
    """
    meta = metadata or {}
    return meta.get(Field.USER_ID) == user_id and meta.get(Field.TENANT_ID) == tenant_id


def forget_user(
    memory: VectorMemory, user_id: str, *, tenant_id: str | None = None, dry_run: bool = False
) -> ForgetReport:
    """Delete every memory of ``user_id`` everywhere and clear the side stores (module docstring)."""
    if not isinstance(user_id, str) or not user_id.strip():
        raise ValidationError("user_id must be a non-empty string", field="user_id")
    side: dict[str, int] = {}
    if not dry_run:  # side stores first: a queued write must not land after the purge
        for name, forget, _ in memory._side_stores:
            side[name] = side.get(name, 0) + forget(user_id, tenant_id)
    found: dict[str, int] = {}
    for index, backend in indexes(memory, tenant_id=tenant_id):
        keys = [r.key for r in _records(memory, backend, index) if _belongs(r.metadata, user_id, tenant_id)]
        if not keys:
            continue
        found[index] = len(keys)
        if dry_run:
            continue
        memory._delete(backend, index, keys)
        scrub = getattr(backend, "scrub", None)
        if callable(scrub):  # an embedded store: wipe the deleted bytes from its files
            scrub(index)
    if not dry_run:
        _clear_embedding_cache(memory.embedder)
        memory.telemetry.forgotten(sum(found.values()))
    memory.telemetry.log("forget_user", indexes=len(found), total=sum(found.values()), dry_run=dry_run)
    return ForgetReport(user_id, tenant_id, found, side, dry_run)


def _clear_embedding_cache(embedder: object) -> None:
    """Drop cached vectors: a cache is keyed by texts, and some of them were the user's."""
    for name in ("clear", "cache_clear"):  # CachedEmbedder.clear; MiniLMEmbedder's own cache
        clear = getattr(embedder, name, None)
        if callable(clear):
            clear()
            return


def export_user(memory: VectorMemory, user_id: str, *, tenant_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Everything held about ``user_id``, as JSON-ready dicts.

    Every memory in every index (expired and superseded included), then what attached
    side stores hold (e.g. turns not yet stored).
    """
    if not isinstance(user_id, str) or not user_id.strip():
        raise ValidationError("user_id must be a non-empty string", field="user_id")
    for index, backend in indexes(memory, tenant_id=tenant_id):
        for record in _records(memory, backend, index):
            if _belongs(record.metadata, user_id, tenant_id):
                yield {
                    "kind": "memory",
                    "index": index,
                    "key": record.key,
                    "content": record.content,
                    "metadata": dict(record.metadata or {}),
                }
    for name, _, exporter in memory._side_stores:
        for item in exporter(user_id, tenant_id) if exporter is not None else ():
            yield {"kind": name, **item}
