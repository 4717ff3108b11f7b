"""``S3VectorMemoryPlugin``: the old plugin's constructor and ``memory_tool``, over ``MemoryPlugin``.

Same call shape (``S3VectorMemoryPlugin(store=..., base_prompt=...)``, the
``invocation_state`` keys, the ``{memory_context}`` placeholder), none of the old
defects: memories reach every turn, writes go through a durable outbox, ``top_k`` is
clamped, and the tool exists only when the caller takes ``plugin.memory_tool``.
"""

from __future__ import annotations

from typing import Any

from strands.tools.decorator import DecoratedFunctionTool

from ..strands_agents import MemoryPlugin
from ..strands_agents._identity import RECALL_SCOPE_DEFAULT
from ..strands_agents._tools import build_tools
from ._stores import S3VectorMemory

__all__ = ["S3VectorMemoryPlugin"]


class S3VectorMemoryPlugin(MemoryPlugin):
    """Long-term memory for a Strands agent on an :class:`S3VectorMemory` store.

    As in the old plugin, each agent recalls its own memories (``agent_id`` = the
    agent's name) within its user and tenant; pass ``recall_scope=("team_id",)`` to
    share memories between the agents of a user. Every other option is
    :class:`MemoryPlugin`'s.

    Args:
        store: An ``S3VectorMemory`` or ``MultiTenantS3VectorMemory``.
        base_prompt: The system prompt with a ``{memory_context}`` placeholder.
        **options: Passed to :class:`MemoryPlugin`.
    """

    def __init__(self, store: S3VectorMemory, base_prompt: str | None = None, **options: Any) -> None:
        if not isinstance(store, S3VectorMemory):
            raise TypeError(f"store must be an S3VectorMemory, got {type(store).__name__}")
        options.setdefault("recall_scope", (*RECALL_SCOPE_DEFAULT, "agent_id"))
        super().__init__(store.memory, base_prompt=base_prompt, **options)
        self.store = store
        self._memory_tool: DecoratedFunctionTool[Any, Any] | None = None

    @property
    def memory_tool(self) -> DecoratedFunctionTool[Any, Any]:
        """The ``recall_memory`` tool, for ``Agent(tools=[plugin.memory_tool])``.

        Scoped by ``invocation_state`` exactly as the automatic recall is; ``top_k`` is
        clamped to 1..20. Not registered unless the caller passes it.
        """
        if getattr(self, "_memory_tool", None) is None:
            (self._memory_tool,) = build_tools(
                ("recall_memory",),
                self.memory,
                identify=self._identify_tool_caller,
                recall_scope=self.recall_scope,
                max_tokens=self.max_tokens,
            )
        assert self._memory_tool is not None
        return self._memory_tool
