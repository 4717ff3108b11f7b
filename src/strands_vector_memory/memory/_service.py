"""``VectorMemory``: the one service every face of the library calls.

It owns the memory semantics (scoping, schema stamping, expiry, keys, scores) and
nothing else: vectors come from an :class:`Embedder`, storage is a
:class:`VectorBackend`, and which index a scope lives in is an :class:`IndexLayout`.
The CLI, the Strands plugin and any server are thin layers over these methods.
"""

from __future__ import annotations

import builtins
import copy
import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .._telemetry import SPAN_CONSOLIDATE, SPAN_DECAY, SPAN_EXPIRE, SPAN_FORGET, SPAN_RECALL, SPAN_REMEMBER, Telemetry
from ..backends import IndexInfo, QueryMatch, ScopedBackend, TextMatch, TextSearchBackend, VectorBackend
from ..core import (
    AccessDeniedError,
    ConflictError,
    Field,
    Memory,
    MemoryRecord,
    MemoryType,
    NotFoundError,
    Scope,
    ValidationError,
    VectorMemoryError,
    WriteOutcome,
    conjoin,
    matches,
    parse_filter,
)
from ..core._limits import (
    MAX_DELETE_BATCH,
    MAX_PUT_BATCH,
    encode_metadata,
    validate_key,
    validate_top_k,
)
from ..embedders import Embedder, RoutedEmbedder, TokenCounter
from . import _maintenance, _writing
from ._access import AccessLog, accessed
from ._context import DEFAULT_HEADER, MemoryContext, Order, pack_context
from ._guardrails import Guardrails, MaxSize
from ._inputs import (
    MAX_CONTENT_BYTES,
    NewMemory,
    Timestamp,
    build_metadata,
    check_content,
    check_context,
    idempotent_key,
    new_key,
    to_epoch,
)
from ._layout import IndexLayout, SharedIndexLayout
from ._maintenance import DecayReport, ExpireReport, ForgetReport
from ._paging import MemoryPage, decode_page_token, encode_page_token
from ._policy import DAY, MemoryPolicy
from ._ranking import Candidate, Ranking, RetrievalMode, collect, diversify, rank
from ._stats import MemoryStats, summarise
from ._updates import fetch, rewrite
from ._writing import Prepared
from ._writing import acting as _acting
from ._writing import last_wins as _last_wins

if TYPE_CHECKING:
    from ._consolidate import ConsolidationReport, Merger

__all__ = ["MemoryPage", "MemoryStats", "VectorMemory"]

_log = logging.getLogger("strands_vector_memory")

_Exporter = Callable[[str, str | None], Iterable[Mapping[str, Any]]]
"""What a side store holds about (user id, tenant id)."""


def _not_expired(now: float) -> dict[str, Any]:
    return {"$or": [{Field.EXPIRES_AT: {"$exists": False}}, {Field.EXPIRES_AT: {"$gt": now}}]}


_NOT_SUPERSEDED: dict[str, Any] = {Field.SUPERSEDED_BY: {"$exists": False}}


def _resolve_scope(scope: Scope | None, user_id: str | None) -> Scope:
    base = scope or Scope()
    return base if user_id is None else replace(base, user_id=user_id)


