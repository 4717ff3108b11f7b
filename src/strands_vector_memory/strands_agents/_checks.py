"""Small checks and readings shared by the Strands faces.

The plugin, the outbox, the tools and the ``MemoryStore`` all validate numeric
options, bound model-supplied counts and read text out of Strands messages; one copy
of each keeps them from drifting apart (a NaN slipping past one ``<`` test, say).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ..core import ValidationError

__all__ = ["check_number", "clamp_count", "message_text"]

_TOOL_RESULT_CHARS: Final = 1000


def check_number(name: str, value: object, *, least: float, integer: bool = False, optional: bool = False) -> Any:
    """``value`` if it is a number (an int when ``integer``) of at least ``least``; NaN never is."""
    if value is None and optional:
        return None
    kinds = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value >= least:
        kind = "an int" if integer else "a number"
        raise ValidationError(f"{name} must be {kind} >= {least}, got {value!r}", field=name)
    return value


def clamp_count(value: object, *, default: int, upper: int) -> int:
    """A caller- or model-supplied result count forced into ``1..upper`` (junk means ``default``)."""
    if isinstance(value, bool):
        return default
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return default
    return max(1, min(upper, int(number)))


def message_text(message: Mapping[str, Any], *, include_tools: bool = False) -> str:
    """The text blocks of a Strands message joined; with ``include_tools``, tool traffic too.

    Empty when the message holds no text (a tool call or result only, or an image).
    """
    parts: list[str] = []
    for block in message.get("content", []):
        if isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif include_tools and "toolUse" in block:
            parts.append(f"[called tool {block['toolUse'].get('name', '?')}]")
        elif include_tools and "toolResult" in block:
            for inner in block["toolResult"].get("content", []):
                if isinstance(inner.get("text"), str):
                    parts.append("[tool result] " + inner["text"][:_TOOL_RESULT_CHARS])
    return "\n".join(p for p in parts if p.strip())
