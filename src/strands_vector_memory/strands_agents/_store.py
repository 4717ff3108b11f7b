"""``VectorMemoryStore``: our memory behind the Strands SDK's ``MemoryStore`` protocol.

The SDK's :class:`strands.memory.MemoryManager` searches and writes stores without
saying who the turn belongs to: ``search(query, options)``, ``add(content, metadata)``
and ``add_messages(messages, context)`` carry no user, tenant or conversation. A store
that scoped per call would have to guess, and a wrong guess leaks one user's memories
into another user's prompt. So the scope is fixed when the store is built (one store
per user, or per tenant and user, ...), and a store with an empty scope is refused
outright: it would read and write every user's memories.

The SDK delivers extraction writes at least once: a failed batch is retried, and a
store can be asked again for messages it already took. Every write therefore lands on
a deterministic key, so a repeated delivery overwrites instead of duplicating:

* ``add`` uses the service's idempotent key (scope, memory type and content).
* ``add_messages`` keys each message by the SDK's per-message sequence number, which
  a retry reuses. Those numbers restart at 0 for every agent the manager is attached
  to, so they are combined with a run id minted in :meth:`VectorMemoryStore.initialize`
  (which the manager calls once per agent), and with a digest of the message text so
  that two agents sharing one store instance can never overwrite each other's turns.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import uuid
from collections.abc import Mapping
from typing import Any, Final

from strands.memory import AddMessagesContext, ExtractionConfig, MemoryEntry, MemoryStore, SearchOptions
from strands.types.content import Message
from strands.types.tools import AgentTool

from ..core import Field, Memory, MemoryType, Scope, ValidationError, epoch_to_iso
from ..core._limits import MAX_METADATA_KEY_CHARS, MAX_SAFE_INTEGER, MAX_TOP_K
from ..memory import NewMemory, VectorMemory
from ..memory._inputs import MAX_CONTENT_BYTES
from ._checks import clamp_count, message_text
from ._fitting import fit_context, fit_text

__all__ = ["VectorMemoryStore"]

DEFAULT_DESCRIPTION: Final = (
    "Long-term memory about this user: facts, preferences and past conversation turns, recalled by meaning."
)
"""What the SDK puts in the ``search_memory`` tool's description for this store."""

ADD_SOURCE: Final = "strands-memory-manager"
"""``source`` of memories written through :meth:`VectorMemoryStore.add`."""

CONVERSATION_SOURCE: Final = "conversation"
"""``source`` of memories written through :meth:`VectorMemoryStore.add_messages`."""

#: How many turns on each side of a message are stored as its context.
NEIGHBOURS: Final = 2
#: Caller metadata becomes filterable metadata (2 KB in all), so it must stay a label.
MAX_EXTRA_TEXT_BYTES: Final = 256

_RESERVED: Final = frozenset(value for name, value in vars(Field).items() if name.isupper() and isinstance(value, str))
"""Schema keys the service stamps itself; caller metadata may not override them."""


