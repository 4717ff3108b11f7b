"""Reusable options and parameter types, so every command spells scope and output the same way.

Why decorators: ``remember``, ``recall``, ``list``, ``forget``, ``stats``, ``import`` and
``export`` all take the same six scope options; declaring them once keeps their names,
help and conversion to :class:`~strands_vector_memory.Scope` identical everywhere.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..core import MemoryType, Scope

__all__ = [
    "FILTER",
    "MEMORY_TYPES",
    "META",
    "WHEN",
    "JsonObject",
    "KeyValue",
    "When",
    "json_option",
    "parse_when",
    "scope_options",
    "types_option",
]

F = TypeVar("F", bound=Callable[..., Any])

_SCOPE_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("--user", "user_id", "User scope (whose memories)."),
    ("--agent", "agent_id", "Agent scope."),
    ("--team", "team_id", "Team scope."),
    ("--task", "task_id", "Task scope."),
    ("--conversation", "conversation_id", "Conversation scope."),
    ("--tenant", "tenant_id", "Tenant scope (multi-tenant stores)."),
)

MEMORY_TYPES = [t.value for t in MemoryType]


def scope_options(*, user_required: bool = False) -> Callable[[F], F]:
    """Add ``--user/--agent/--team/--task/--conversation/--tenant`` and pass one ``scope: Scope``.

    ``user_required`` is for ``remember``/``recall``: a memory without a user, or a
    recall across every user, should be a deliberate choice, never an omission.
    """

    def decorator(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            parts = {attr: kwargs.pop(attr) for _, attr, _ in _SCOPE_OPTIONS}
            return f(*args, scope=Scope(**parts), **kwargs)

        command = wrapper
        for flag, attr, text in reversed(_SCOPE_OPTIONS):
            required = user_required and attr == "user_id"
            command = click.option(flag, attr, metavar="ID", required=required, help=text)(command)
        return command  # type: ignore[return-value]

    return decorator


def json_option(f: F) -> F:
    """``--json``: plain JSON on stdout instead of rich tables (for scripts and ``jq``)."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(f)


def types_option(f: F) -> F:
    """``--type`` (repeatable): only memories of these types."""
    return click.option(
        "--type",
        "memory_types",
        type=click.Choice(MEMORY_TYPES),
        multiple=True,
        metavar="TYPE",
        help="Only this type: episodic, semantic, procedural, summary (repeatable).",
    )(f)


class When(click.ParamType[float]):
    """A point in time: ISO 8601 (``2024-05-01``, ``2024-05-01T09:30:00Z``) or epoch seconds.

    Returned as epoch seconds; times without a zone are UTC, as the library assumes.
    """

    name = "WHEN"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        """Parse ``value`` into epoch seconds, or fail with a usage error."""
        try:
            return parse_when(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def parse_when(value: object) -> float:
    """Epoch seconds from a number, a numeric string or ISO 8601 text (UTC unless it says).

    Raises:
        ValueError: ``value`` is none of these, or not finite.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                moment = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
            except ValueError:
                raise ValueError(f"{value!r} is neither ISO 8601 (2024-05-01T09:30:00Z) nor epoch seconds") from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.timezone.utc)
            return moment.timestamp()
    else:
        raise ValueError(f"{value!r} is not a time: use ISO 8601 text or epoch seconds")
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number of epoch seconds")
    return number


class JsonObject(click.ParamType[dict[str, Any]]):
    """A JSON object given inline, e.g. a metadata filter ``'{"source": {"$eq": "cli"}}'``."""

    name = "JSON"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dict[str, Any]:
        """Parse ``value`` as a JSON object."""
        if isinstance(value, dict):
            return value
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            self.fail(f"not valid JSON: {exc}", param, ctx)
        if not isinstance(parsed, dict):
            self.fail(f"must be a JSON object, got {type(parsed).__name__}", param, ctx)
        return parsed


class KeyValue(click.ParamType[tuple[str, Any]]):
    """``key=value``; the value is read as JSON when it is JSON (``3``, ``true``, ``["a"]``).

    Args:
        name: The metavar, e.g. ``KEY=VALUE``.
        example: Shown when the ``=`` is missing.
        keep_null_and_objects: Whether ``null`` and ``{...}`` keep their JSON meaning.
            Metadata cannot hold them, so there they stay text; a setting such as
            ``recency_half_life_days=null`` needs them.
    """

    def __init__(self, name: str = "KEY=VALUE", example: str = "key=value", keep_null_and_objects: bool = False):
        self.name = name
        self._example = example
        self._keep_null_and_objects = keep_null_and_objects

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, Any]:
        """Split on the first ``=``; numbers, booleans and lists keep their type."""
        if isinstance(value, tuple):
            return value
        key, sep, raw = str(value).partition("=")
        key = key.strip()
        if not sep or not key:
            self.fail(f"{value!r} is not {self.name} (e.g. {self._example})", param, ctx)
        try:
            parsed: Any = json.loads(raw)
        except json.JSONDecodeError:
            parsed = raw
        if not self._keep_null_and_objects and (parsed is None or isinstance(parsed, dict)):
            parsed = raw
        return key, parsed


WHEN = When()
FILTER = JsonObject()
META = KeyValue()
