"""The memory data model shared by every backend and every face of the library.

A memory is stored as one vector plus metadata. The metadata schema is fixed here so
that a memory written by the CLI, the Strands plugin or a teammate's agent can be
filtered the same way on the embedded engine and on S3 Vectors. Times are epoch
seconds (numbers) so they can be range-filtered; an ISO copy is kept for people.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from ._exceptions import ValidationError

__all__ = [
    "Field",
    "Memory",
    "MemoryRecord",
    "MemoryType",
    "Scope",
    "WriteOutcome",
    "epoch_to_iso",
    "number",
]


class MemoryType(str, Enum):
    """What kind of thing a memory is; drives expiry and consolidation later."""

    EPISODIC = "episodic"
    """Something that happened (a turn, an event)."""
    SEMANTIC = "semantic"
    """A fact or preference that holds beyond one episode."""
    PROCEDURAL = "procedural"
    """How to do something."""
    SUMMARY = "summary"
    """A summary of a conversation."""
    CONFLICT = "conflict"
    """A note for the team that two memories disagree (written by conflict detection)."""

    @classmethod
    def parse(cls, value: str | MemoryType) -> MemoryType:
        """Accept an enum member or its string value, with a clear error otherwise."""
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise ValidationError(
                f"unknown memory_type {value!r}: use one of {allowed}", field="memory_type", limit=allowed
            ) from None


class Field:
    """Metadata key names every backend stores (one place, so nobody misspells them)."""

    CONTENT: Final = "content"
    TENANT_ID: Final = "tenant_id"
    USER_ID: Final = "user_id"
    AGENT_ID: Final = "agent_id"
    TEAM_ID: Final = "team_id"
    TASK_ID: Final = "task_id"
    CONVERSATION_ID: Final = "conversation_id"
    MEMORY_TYPE: Final = "memory_type"
    SOURCE: Final = "source"
    CREATED_AT: Final = "created_at"
    CREATED_AT_ISO: Final = "created_at_iso"
    EVENT_TIME: Final = "event_time"
    EXPIRES_AT: Final = "expires_at"
    CONFIDENCE: Final = "confidence"
    CONTEXT: Final = "context"
    """Text indexed with a memory but not part of it (e.g. the neighbouring turns)."""
    CONTENT_HASH: Final = "content_hash"
    """SHA-256 prefix of the content: exact duplicates are found by filter, not by distance."""
    SEEN_COUNT: Final = "seen_count"
    """How many times the memory was written (a duplicate reinforces instead of repeating)."""
    LAST_SEEN: Final = "last_seen"
    """When the memory was last written or reinforced, epoch seconds."""
    RECALL_COUNT: Final = "recall_count"
    """How many recalls returned the memory (recorded in batches)."""
    LAST_RECALLED: Final = "last_recalled"
    """When a recall last returned the memory, epoch seconds."""
    DECAYED_AT: Final = "decayed_at"
    """When confidence decay last lowered the memory's confidence."""
    CONFLICTS_WITH: Final = "conflicts_with"
    """Keys of the memories this one disagrees with."""
    SUPERSEDED_BY: Final = "superseded_by"
    """The newer memory that replaced this one (kept for audit, not recalled)."""
    CONSOLIDATED_FROM: Final = "consolidated_from"
    """Keys of the episodic memories a consolidated memory replaces (provenance)."""
    REDACTIONS: Final = "redactions"
    """What the guardrails redacted from the content, one kind per redaction."""
    FLAGS: Final = "flags"
    """What the guardrails noticed but let through (e.g. ``instruction``)."""

    #: Keys declared non-filterable on every memory index: large or display-only text,
    #: so the 2 KB filterable budget is never spent on it.
    NON_FILTERABLE: Final = frozenset({CONTENT, CONTEXT, CREATED_AT_ISO})


_SCOPE_FIELDS: Final = {
    "tenant_id": Field.TENANT_ID,
    "user_id": Field.USER_ID,
    "agent_id": Field.AGENT_ID,
    "team_id": Field.TEAM_ID,
    "task_id": Field.TASK_ID,
    "conversation_id": Field.CONVERSATION_ID,
}