class VectorMemoryStore:
    """A Strands ``MemoryStore`` over one :class:`VectorMemory`, fixed to one scope.

    Structurally satisfies :class:`strands.memory.MemoryStore` (it does not inherit
    from the Protocol, so the SDK sees every method as implemented). Pass it to
    ``MemoryManager(stores=[...])``.

    Args:
        memory: The service that stores and recalls the memories.
        scope: Whose memories this store reads and writes (fixed for its lifetime).
        user_id: Shorthand for ``scope.user_id``; merged over ``scope``.
        name: The store's name in the SDK's tools (unique per manager).
        description: What the store holds, shown to the model in the search tool.
        max_search_results: Results per search when the caller does not ask for a number (1..100).
        writable: Whether the manager may write here (``add`` / ``add_messages``).
        extraction: The SDK's automatic-extraction setting for this store: ``True`` for
            the defaults, an :class:`ExtractionConfig`, or ``None``/``False`` for off.
            With no extractor configured the SDK hands raw messages to
            :meth:`add_messages`, which stores each turn (no model call).
        min_score: Drop search results scoring below this.

    Raises:
        ValidationError: The scope is empty, or an argument is out of range.
    """

    def __init__(
        self,
        memory: VectorMemory,
        *,
        scope: Scope | None = None,
        user_id: str | None = None,
        name: str = "vector-memory",
        description: str | None = DEFAULT_DESCRIPTION,
        max_search_results: int = 5,
        writable: bool = True,
        extraction: ExtractionConfig | bool | None = None,
        min_score: float | None = None,
    ) -> None:
        if not isinstance(memory, VectorMemory):
            raise TypeError(f"memory must be a VectorMemory, got {type(memory).__name__}")
        if scope is not None and not isinstance(scope, Scope):
            raise ValidationError(f"scope must be a Scope, got {type(scope).__name__}", field="scope")
        resolved = (scope or Scope()).merge(Scope(user_id=user_id))
        if resolved.is_empty():
            raise ValidationError(
                "VectorMemoryStore needs a scope: pass user_id= or a Scope so the store cannot read "
                "other users' memories (the SDK's store API says nothing about who is calling)",
                field="scope",
            )
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"name must be non-empty text, got {name!r}", field="name")
        if description is not None and not isinstance(description, str):
            raise ValidationError(f"description must be text or None, got {description!r}", field="description")
        if (
            isinstance(max_search_results, bool)
            or not isinstance(max_search_results, int)
            or not 1 <= max_search_results <= MAX_TOP_K
        ):
            raise ValidationError(
                f"max_search_results must be an integer in 1..{MAX_TOP_K}, got {max_search_results!r}",
                field="max_search_results",
                limit=f"1..{MAX_TOP_K}",
            )
        if not isinstance(writable, bool):
            raise ValidationError(f"writable must be True or False, got {writable!r}", field="writable")
        if extraction not in (None, False) and not writable:
            raise ValidationError("extraction writes to the store: it needs writable=True", field="extraction")
        if min_score is not None and (
            isinstance(min_score, bool) or not isinstance(min_score, int | float) or not math.isfinite(min_score)
        ):
            raise ValidationError(f"min_score must be a finite number, got {min_score!r}", field="min_score")
        self.memory = memory
        self.scope = resolved
        self.name = name
        self.description = description
        self.max_search_results: int | None = max_search_results  # the SDK protocol types it Optional
        self.writable = writable
        self.extraction = extraction
        self.min_score = None if min_score is None else float(min_score)
        self._run_id = uuid.uuid4().hex

    def __repr__(self) -> str:
        return f"VectorMemoryStore(name={self.name!r}, scope={self.scope!r}, writable={self.writable})"

    # -- the MemoryStore protocol ---------------------------------------------------

    async def initialize(self) -> None:
        """Start a new run and make sure the scope's index exists.

        The manager calls this once per agent it is attached to, which is also when the
        SDK's message sequence numbers restart at 0, so a fresh run id keeps the new
        agent's message keys apart from the previous one's. Creating the index here
        makes a misconfigured store (wrong embedder, unreachable backend) fail when the
        agent is built rather than on its first turn.
        """
        self._run_id = uuid.uuid4().hex
        await asyncio.to_thread(self.memory.ensure_index, scope=self.scope)

    async def search(self, query: str, options: SearchOptions | None = None) -> list[MemoryEntry]:
        """The memories of this store's scope most relevant to ``query``, best first.

        An empty query finds nothing rather than failing, because the SDK's injection
        may derive one from a turn with no text. A query longer than a memory may be is
        cut, not refused, for the same reason.
        """
        if not isinstance(query, str) or not query.strip():
            return []
        requested = (options or {}).get("max_search_results")
        top_k = clamp_count(requested, default=self.max_search_results or 5, upper=MAX_TOP_K)
        memories = await asyncio.to_thread(
            self.memory.recall,
            fit_text(query, MAX_CONTENT_BYTES),
            scope=self.scope,
            top_k=top_k,
            min_score=self.min_score,
        )
        return [MemoryEntry(content=m.content, metadata=_entry_metadata(m)) for m in memories]

    async def add(self, content: str, metadata: Mapping[str, Any] | None = None) -> str:
        """Store one memory (a fact the SDK extracted or the model chose to keep).

        Idempotent: the key is derived from scope, memory type and content, because the
        SDK retries extraction writes and may deliver the same fact twice.

        Args:
            content: The text to remember.
            metadata: Optional. ``memory_type`` picks the type (semantic when absent or
                unknown); other keys with short scalar values are kept as filterable
                metadata, while schema keys and anything else are dropped.

        Returns:
            The key the memory is stored under.

        Raises:
            ValidationError: The store is read-only or the content is not storable.
        """
        self._check_writable()
        extra = dict(metadata or {})
        stored = await asyncio.to_thread(
            self.memory.remember,
            content,
            scope=self.scope,
            memory_type=_memory_type(extra.get(Field.MEMORY_TYPE), MemoryType.SEMANTIC),
            source=ADD_SOURCE,
            metadata=_filterable_extras(extra),
            idempotent=True,
        )
        return stored.key

    async def add_messages(self, messages: list[Message], context: AddMessagesContext | None = None) -> int:
        """Store each conversation turn with text as one episodic memory.

        This is the SDK's store-side extraction sink: no model call distils the turns,
        so they are kept verbatim (cut to the content limit), each with up to two
        neighbouring turns on either side as context, since an answer often sits in
        the reply to a question. Tool calls and results carry no text of their own and
        are skipped.

        Args:
            messages: The batch, oldest first.
            context: ``sequence_numbers`` aligned with ``messages``; a retried batch
                reuses them, which is what makes the keys stable.

        Returns:
            How many memories were written.

        Raises:
            ValidationError: The store is read-only or the sequence numbers do not
                line up with the messages.
        """
        self._check_writable()
        sequence = context.sequence_numbers if context is not None else None
        if sequence is not None and len(sequence) != len(messages):
            raise ValidationError(
                f"context.sequence_numbers has {len(sequence)} numbers for {len(messages)} messages",
                field="sequence_numbers",
            )
        turns = []  # (position in batch, role, text) of every message with text
        for position, message in enumerate(messages):
            text = message_text(message)
            if text:
                turns.append((position, str(message.get("role", "")), text))
        items: list[NewMemory] = []
        for index, (position, role, text) in enumerate(turns):
            neighbours = [t for _, _, t in turns[max(0, index - NEIGHBOURS) : index]]
            neighbours += [t for _, _, t in turns[index + 1 : index + 1 + NEIGHBOURS]]
            identity: list[Any] = [sorted(self.scope.items().items()), self._run_id, _digest(text)]
            identity += [sequence[position]] if sequence is not None else ["pos", position]
            items.append(
                NewMemory(
                    content=fit_text(text, self.memory.content_limit),
                    memory_type=MemoryType.EPISODIC,
                    source=CONVERSATION_SOURCE,
                    metadata={"role": role} if role else None,
                    key="msg-" + _digest(json.dumps(identity, ensure_ascii=False))[:40],
                    context=fit_context(neighbours),
                )
            )
        if not items:
            return 0
        stored = await asyncio.to_thread(self.memory.remember_many, items, scope=self.scope)
        return len(stored)

    def get_tools(self) -> list[AgentTool]:
        """No tools of its own: the manager's ``search_memory`` tool reaches this store."""
        return []

    # -- helpers ------------------------------------------------------------------

    def _check_writable(self) -> None:
        if not self.writable:
            raise ValidationError(f"memory store {self.name!r} is read-only (writable=False)", field="writable")