class VectorMemory:
    """Long-term semantic memory: remember text, recall it by meaning.

    Args:
        backend: Where vectors live (``EmbeddedBackend`` by default via :meth:`open`).
        embedder: Turns text into vectors; its dimension fixes the index dimension.
        layout: Which index a scope lives in (one shared index by default).
        default_source: The ``source`` stamped on memories that do not name one.
        clock: Epoch seconds now; injectable so expiry can be tested without sleeping.
        ranking: How recall orders results (hybrid BM25 + vector fusion with
            conversational signals by default); each call may pass its own.
        context_weight: How much a memory's ``context`` texts pull its vector towards
            them (each context vector is added with this weight before normalising).
        policy: Lifecycle rules for writes: default lifetimes and confidence, duplicate
            and conflict handling (:class:`MemoryPolicy`).
        guardrails: Checks every memory passes before it is stored (size, redaction of
            secrets and contact data, flagging of instruction-like text);
            ``Guardrails.none()`` turns them off.
        telemetry: Where spans, metrics and structured logs go (OpenTelemetry; nothing
            is sent anywhere unless the application configures an exporter).
        record_access: Note which memories recall returns and write that back in
            batches (decay uses it to spare memories still in use).
    """

    def __init__(
        self,
        backend: VectorBackend | ScopedBackend,
        embedder: Embedder,
        *,
        layout: IndexLayout | None = None,
        default_source: str = "api",
        clock: Callable[[], float] = time.time,
        ranking: Ranking | None = None,
        context_weight: float = 0.25,
        policy: MemoryPolicy | None = None,
        guardrails: Guardrails | None = None,
        telemetry: Telemetry | None = None,
        record_access: bool = True,
    ) -> None:
        if not isinstance(backend, VectorBackend | ScopedBackend):
            raise TypeError(f"backend must implement VectorBackend or ScopedBackend, got {type(backend).__name__}")
        if not isinstance(embedder, Embedder):
            raise TypeError(f"embedder must implement Embedder, got {type(embedder).__name__}")
        self.backend = backend
        self.embedder = embedder
        self.layout = layout or SharedIndexLayout()
        self.default_source = default_source
        self._clock = clock
        if ranking is not None and not isinstance(ranking, Ranking):
            raise TypeError(f"ranking must be a Ranking, got {type(ranking).__name__}")
        self.ranking = ranking or Ranking()
        if (
            isinstance(context_weight, bool)
            or not isinstance(context_weight, int | float)
            or not (math.isfinite(context_weight) and context_weight >= 0)
        ):
            raise ValidationError(
                f"context_weight must be a non-negative number, got {context_weight!r}", field="context_weight"
            )
        self.context_weight = float(context_weight)
        if policy is not None and not isinstance(policy, MemoryPolicy):
            raise TypeError(f"policy must be a MemoryPolicy, got {type(policy).__name__}")
        self.policy = policy or MemoryPolicy()
        self.guardrails = guardrails if guardrails is not None else Guardrails.default()
        self.telemetry = telemetry or Telemetry()
        self._mutation_lock = threading.RLock()
        self.record_access = record_access
        self._access = AccessLog(clock=clock)
        self._flush_idle = threading.Lock()
        self._flusher: threading.Thread | None = None
        self._side_stores: builtins.list[tuple[str, Callable[[str, str | None], int], _Exporter | None]] = []
        self._tenant_side_stores: builtins.list[tuple[str, Callable[[str], int]]] = []
        self._warned_no_text_search = False
        self._token_counter: TokenCounter | None = None
        self._ready: set[str] = set()
        self._ready_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        embedder: Embedder | None = None,
        layout: IndexLayout | None = None,
        **options: Any,
    ) -> VectorMemory:
        """A memory on the embedded engine at ``path`` with the bundled offline embedder.

        ``path`` defaults to ``$STRANDS_MEMORY_STORE`` or the per-user data directory.
        """
        from ..backends import EmbeddedBackend
        from ..embedders import MiniLMEmbedder
        from ._paths import default_store_path

        backend = EmbeddedBackend(path if path is not None else default_store_path())
        return cls(backend, embedder or MiniLMEmbedder(), layout=layout, **options)

    @classmethod
    def from_s3_vectors(
        cls,
        bucket: str | None = None,
        *,
        region: str | None = None,
        embedder: Embedder | None = None,
        endpoint_url: str | None = None,
        session: Any = None,
        client: Any = None,
        config: Any = None,
        layout: IndexLayout | None = None,
        create_bucket: bool = False,
        tvm: Any = None,
        tenant_embeddings: bool = True,
        **options: Any,
    ) -> VectorMemory:
        """A memory on Amazon S3 Vectors (needs the ``aws`` extra: boto3).

        ``bucket`` defaults to ``$S3_VECTOR_BUCKET_NAME`` and ``region`` to ``$AWS_REGION``
        (then boto3's own lookup); ``endpoint_url`` points at another endpoint such as
        ``strands-memory serve``. Credentials come from ``session`` or boto3's usual chain.
        The embedder defaults to the bundled offline model, so a store written locally
        can move to S3 Vectors unchanged; pass e.g. ``TitanEmbedder()`` for Bedrock.
        ``create_bucket`` creates the vector bucket if it does not exist.

        Multi-tenant: pass ``tvm=TokenVendingMachine(role_arn)``. Every tenant then
        has its own index (``memory-<tenant key>``, or ``layout=TenantIndexLayout(prefix)``)
        and every call runs with that tenant's STS credentials, so IAM itself keeps
        tenants apart; a call that names no tenant raises ``IsolationError``. A Bedrock
        embedder is then called with the tenant's credentials too, unless
        ``tenant_embeddings=False``.
        """
        from ..backends import S3VectorsBackend
        from ..embedders import MiniLMEmbedder
        from ._paths import default_bucket

        bucket = default_bucket(bucket)
        embedder = embedder or MiniLMEmbedder()
        if tvm is not None:
            from ..tenancy import tenant_memory_parts

            if create_bucket:  # a bucket-level act: the application's own credentials
                with S3VectorsBackend(
                    bucket, client=client, session=session, region_name=region, endpoint_url=endpoint_url, config=config
                ) as admin:
                    admin.create_bucket(exist_ok=True)
            backend, embedder, layout = tenant_memory_parts(
                bucket,
                tvm,
                embedder=embedder,
                layout=layout,
                endpoint_url=endpoint_url,
                region=region,
                config=config,
                tenant_embeddings=tenant_embeddings,
            )
            return cls(backend, embedder, layout=layout, **options)
        s3 = S3VectorsBackend(
            bucket,
            client=client,
            session=session,
            region_name=region,
            endpoint_url=endpoint_url,
            config=config,
        )
        if create_bucket:
            s3.create_bucket(exist_ok=True)
        return cls(s3, embedder, layout=layout, **options)

    @property
    def content_limit(self) -> int:
        """The most UTF-8 bytes a memory's content may have: the store's limit or a stricter guardrail's.

        Writers that cut text to fit (the plugin clips long turns) cut to this.
        """
        sizes = [step.max_bytes for step in self.guardrails.steps if isinstance(step, MaxSize)]
        return min([MAX_CONTENT_BYTES, *sizes])

    def __repr__(self) -> str:
        return f"VectorMemory(backend={self.backend!r}, embedder={self.embedder.name!r}, layout={self.layout!r})"

    def __enter__(self) -> VectorMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write pending recall statistics, then release the backend."""
        try:
            if self._flusher is not None:
                self._flusher.join()
            self.flush_access()
        finally:
            self.backend.close()

    # -- indexes ---------------------------------------------------------------

    def ensure_index(self, *, scope: Scope | None = None) -> IndexInfo:
        """Create the index ``scope`` lives in now rather than on first write.

        Useful to fail early on a read-only path or on a store built with another embedder.
        """
        resolved = scope or Scope()
        name = self.layout.index_for(resolved)
        backend = self._backend_for(resolved)
        self._ensure_index(backend, name)
        return backend.get_index(name)

    def _backend_for(self, scope: Scope) -> VectorBackend:
        """The storage acting for ``scope`` (as its tenant, when the backend is scoped).

        Chosen by the caller's scope, never by the index name, so a layout bug that
        named another tenant's index would still present this tenant's credentials.
        """
        if isinstance(self.backend, ScopedBackend):
            return self.backend.for_scope(scope)
        return self.backend

    def _embedder_for(self, scope: Scope) -> Embedder:
        """The embedder acting for ``scope`` (as its tenant, when the embedder is routed)."""
        if isinstance(self.embedder, RoutedEmbedder):
            return self.embedder.for_scope(scope)
        return self.embedder

    def _ensure_index(self, backend: VectorBackend, name: str) -> None:
        """Create the index on first use; refuse one built for another embedder."""
        if name in self._ready:
            return
        with self._ready_lock:
            if name in self._ready:
                return
            try:
                info = backend.get_index(name)
            except NotFoundError:
                try:
                    info = backend.create_index(
                        name,
                        dimension=self.embedder.dimension,
                        distance_metric="cosine",
                        non_filterable_keys=sorted(Field.NON_FILTERABLE),
                    )
                except ConflictError:  # another process created it first
                    info = backend.get_index(name)
            if info.dimension != self.embedder.dimension:
                raise ConflictError(
                    f"index {name!r} holds {info.dimension}-dimensional vectors but embedder "
                    f"{self.embedder.name!r} makes {self.embedder.dimension}: use the embedder the store was built with"
                )
            missing = sorted(Field.NON_FILTERABLE - info.non_filterable_keys)
            if missing:  # e.g. made by another tool: long texts would break the 2 KB filterable limit
                raise ConflictError(
                    f"index {name!r} was not created by strands-vector-memory: {', '.join(missing)} must be "
                    "non-filterable metadata (fixed at creation); use another index name or delete and recreate it"
                )
            self._ready.add(name)

    def _existing_indexes(self, scope: Scope | None = None) -> list[str]:
        """The layout's indexes in the bucket; only ``scope``'s own when listing is not allowed."""
        try:
            names = [info.name for info in self.backend.list_indexes()]
        except AccessDeniedError:  # a tenant's credentials cannot list the bucket
            if scope is None:
                raise
            names = [self.layout.index_for(scope)]
        return self.layout.all_indexes(names)

    # -- writing ---------------------------------------------------------------

    def remember(
        self,
        content: str,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        memory_type: MemoryType | str = MemoryType.EPISODIC,
        source: str | None = None,
        event_time: Timestamp | None = None,
        expires_at: Timestamp | None = None,
        ttl: float | None = None,
        confidence: float | None = None,
        metadata: Mapping[str, Any] | None = None,
        key: str | None = None,
        idempotent: bool = False,
    ) -> Memory:
        """Store one memory and return it (with its key).

        ``idempotent=True`` derives the key from scope, type and content, so repeating
        the call stores one copy; ``key=`` names it explicitly (overwriting).
        """
        item = NewMemory(
            content=content,
            memory_type=memory_type,
            source=source,
            event_time=event_time,
            expires_at=expires_at,
            ttl=ttl,
            confidence=confidence,
            metadata=metadata,
            key=key,
            idempotent=idempotent,
        )
        return self.remember_many([item], scope=scope, user_id=user_id)[0]

    def remember_many(
        self,
        items: Iterable[NewMemory | str],
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        screen: bool = True,
    ) -> list[Memory]:
        """Store many memories: embedded in batches, written in batches of up to 500.

        Every item is validated before anything is embedded or written, so bad input
        fails the call without a partial write of invalid data. Each item then passes
        the policy's duplicate and conflict checks (``screen=False`` skips them, e.g.
        to restore an export exactly); the returned memories say what happened
        (``outcome``): stored, reinforced (a duplicate: the existing memory is returned)
        or conflicted (stored, linked to the memory it disagrees with).
        """
        with self.telemetry.span(SPAN_REMEMBER) as span:
            stored = self._remember_many(items, _resolve_scope(scope, user_id), screen)
            counts = Counter(m.outcome.value for m in stored if m.outcome is not None)
            for outcome, count in counts.items():
                span.set_attribute(f"memory.{outcome}", count)
        written = counts[WriteOutcome.STORED.value] + counts[WriteOutcome.CONFLICTED.value]
        self.telemetry.writes(written)
        if counts[WriteOutcome.REINFORCED.value]:
            self.telemetry.dedup_hits(counts[WriteOutcome.REINFORCED.value])
        if stored:
            self.telemetry.log("remember", **{k: counts[k] for k in ("stored", "reinforced", "conflicted")})
        return stored

    def _remember_many(self, items: Iterable[NewMemory | str], base: Scope, screen: bool) -> builtins.list[Memory]:
        prepared = self._prepare(items, base)
        if not prepared:
            return []
        screening = screen and (self.policy.dedup.enabled or self.policy.conflicts.enabled)
        stored: list[Memory] = []
        for start in range(0, len(prepared), MAX_PUT_BATCH):
            chunk = prepared[start : start + MAX_PUT_BATCH]
            vectors = self._embed(chunk)
            groups: dict[tuple[str, Scope], list[int]] = {}
            for position, item in enumerate(chunk):
                groups.setdefault((item.index_name, _acting(item.scope)), []).append(position)
            results: dict[int, Memory] = {}
            for (index, acting), positions in groups.items():
                backend = self._backend_for(acting)
                self._ensure_index(backend, index)
                members = [(chunk[p], vectors[p]) for p in positions]
                if screening:
                    outcomes = _writing.write_screened(self, backend, index, members)
                else:
                    backend.put_vectors(index, _last_wins([MemoryRecord(p.key, v, p.metadata) for p, v in members]))
                    outcomes = [
                        Memory(p.key, p.metadata[Field.CONTENT], p.metadata, outcome=WriteOutcome.STORED)
                        for p, _ in members
                    ]
                results.update(zip(positions, outcomes, strict=True))
            stored.extend(results[p] for p in range(len(chunk)))
        return stored

    def _embed(self, chunk: builtins.list[Prepared]) -> builtins.list[NDArray[np.float32]]:
        """One vector per item: its content's, pulled towards its context texts.

        Every distinct text of an index is embedded once (a turn is often its
        neighbours' context), by that index's embedder.
        """
        weight = self.context_weight
        by_scope: dict[Scope, builtins.list[str]] = {}
        for _, _, metadata, context, scope, _ in chunk:
            texts = by_scope.setdefault(_acting(scope), [])
            texts.append(metadata[Field.CONTENT])
            if weight:
                texts.extend(context)
        embedded: dict[tuple[Scope, str], NDArray[np.float32]] = {}
        for acting, texts in by_scope.items():
            distinct = builtins.list(dict.fromkeys(texts))
            rows = self._embedder_for(acting).embed_documents(distinct)
            embedded.update({(acting, text): row for text, row in zip(distinct, rows, strict=True)})
        vectors = []
        for _, _, metadata, context, scope, _ in chunk:
            acting = _acting(scope)
            vector = np.asarray(embedded[acting, metadata[Field.CONTENT]], dtype=np.float32)
            if weight and context:
                blended = vector + weight * np.sum([embedded[acting, t] for t in context], axis=0)
                norm = float(np.linalg.norm(blended))
                if norm > 1e-6:
                    vector = (blended / norm).astype(np.float32)
            vectors.append(vector)
        return vectors

    def check(
        self, items: Iterable[NewMemory | str], *, scope: Scope | None = None, user_id: str | None = None
    ) -> None:
        """Validate items exactly as ``remember_many`` would, without embedding or writing.

        Raises:
            ValidationError: naming the first bad item (``items[i]``) and its field.
        """
        self._prepare(items, _resolve_scope(scope, user_id))

    def _prepare(self, items: Iterable[NewMemory | str], base: Scope) -> builtins.list[Prepared]:
        """(index, key, metadata, context) per item; every item is validated before any is written."""
        now = self._clock()
        prepared: builtins.list[Prepared] = []
        for i, raw in enumerate(items):
            item = NewMemory(content=raw) if isinstance(raw, str) else raw
            try:
                if not isinstance(item, NewMemory):
                    raise ValidationError(f"must be text or a NewMemory, got {type(raw).__name__}", field="item")
                item, marks = _writing.guard(self, item)
                item_scope = base.merge(item.scope)
                context = check_context(item.context)
                metadata = build_metadata(
                    item, item_scope, now=now, default_source=self.default_source, context=context
                )
                _writing.apply_defaults(self, metadata, marks, now)
                encode_metadata(metadata, Field.NON_FILTERABLE)  # the S3 Vectors limits, up front
                addressed = item.key is not None or item.idempotent
                if item.key is not None:
                    key = validate_key(item.key)
                elif item.idempotent:
                    key = idempotent_key(item_scope, metadata[Field.MEMORY_TYPE], metadata[Field.CONTENT])
                else:
                    key = new_key()
            except ValidationError as exc:
                raise _at_item(i, exc) from exc
            prepared.append(Prepared(self.layout.index_for(item_scope), key, metadata, context, item_scope, addressed))
        return prepared

    # -- reading ---------------------------------------------------------------

    def recall(
        self,
        query: str,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        top_k: int = 5,
        filter: Mapping[str, Any] | None = None,
        memory_types: Sequence[MemoryType | str] | None = None,
        since: Timestamp | None = None,
        until: Timestamp | None = None,
        min_score: float | None = None,
        mode: RetrievalMode | str | None = None,
        ranking: Ranking | None = None,
    ) -> list[Memory]:
        """The memories most relevant to ``query`` within ``scope``, best first.

        By default this is hybrid retrieval (BM25 full text fused with vector
        similarity, then conversational signals; see :class:`Ranking`). ``mode``
        ("hybrid", "dense", "text") or a whole ``ranking`` override the memory's
        default for this call. ``score`` is the final relevance (0..1-ish; in plain
        dense mode the cosine similarity) and ``distance`` the vector distance when the
        vector search reached the memory. Expired memories are never returned.
        ``since``/``until`` bound ``created_at``; ``filter`` is any extra S3 Vectors
        filter over the metadata.
        """
        resolved = _resolve_scope(scope, user_id)
        started = time.perf_counter()
        with self.telemetry.span(SPAN_RECALL, **{"memory.top_k": top_k}) as span:
            found = self._recall(query, resolved, top_k, filter, memory_types, since, until, min_score, mode, ranking)
            span.set_attribute("memory.results", len(found))
        self.telemetry.recorded_recall(seconds=time.perf_counter() - started, results=len(found))
        if found and self.record_access:
            self._note_access(self.layout.index_for(resolved), _acting(resolved), [m.key for m in found])
        return found

    def _recall(
        self,
        query: str,
        resolved: Scope,
        top_k: int,
        filter: Mapping[str, Any] | None,
        memory_types: Sequence[MemoryType | str] | None,
        since: Timestamp | None,
        until: Timestamp | None,
        min_score: float | None,
        mode: RetrievalMode | str | None,
        ranking: Ranking | None,
    ) -> builtins.list[Memory]:
        check_content(query)
        top_k = validate_top_k(top_k)
        if ranking is not None and not isinstance(ranking, Ranking):
            raise ValidationError(f"ranking must be a Ranking, got {type(ranking).__name__}", field="ranking")
        ranking = ranking or self.ranking
        if mode is not None:
            ranking = ranking.with_(mode=mode)
        if min_score is not None and (isinstance(min_score, bool) or not isinstance(min_score, int | float)):
            raise ValidationError(f"min_score must be a number, got {min_score!r}", field="min_score")
        index = self.layout.index_for(resolved)
        document = self._read_filter(resolved, filter, memory_types, since, until)
        depth = max(top_k, ranking.candidates)
        backend = self._backend_for(resolved)
        try:
            if ranking.mode is not RetrievalMode.DENSE and not self._can_search_text(backend, index):
                ranking = ranking.with_(mode=RetrievalMode.DENSE)
            dense, text = self._search(backend, resolved, index, query, document, depth, ranking.mode)
        except NotFoundError:
            return []  # nothing was ever stored here
        ranked = rank(collect(dense, text), query, ranking, now=self._clock())
        if ranking.diversity:
            pool = ranked[: min(len(ranked), max(2 * top_k, 20))]
            vectors = self._vectors(backend, index, [c.key for c in pool])
            ranked = diversify(ranked, vectors, ranking.diversity, top_k)
        return [_candidate_memory(c) for c in ranked[:top_k] if min_score is None or c.score >= min_score]

    def _note_access(self, index: str, acting: Scope, keys: builtins.list[str]) -> None:
        """Note what a recall returned; a full log is written back off the caller's thread.

        Recall runs on an agent's per-turn path, so the write-back (a read and a put of up
        to 500 records) never runs inline: one background flush at a time takes it.
        """
        if self._access.record(index, acting, keys) and self._flush_idle.acquire(blocking=False):
            self._flusher = threading.Thread(
                target=self._flush_in_background, name="strands-memory-access", daemon=True
            )
            self._flusher.start()

    def _flush_in_background(self) -> None:
        try:
            self.flush_access()
        except Exception:  # e.g. the backend closed under it: statistics are a hint, never a crash
            _log.warning("recording recall access failed", exc_info=True)
        finally:
            self._flush_idle.release()

    def flush_access(self) -> int:
        """Write the recalls noted since the last flush into the memories' metadata.

        Recall notes which memories it returned (``recall_count``, ``last_recalled``,
        which decay reads) and writes them back in batches, never once per query. This
        runs on its own when enough notes gather, before maintenance, and on ``close``.
        Returns how many memories were updated. A failure is logged, never raised: access
        statistics are a hint, not data anyone asked to store.
        """
        updated = 0
        for (index, acting), notes in self._access.take().items():
            try:
                backend = self._backend_for(acting)
                with self._mutation_lock:
                    updated += len(rewrite(backend, index, {k: partial(accessed, note=n) for k, n in notes.items()}))
            except VectorMemoryError as exc:
                self.telemetry.error(exc, **{"memory.operation": "flush_access"})
                _log.warning("could not record recall access for %d memories in %r: %s", len(notes), index, exc)
        return updated

    def build_context(
        self,
        query: str,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        max_tokens: int = 1000,
        top_k: int = 20,
        order: Order = "score",
        max_memory_tokens: int | None = 200,
        header: str = DEFAULT_HEADER,
        show_keys: bool = False,
        **recall_options: Any,
    ) -> MemoryContext:
        """The most relevant memories for ``query`` that fit ``max_tokens``, as a prompt block.

        Recalls ``top_k`` memories (``recall_options`` go to :meth:`recall`) and packs
        the best that fit, greedily, counting tokens exactly with the bundled tokenizer.
        The block is fenced and quoted so that stored text reads as data, never as
        instructions; ``str(context)`` is the text to put in a prompt. One long memory
        is cut to ``max_memory_tokens`` so it cannot take the whole budget.
        """
        memories = self.recall(query, scope=scope, user_id=user_id, top_k=top_k, **recall_options)
        if self._token_counter is None:
            self._token_counter = TokenCounter()
        return pack_context(
            memories,
            max_tokens=max_tokens,
            counter=self._token_counter,
            order=order,
            max_memory_tokens=max_memory_tokens,
            header=header,
            show_keys=show_keys,
        )

    def _can_search_text(self, backend: VectorBackend, index: str) -> bool:
        """Whether full-text search can serve ``index``; says once in the log when it cannot."""
        if isinstance(backend, TextSearchBackend) and backend.supports_text_search(index):
            return True
        if not self._warned_no_text_search:  # said once, when a recall first needs it
            self._warned_no_text_search = True
            _log.warning("%r has no full-text search for %r: recall falls back to dense-only", self.backend, index)
        return False

    def _search(
        self,
        backend: VectorBackend,
        scope: Scope,
        index: str,
        query: str,
        document: Mapping[str, Any] | None,
        depth: int,
        mode: RetrievalMode,
    ) -> tuple[builtins.list[QueryMatch], builtins.list[TextMatch]]:
        """The vector and full-text candidate lists ``mode`` asks for."""
        dense: builtins.list[QueryMatch] = []
        text: builtins.list[TextMatch] = []
        if mode is not RetrievalMode.TEXT:
            vector = self._embedder_for(_acting(scope)).embed_query(query)
            dense = backend.query_vectors(index, vector, top_k=depth, filter=document, return_metadata=True)
        if mode is not RetrievalMode.DENSE and isinstance(backend, TextSearchBackend):
            text = backend.search_text(index, query, top_k=depth, filter=document, return_metadata=True)
        return dense, text

    def _vectors(self, backend: VectorBackend, index: str, keys: Sequence[str]) -> dict[str, NDArray[np.float32]]:
        records = fetch(backend, index, keys, return_vector=True, return_metadata=False)
        return {record.key: record.vector for record in records if record.vector is not None}

    def _read_filter(
        self,
        scope: Scope,
        extra: Mapping[str, Any] | None,
        memory_types: Sequence[MemoryType | str] | None,
        since: Timestamp | None,
        until: Timestamp | None,
        *,
        include_expired: bool = False,
        include_superseded: bool = False,
    ) -> dict[str, Any] | None:
        parse_filter(extra, non_filterable=Field.NON_FILTERABLE)  # fail early, with our message
        types = None
        if memory_types is not None:
            if isinstance(memory_types, str | MemoryType) or not memory_types:
                raise ValidationError("memory_types must be a non-empty list of memory types", field="memory_types")
            types = {Field.MEMORY_TYPE: {"$in": [MemoryType.parse(t).value for t in memory_types]}}
        window: dict[str, float] = {}
        if since is not None:
            window["$gte"] = to_epoch(since, "since")
        if until is not None:
            window["$lt"] = to_epoch(until, "until")
        return conjoin(
            self.layout.scope_filter(scope),
            types,
            {Field.CREATED_AT: window} if window else None,
            extra,
            None if include_expired else _not_expired(self._clock()),
            None if include_superseded else _NOT_SUPERSEDED,
        )

    def _live_filter(self, now: float) -> dict[str, Any]:
        """Memories still in play: not expired, not superseded."""
        return {"$and": [_not_expired(now), _NOT_SUPERSEDED]}

    def get(self, key: str, *, scope: Scope | None = None, user_id: str | None = None) -> Memory | None:
        """One memory by key, or ``None`` if absent, expired or outside ``scope``."""
        found = self.get_many([key], scope=scope, user_id=user_id)
        return found[0] if found else None

    def get_many(self, keys: Sequence[str], *, scope: Scope | None = None, user_id: str | None = None) -> list[Memory]:
        """Memories by key, in request order; absent, expired or out-of-scope keys are skipped."""
        resolved = _resolve_scope(scope, user_id)
        return self._fetch(keys, resolved, self._read_filter(resolved, None, None, None, None))

    def _fetch(self, keys: Sequence[str], scope: Scope, document: Mapping[str, Any] | None) -> builtins.list[Memory]:
        """Records by key (in batches of 100) that lie in ``scope``'s index and pass ``document``."""
        if isinstance(keys, str):
            raise ValidationError("keys must be a list of keys, not one string", field="keys")
        index = self.layout.index_for(scope)
        backend = self._backend_for(scope)
        node = parse_filter(document)
        try:
            records = fetch(backend, index, keys)
        except NotFoundError:
            return []
        return [_to_memory(r) for r in records if matches(node, r.metadata or {})]

    def iter_memories(
        self,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        filter: Mapping[str, Any] | None = None,
        memory_types: Sequence[MemoryType | str] | None = None,
        include_expired: bool = False,
        include_superseded: bool | None = None,
    ) -> Iterator[Memory]:
        """Every memory in ``scope`` matching ``filter`` (a full scan, in storage order).

        Superseded memories are left out unless ``include_superseded`` (which defaults
        to ``include_expired``: a scan for everything means everything).
        """
        resolved = _resolve_scope(scope, user_id)
        superseded_too = include_expired if include_superseded is None else include_superseded
        node = parse_filter(
            self._read_filter(
                resolved,
                filter,
                memory_types,
                None,
                None,
                include_expired=include_expired,
                include_superseded=superseded_too,
            )
        )
        index = self.layout.index_for(resolved)
        for _, _, record in self._scan(self._backend_for(resolved), index):
            if matches(node, record.metadata or {}):
                yield _to_memory(record)

    def _scan(
        self, backend: VectorBackend, index: str, token: str | None = None
    ) -> Iterator[tuple[str | None, int, MemoryRecord]]:
        """(page token, position in page, record) for every record from ``token`` on."""
        while True:
            try:
                page = backend.list_vectors(index, max_results=1000, next_token=token, return_metadata=True)
            except NotFoundError:
                return
            for position, record in enumerate(page.records):
                yield token, position, record
            if page.next_token is None:
                return
            token = page.next_token

    def list(
        self,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        filter: Mapping[str, Any] | None = None,
        memory_types: Sequence[MemoryType | str] | None = None,
        limit: int = 50,
        next_token: str | None = None,
    ) -> MemoryPage:
        """One page of memories in ``scope``; ``next_token`` resumes exactly where it stopped."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValidationError(f"limit must be in 1..1000, got {limit!r}", field="limit", limit="1..1000")
        resolved = _resolve_scope(scope, user_id)
        node = parse_filter(self._read_filter(resolved, filter, memory_types, None, None))
        index = self.layout.index_for(resolved)
        start, skip = decode_page_token(next_token)
        memories: builtins.list[Memory] = []
        for token, position, record in self._scan(self._backend_for(resolved), index, start):
            if (token == start and position < skip) or not matches(node, record.metadata or {}):
                continue
            if len(memories) == limit:
                return MemoryPage(memories, encode_page_token(token, position))
            memories.append(_to_memory(record))
        return MemoryPage(memories, None)

    # -- forgetting --------------------------------------------------------------

    def forget(
        self,
        keys: Sequence[str] | None = None,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        filter: Mapping[str, Any] | None = None,
        everything: bool = False,
    ) -> int:
        """Delete memories by key, by scope, or by filter; returns how many were deleted.

        Deleting by scope or filter includes expired memories (a user's request to be
        forgotten covers all of them). With neither keys, scope nor filter, nothing is
        deleted unless ``everything=True``.
        """
        resolved = _resolve_scope(scope, user_id)
        if keys is None and resolved.is_empty() and not filter and not everything:
            raise ValidationError(
                "forget needs keys, a scope (e.g. user_id) or a filter; pass everything=True to delete all memories",
                field="scope",
            )
        if keys is not None:
            if filter:
                raise ValidationError("forget takes keys or a filter, not both", field="filter")
            targets = [m.key for m in self._fetch(keys, resolved, self.layout.scope_filter(resolved))]
        else:
            targets = [m.key for m in self.iter_memories(scope=resolved, filter=filter, include_expired=True)]
        index = self.layout.index_for(resolved)
        backend = self._backend_for(resolved)
        with self.telemetry.span(SPAN_FORGET, **{"memory.count": len(targets)}):
            self._delete(backend, index, targets)
        if targets:
            self.telemetry.forgotten(len(targets))
            self.telemetry.log("forget", count=len(targets), index=index)
        return len(targets)

    def _delete(self, backend: VectorBackend, index: str, keys: Sequence[str]) -> int:
        """Delete ``keys`` in batches of 500; no pending recall note can bring one back."""
        with self._mutation_lock:
            self._access.drop(index, keys)
            for start in range(0, len(keys), MAX_DELETE_BATCH):
                backend.delete_vectors(index, list(keys[start : start + MAX_DELETE_BATCH]))
        return len(keys)

    # -- lifecycle -------------------------------------------------------------------

    def expire(self, *, dry_run: bool = False) -> ExpireReport:
        """Delete expired memories in every index, in batches; safe while agents write.

        Expired memories are already invisible to recall: this reclaims their space.
        Idempotent: a second run finds nothing to delete.
        """
        with self.telemetry.span(SPAN_EXPIRE, **{"memory.dry_run": dry_run}):
            return _maintenance.expire(self, dry_run=dry_run)

    def decay(
        self,
        *,
        window: float = 30 * DAY,
        half_life: float = 90 * DAY,
        floor: float = 0.05,
        dry_run: bool = False,
    ) -> DecayReport:
        """Lower the confidence of memories not written or recalled for ``window`` seconds.

        Confidence halves every ``half_life`` seconds of idleness past the window (never
        below ``floor``), so unused memories sink in recall's relevance score and a
        reinforcement or a recall stops the slide.
        """
        with self.telemetry.span(SPAN_DECAY, **{"memory.dry_run": dry_run}):
            return _maintenance.decay(self, window=window, half_life=half_life, floor=floor, dry_run=dry_run)

    def consolidate(
        self,
        merger: Merger | None,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        threshold: float | None = None,
        min_cluster: int = 2,
        max_cluster: int = 12,
        dry_run: bool = False,
    ) -> ConsolidationReport:
        """Merge clusters of similar episodic memories of a scope into semantic memories.

        Each cluster's texts go to ``merger`` (e.g. ``ModelMerger(model)``: any Strands
        model); the merged memory is written with its provenance (the keys it replaces)
        and only then are the originals deleted, so a crash between the two leaves
        duplicates that the next run cleans up, never a gap. ``dry_run`` reports the
        clusters without calling the merger (which may then be ``None``) or writing anything.
        """
        from . import _consolidate  # clustering code only loads for maintenance runs

        with self.telemetry.span(SPAN_CONSOLIDATE, **{"memory.dry_run": dry_run}):
            return _consolidate.consolidate(
                self,
                merger,
                scope=_resolve_scope(scope, user_id),
                threshold=threshold,
                min_cluster=min_cluster,
                max_cluster=max_cluster,
                dry_run=dry_run,
            )

    def forget_user(self, user_id: str, *, tenant_id: str | None = None, dry_run: bool = False) -> ForgetReport:
        """Erase a user: every memory in every index, and every trace in side stores and caches.

        A user is a ``user_id`` under a ``tenant_id`` (``None``: the user without a tenant).

        The right to erasure. Side stores attached with :meth:`attach_side_store` (a
        plugin's outbox of turns not stored yet) are purged first, so a queued write
        cannot land after the purge; then the memories go, index by index; then caches
        keyed by the user's texts are cleared and an embedded store's files are scrubbed.
        """
        with self.telemetry.span(SPAN_FORGET, **{"memory.dry_run": dry_run}):
            return _maintenance.forget_user(self, user_id, tenant_id=tenant_id, dry_run=dry_run)

    def export_user(self, user_id: str, *, tenant_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Everything stored about a user, as JSON-ready dicts (``strands-memory export --user``).

        Every memory in every index (expired and superseded ones included), then what
        attached side stores hold about the user.
        """
        if not isinstance(user_id, str) or not user_id.strip():  # now, not when the first item is read
            raise ValidationError("user_id must be a non-empty string", field="user_id")
        return _maintenance.export_user(self, user_id, tenant_id=tenant_id)

    def attach_side_store(
        self,
        name: str,
        *,
        forget: Callable[[str, str | None], int],
        export: _Exporter | None = None,
        forget_tenant: Callable[[str], int] | None = None,
    ) -> None:
        """Register a store beside the indexes that holds user data, so erasure and export cover it.

        ``forget(user_id, tenant_id)`` deletes the user's data and returns how many rows
        went; ``export(user_id, tenant_id)`` yields it. The Strands plugin attaches its
        outbox this way. ``forget_tenant(tenant_id)`` deletes a whole tenant's data
        (tenant offboarding).
        """
        self._side_stores.append((name, forget, export))
        if forget_tenant is not None:
            self._tenant_side_stores.append((name, forget_tenant))

    def forget_tenant_side_data(self, tenant_id: str) -> dict[str, int]:
        """Purge a tenant from every attached side store (offboarding does this before dropping the index).

        First, so that a queued write cannot recreate the tenant's index after the purge.
        """
        purged: dict[str, int] = {}
        for name, forget in self._tenant_side_stores:
            purged[name] = purged.get(name, 0) + forget(tenant_id)
        return purged

    # -- introspection -------------------------------------------------------------

    def stats(self, *, scope: Scope | None = None, user_id: str | None = None) -> MemoryStats:
        """Counts by type and user, expired count, time range (a full scan)."""
        resolved = _resolve_scope(scope, user_id)
        return summarise(
            self.iter_memories(scope=resolved, include_expired=True),
            now=self._clock(),
            indexes=self._existing_indexes(resolved),
            embedder=self.embedder,
            backend=repr(self.backend),
        )


def _at_item(position: int, exc: ValidationError) -> ValidationError:
    """``exc`` naming the item it is about (keeping its type, e.g. ``GuardrailError``)."""
    located = copy.copy(exc)
    located.args = (f"items[{position}]: {exc}", *exc.args[1:])
    return located


def _candidate_memory(candidate: Candidate) -> Memory:
    distance = None if candidate.similarity is None else 1.0 - candidate.similarity
    content = candidate.metadata.get(Field.CONTENT, "")
    return Memory(candidate.key, str(content), candidate.metadata, candidate.score, distance)


def _to_memory(record: MemoryRecord) -> Memory:
    return Memory(record.key, record.content, dict(record.metadata or {}))