@dataclass(frozen=True, slots=True)
class Scope:
    """Who a memory belongs to. Unset parts are wildcards when recalling.

    A scope is both what is stamped on a new memory and the filter applied when
    recalling, so ``remember`` and ``recall`` can never disagree about scoping.
    """

    tenant_id: str | None = None
    user_id: str | None = None
    agent_id: str | None = None
    team_id: str | None = None
    task_id: str | None = None
    conversation_id: str | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValidationError(
                    f"scope {f.name} must be a non-empty string or None, got {value!r}", field=f"scope.{f.name}"
                )

    def items(self) -> dict[str, str]:
        """The set parts as metadata key -> value."""
        return {meta: getattr(self, attr) for attr, meta in _SCOPE_FIELDS.items() if getattr(self, attr) is not None}

    def to_filter(self) -> dict[str, Any] | None:
        """An S3 Vectors filter matching memories in this scope (``None`` = everything)."""
        parts = [{key: {"$eq": value}} for key, value in self.items().items()]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else {"$and": parts}

    def is_empty(self) -> bool:
        """True when no part is set (the scope matches every memory)."""
        return not self.items()

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> Scope:
        """The scope stamped on a memory's metadata (parts that are not non-empty text are unset)."""
        values = {attr: metadata.get(meta) for attr, meta in _SCOPE_FIELDS.items()}
        return cls(**{k: v for k, v in values.items() if isinstance(v, str) and v.strip()})

    def merge(self, other: Scope) -> Scope:
        """This scope with the parts ``other`` sets laid over it."""
        values = {f.name: getattr(other, f.name) or getattr(self, f.name) for f in fields(self)}
        return Scope(**values)


def number(value: object) -> float | None:
    """A metadata value as a number, or ``None`` (``True`` is not 1: metadata is typed)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def epoch_to_iso(seconds: float) -> str:
    """Render epoch seconds as an ISO-8601 UTC string for display."""
    return _dt.datetime.fromtimestamp(seconds, tz=_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True, eq=False)
class MemoryRecord:
    """What a backend stores: a key, a vector and metadata (``content`` among it).

    Backends return records with ``vector`` or ``metadata`` left ``None`` when the
    caller did not ask for them, as S3 Vectors does.
    """

    key: str
    vector: NDArray[np.float32] | None = None
    metadata: Mapping[str, Any] | None = field(default=None)

    @property
    def content(self) -> str:
        """The remembered text."""
        value = (self.metadata or {}).get(Field.CONTENT, "")
        return value if isinstance(value, str) else str(value)


class WriteOutcome(str, Enum):
    """What a write did, as ``remember`` reports it on the returned memory."""

    STORED = "stored"
    """A new memory was stored (or a keyed one overwritten)."""
    REINFORCED = "reinforced"
    """It duplicated an existing memory, which was reinforced instead; nothing new was stored."""
    CONFLICTED = "conflicted"
    """It was stored, linked to a memory it disagrees with, and a ``conflict`` memory was written."""


@dataclass(frozen=True, slots=True)
class Memory:
    """One memory as returned by ``recall``, ``get`` and ``list``.

    ``score`` is a similarity (higher is better; cosine similarity on cosine indexes)
    and ``distance`` is what the backend reported; both are ``None`` outside recall.
    """

    key: str
    content: str
    metadata: Mapping[str, Any]
    score: float | None = None
    distance: float | None = None
    outcome: WriteOutcome | None = None
    """What the write did (only on memories returned by ``remember``)."""

    @property
    def memory_type(self) -> MemoryType | None:
        """The memory's type, if it has a known one."""
        value = self.metadata.get(Field.MEMORY_TYPE)
        try:
            return MemoryType(value) if isinstance(value, str) else None
        except ValueError:
            return None

    @property
    def created_at(self) -> float | None:
        """When the memory was stored, epoch seconds."""
        return number(self.metadata.get(Field.CREATED_AT))

    @property
    def scope(self) -> Scope:
        """The scope stamped on the memory."""
        return Scope.from_metadata(self.metadata)

    @property
    def confidence(self) -> float | None:
        """How much the memory is trusted, 0..1, if recorded."""
        return number(self.metadata.get(Field.CONFIDENCE))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (the CLI's ``--json`` shape)."""
        view: dict[str, Any] = {
            "key": self.key,
            "content": self.content,
            "score": self.score,
            "distance": self.distance,
            "metadata": dict(self.metadata),
        }
        if self.outcome is not None:
            view["outcome"] = self.outcome.value
        return view