def _entry_metadata(memory: Memory) -> dict[str, Any]:
    """What a search result tells the model about a memory besides its text."""
    meta = memory.metadata
    out: dict[str, Any] = {"key": memory.key}
    if memory.score is not None:
        out["score"] = round(memory.score, 4)
    if isinstance(meta.get(Field.MEMORY_TYPE), str):
        out["memory_type"] = meta[Field.MEMORY_TYPE]
    iso = meta.get(Field.CREATED_AT_ISO)
    if isinstance(iso, str):
        out["created_at"] = iso
    elif memory.created_at is not None:
        out["created_at"] = epoch_to_iso(memory.created_at)
    for field in (Field.CONVERSATION_ID, Field.AGENT_ID):
        if isinstance(meta.get(field), str):
            out[field] = meta[field]
    return out


def _memory_type(value: object, default: MemoryType) -> MemoryType:
    """``value`` as a memory type, or ``default`` when it names none."""
    if isinstance(value, MemoryType | str):
        try:
            return MemoryType(value)
        except ValueError:
            pass
    return default


def _filterable_extras(metadata: Mapping[str, Any]) -> dict[str, str | int | float | bool] | None:
    """The caller's metadata that can be stored as filterable labels.

    Extraction must not fail (and be retried for ever) over metadata the SDK or an
    extractor happened to attach, so anything that is not a short scalar under a
    valid, unreserved key is dropped rather than rejected.
    """
    kept: dict[str, str | int | float | bool] = {}
    for key, value in metadata.items():
        if (
            not isinstance(key, str)
            or not 1 <= len(key) <= MAX_METADATA_KEY_CHARS
            or key.startswith("$")
            or key in _RESERVED
        ):
            continue
        if isinstance(value, bool):
            kept[key] = value
        elif isinstance(value, int):
            if abs(value) <= MAX_SAFE_INTEGER:
                kept[key] = int(value)
        elif isinstance(value, float):
            if math.isfinite(value):
                kept[key] = float(value)
        elif isinstance(value, str) and value.strip():
            text = value.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"
            if len(text.encode("utf-8")) <= MAX_EXTRA_TEXT_BYTES:  # a label, kept whole or not at all
                kept[key] = text
    return kept or None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _conforms(store: VectorMemoryStore) -> MemoryStore:
    """Never called: makes mypy check the class against the SDK's ``MemoryStore`` protocol."""
    return store
