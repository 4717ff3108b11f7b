"""Who a turn belongs to, read from ``invocation_state`` and never from the model.

The caller's application authenticates its users; it passes the result in
``invocation_state`` on every call. Tools and hooks derive every scope from here, so a
model cannot widen its reach by naming another user in a tool argument.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final

from ..core import Scope, ValidationError
from ..core._limits import check_utf8

__all__ = ["RECALL_SCOPE_DEFAULT", "Identity"]

#: Identity parts that restrict what a turn recalls by default: the tenant, the user,
#: and the team (so teammates share memories, but one user's team never sees another
#: user's). ``agent_id`` is left out so an agent also sees what its teammates stored.
RECALL_SCOPE_DEFAULT: Final = ("tenant_id", "user_id", "team_id")

_MAX_ID_BYTES: Final = 256  # an id becomes filterable metadata; keep it a label, not a document
_PARTS: Final = ("tenant_id", "user_id", "conversation_id", "agent_id", "team_id", "task_id")


def _identifier(state: Mapping[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = state.get(key)
    if value is None:
        if required:
            raise ValidationError(
                f"{where}[{key!r}] is required: call the agent with "
                f"invocation_state={{'user_id': ..., 'conversation_id': ...}}",
                field=f"{where}.{key}",
            )
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{where}[{key!r}] must be a non-empty string, got {value!r}", field=f"{where}.{key}")
    check_utf8(value, f"{where}.{key}")
    if len(value.encode("utf-8")) > _MAX_ID_BYTES:
        raise ValidationError(
            f"{where}[{key!r}] is longer than {_MAX_ID_BYTES} bytes",
            field=f"{where}.{key}",
            limit=f"<= {_MAX_ID_BYTES} bytes",
        )
    return value


@dataclass(frozen=True, slots=True)
class Identity:
    """The caller-supplied identity of one agent invocation.

    ``user_id`` and ``conversation_id`` are required; ``tenant_id`` comes from
    ``tenant_context["tenantId"]``; ``agent_id`` defaults to the agent's name.
    """

    user_id: str
    conversation_id: str
    tenant_id: str | None = None
    agent_id: str | None = None
    team_id: str | None = None
    task_id: str | None = None

    @classmethod
    def from_invocation_state(
        cls,
        state: Mapping[str, Any] | None,
        *,
        agent_name: str | None = None,
        team_id: str | None = None,
    ) -> Identity:
        """Read and validate the identity keys of ``state``.

        Args:
            state: The ``invocation_state`` the agent was called with.
            agent_name: Used as ``agent_id`` when the state names none.
            team_id: Used when the state names no ``team_id`` (a team plugin's default).

        Raises:
            ValidationError: If ``user_id`` or ``conversation_id`` is missing, or any
                identifier is not a short non-empty string.
        """
        if state is None:
            state = {}
        if not isinstance(state, Mapping):
            raise ValidationError(
                f"invocation_state must be a dict, got {type(state).__name__}", field="invocation_state"
            )
        where = "invocation_state"
        tenant_id = None
        tenant_context = state.get("tenant_context")
        if tenant_context is not None:
            if not isinstance(tenant_context, Mapping):
                raise ValidationError(
                    f"invocation_state['tenant_context'] must be a dict with 'tenantId', got {tenant_context!r}",
                    field="invocation_state.tenant_context",
                )
            tenant_id = _identifier(tenant_context, "tenantId", "tenant_context", required=True)
        agent_id = _identifier(state, "agent_id", where, required=False)
        if agent_id is None and isinstance(agent_name, str) and agent_name.strip():
            agent_id = agent_name
        return cls(
            user_id=_identifier(state, "user_id", where, required=True) or "",
            conversation_id=_identifier(state, "conversation_id", where, required=True) or "",
            tenant_id=tenant_id,
            agent_id=agent_id,
            team_id=_identifier(state, "team_id", where, required=False) or team_id,
            task_id=_identifier(state, "task_id", where, required=False),
        )

    @property
    def write_scope(self) -> Scope:
        """Everything known, stamped on what this turn stores."""
        return Scope(**{name: getattr(self, name) for name in _PARTS})

    def recall_scope(self, parts: Sequence[str] = RECALL_SCOPE_DEFAULT) -> Scope:
        """The scope a recall is restricted to: the chosen ``parts`` that are set.

        ``tenant_id`` and ``user_id`` always restrict, whatever ``parts`` says, so no
        configuration can make one user's agent read another user's memories.
        """
        chosen = {"tenant_id", "user_id", *parts}
        return Scope(**{name: getattr(self, name) for name in _PARTS if name in chosen})

    @property
    def conversation_key(self) -> str:
        """A stable id for this conversation of this user (of this tenant)."""
        parts = [self.tenant_id, self.user_id, self.conversation_id]
        return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()[:32]

    def to_json(self) -> str:
        """The identity as JSON (the outbox keeps it with each job)."""
        return json.dumps({f.name: getattr(self, f.name) for f in fields(self)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Identity:
        """The identity :meth:`to_json` wrote."""
        data = json.loads(text)
        return cls(**{f.name: data.get(f.name) for f in fields(cls)})


def check_identifier(value: object, name: str) -> str | None:
    """Validate an optional identifier given as a constructor option."""
    return _identifier({name: value}, name, "option", required=False)


def check_recall_parts(parts: Sequence[str]) -> tuple[str, ...]:
    """Validate a ``recall_scope`` option: a subset of the identity parts."""
    if isinstance(parts, str) or not isinstance(parts, Sequence):
        raise ValidationError(f"recall_scope must be a list of identity parts, got {parts!r}", field="recall_scope")
    unknown = [p for p in parts if p not in _PARTS]
    if unknown:
        raise ValidationError(
            f"recall_scope has unknown parts {unknown}: use some of {', '.join(_PARTS)}", field="recall_scope"
        )
    return tuple(parts)
