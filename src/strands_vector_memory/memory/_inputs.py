"""Turning what a caller wants remembered into validated, fully stamped metadata.

The schema fields (see :class:`~strands_vector_memory.core.Field`) are set here and
only here, so every face of the library (API, CLI, plugin, import) writes the same shape.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core import Field, MemoryType, Scope, ValidationError, epoch_to_iso

__all__ = ["MAX_CONTENT_BYTES", "NewMemory", "build_metadata", "idempotent_key", "new_key", "to_epoch"]

#: Content is stored as non-filterable metadata; keep room under the 40 KB total.
MAX_CONTENT_BYTES = 32 * 1024
#: Context (text indexed alongside a memory) shares that 40 KB; it is a hint, not a document.
MAX_CONTEXT_BYTES = 6 * 1024
MAX_CONTEXT_ITEMS = 8

_RESERVED = frozenset(
    {
        Field.CONTENT,
        Field.TENANT_ID,
        Field.USER_ID,
        Field.AGENT_ID,
        Field.TEAM_ID,
        Field.TASK_ID,
        Field.CONVERSATION_ID,
        Field.MEMORY_TYPE,
        Field.SOURCE,
        Field.CREATED_AT,
        Field.CREATED_AT_ISO,
        Field.EVENT_TIME,
        Field.EXPIRES_AT,
        Field.CONFIDENCE,
        Field.CONTEXT,
    }
)

Timestamp = float | int | dt.datetime


@dataclass(frozen=True, slots=True)
class NewMemory:
    """One memory to store. Unset fields take the service's defaults.

    Attributes:
        content: The text to remember (embedded and stored).
        scope: Who it belongs to; merged over the scope passed to ``remember_many``.
        memory_type: episodic, semantic, procedural or summary.
        source: Where it came from (``"api"``, ``"cli"``, ``"conversation"``, ...).
        event_time: When the remembered thing happened, if known.
        expires_at: When it stops being recalled; ``ttl`` is the relative form.
        ttl: Seconds from now until expiry.
        confidence: How much to trust it, 0..1.
        metadata: Extra filterable metadata of your own (schema keys are reserved).
        key: An explicit key (overwrites any record with that key).
        idempotent: Derive the key from scope, type and content, so storing the same
            memory twice keeps one copy.
        created_at: Override the creation time (imports keep their original times).
        context: Short texts that help find this memory without being part of it,
            typically the turns before and after a conversation turn (answers often sit
            in the reply to a question). They are indexed for full-text search and
            blended lightly into the vector; recall still returns ``content``.
    """

    content: str
    scope: Scope = field(default_factory=Scope)
    memory_type: MemoryType | str = MemoryType.EPISODIC
    source: str | None = None
    event_time: Timestamp | None = None
    expires_at: Timestamp | None = None
    ttl: float | None = None
    confidence: float | None = None
    metadata: Mapping[str, Any] | None = None
    key: str | None = None
    idempotent: bool = False
    created_at: Timestamp | None = None
    context: tuple[str, ...] | list[str] | None = None


def to_epoch(value: Timestamp, name: str) -> float:
    """Epoch seconds from a number or an aware/naive (taken as UTC) datetime."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"{name} must be epoch seconds or a datetime, got {value!r}", field=name)
    return float(value)


def check_content(content: object) -> str:
    """Content is non-empty UTF-8 text within the size the store can hold."""
    if not isinstance(content, str):
        raise ValidationError(f"content must be text, got {type(content).__name__}", field="content")
    if not content.strip():
        raise ValidationError("content is empty: there is nothing to remember", field="content", limit="non-empty")
    try:
        size = len(content.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"content is not valid UTF-8 (lone surrogate at position {exc.start})", field="content"
        ) from exc
    if size > MAX_CONTENT_BYTES:
        raise ValidationError(
            f"content is {size} bytes: at most {MAX_CONTENT_BYTES}; split it or summarise it first",
            field="content",
            limit=f"<= {MAX_CONTENT_BYTES} bytes",
        )
    return content


