"""The tools a model may use on its memory, each confined to the caller's scope.

Registered only when the plugin is asked for them. Every scope comes from
``invocation_state`` (what the application authenticated), never from tool arguments,
and every argument the model supplies is bounded: ``top_k`` is clamped to 1..20 and
text is validated like any other input.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Final

from strands import ToolContext, tool
from strands.tools.decorator import DecoratedFunctionTool

from ..core import MemoryType, ValidationError, VectorMemoryError
from ..memory import VectorMemory
from ._checks import clamp_count
from ._identity import Identity

__all__ = ["MAX_TOOL_TOP_K", "TOOL_NAMES", "build_tools"]

TOOL_NAMES: Final = ("recall_memory", "remember", "forget")
MAX_TOOL_TOP_K: Final = 20
_WRITABLE_TYPES: Final = ("semantic", "episodic", "procedural")


def build_tools(
    names: Sequence[str],
    memory: VectorMemory,
    *,
    identify: Callable[[ToolContext], Identity],
    recall_scope: Sequence[str],
    max_tokens: int,
) -> list[DecoratedFunctionTool[Any, Any]]:
    """The requested tools, bound to ``memory``; ``identify`` reads the caller's identity."""

    @tool(name="recall_memory", context=True)
    async def recall_memory(query: str, tool_context: ToolContext, top_k: int = 5) -> str:
        """Search long-term memory (earlier conversations, facts, preferences, teammates' findings).

        Args:
            query: What to look for, in plain words.
            top_k: How many memories to return (1 to 20).
            tool_context: Supplied by the agent (the caller's identity); not a model argument.
        """
        identity = identify(tool_context)
        context = await asyncio.to_thread(
            memory.build_context,
            query,
            scope=identity.recall_scope(recall_scope),
            top_k=clamp_count(top_k, default=5, upper=MAX_TOOL_TOP_K),
            max_tokens=max_tokens,
            show_keys="forget" in names,
        )
        return str(context) if context else "No matching memories."

    @tool(name="remember", context=True)
    async def remember(content: str, tool_context: ToolContext, memory_type: str = "semantic") -> str:
        """Save something worth knowing in later conversations (a fact, a preference, how to do a task).

        Args:
            content: The thing to remember, as a self-contained sentence.
            memory_type: "semantic" (a fact or preference), "procedural" (how to do something)
                or "episodic" (something that happened).
            tool_context: Supplied by the agent (the caller's identity); not a model argument.
        """
        identity = identify(tool_context)
        if memory_type not in _WRITABLE_TYPES:
            raise ValidationError(
                f"memory_type must be one of {', '.join(_WRITABLE_TYPES)}, got {memory_type!r}", field="memory_type"
            )
        stored = await asyncio.to_thread(
            memory.remember,
            content,
            scope=identity.write_scope,
            memory_type=MemoryType(memory_type),
            source="agent-tool",
            idempotent=True,
        )
        return f"Remembered (key {stored.key})."

    @tool(name="forget", context=True)
    async def forget(key: str, tool_context: ToolContext) -> str:
        """Delete one memory by the key shown with it (only memories of the current user can be deleted).

        Args:
            key: The memory's key.
            tool_context: Supplied by the agent (the caller's identity); not a model argument.
        """
        identity = identify(tool_context)
        scope = identity.recall_scope(recall_scope)
        try:
            deleted = await asyncio.to_thread(memory.forget, [key], scope=scope)
        except VectorMemoryError as exc:
            return f"Could not forget {key!r}: {exc}"
        return f"Forgot {key!r}." if deleted else f"No memory {key!r} in your scope."

    available: dict[str, DecoratedFunctionTool[Any, Any]] = {
        "recall_memory": recall_memory,
        "remember": remember,
        "forget": forget,
    }
    return [available[name] for name in names]


def check_tool_names(names: object) -> tuple[str, ...]:
    """Validate the ``tools`` option: a list of known tool names."""
    if isinstance(names, str) or not isinstance(names, Sequence | set | frozenset):
        raise ValidationError(f"tools must be a list of tool names, got {names!r}", field="tools")
    chosen = tuple(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in TOOL_NAMES]
    if unknown:
        raise ValidationError(f"unknown tools {unknown}: choose from {', '.join(TOOL_NAMES)}", field="tools")
    return chosen