def check_context(context: object) -> tuple[str, ...]:
    """A few non-empty texts, within the share of the metadata budget context may use."""
    if context is None:
        return ()
    if isinstance(context, str) or not isinstance(context, tuple | list):
        raise ValidationError(f"context must be a list of texts, got {type(context).__name__}", field="context")
    if len(context) > MAX_CONTEXT_ITEMS:
        raise ValidationError(
            f"context has {len(context)} texts: at most {MAX_CONTEXT_ITEMS}",
            field="context",
            limit=f"<= {MAX_CONTEXT_ITEMS} texts",
        )
    texts = []
    for i, text in enumerate(context):
        if not isinstance(text, str) or not text.strip():
            raise ValidationError(f"context[{i}] must be non-empty text, got {text!r}", field="context")
        texts.append(text)
    size = len(_CONTEXT_SEPARATOR.join(texts).encode("utf-8", "surrogatepass"))
    if size > MAX_CONTEXT_BYTES:
        raise ValidationError(
            f"context is {size} bytes: at most {MAX_CONTEXT_BYTES}; pass the nearest turns only",
            field="context",
            limit=f"<= {MAX_CONTEXT_BYTES} bytes",
        )
    return tuple(texts)


_CONTEXT_SEPARATOR = "\n"


def build_metadata(
    item: NewMemory, scope: Scope, *, now: float, default_source: str, context: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The complete metadata document for ``item`` stored in ``scope``.

    ``context`` is ``item.context`` already checked by :func:`check_context` (the
    caller needs the texts apart too, to embed them).
    """
    content = check_content(item.content)
    memory_type = MemoryType.parse(item.memory_type)
    extra = dict(item.metadata or {})
    clash = sorted(_RESERVED.intersection(extra))
    if clash:
        raise ValidationError(
            f"metadata keys {clash} are reserved by the memory schema: pass them as arguments instead",
            field="metadata",
        )
    created = to_epoch(item.created_at, "created_at") if item.created_at is not None else now
    metadata: dict[str, Any] = {
        Field.CONTENT: content,
        **scope.items(),
        Field.MEMORY_TYPE: memory_type.value,
        Field.SOURCE: item.source or default_source,
        Field.CREATED_AT: created,
        Field.CREATED_AT_ISO: epoch_to_iso(created),
    }
    if item.event_time is not None:
        metadata[Field.EVENT_TIME] = to_epoch(item.event_time, "event_time")
    if item.expires_at is not None and item.ttl is not None:
        raise ValidationError("give expires_at or ttl, not both", field="ttl")
    if item.ttl is not None:
        if isinstance(item.ttl, bool) or not isinstance(item.ttl, int | float) or not item.ttl > 0:
            raise ValidationError(f"ttl must be a positive number of seconds, got {item.ttl!r}", field="ttl")
        metadata[Field.EXPIRES_AT] = created + float(item.ttl)
    elif item.expires_at is not None:
        metadata[Field.EXPIRES_AT] = to_epoch(item.expires_at, "expires_at")
    if item.confidence is not None:
        c = item.confidence
        if isinstance(c, bool) or not isinstance(c, int | float) or not 0.0 <= c <= 1.0:
            raise ValidationError(f"confidence must be a number in 0..1, got {c!r}", field="confidence", limit="0..1")
        metadata[Field.CONFIDENCE] = float(c)
    if context:
        metadata[Field.CONTEXT] = _CONTEXT_SEPARATOR.join(context)
    metadata.update(extra)
    return metadata


def new_key() -> str:
    """A random key for a memory nobody needs to address by content."""
    return uuid.uuid4().hex


def idempotent_key(scope: Scope, memory_type: str, content: str) -> str:
    """A key derived from who, what kind and what: the same memory always maps here."""
    identity = json.dumps([sorted(scope.items().items()), memory_type, content], ensure_ascii=False)
    return "m-" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:40]
