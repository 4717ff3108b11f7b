"""Team memory for the nodes of a ``Graph`` or ``Swarm``.

Every node agent carries the same :class:`MemoryPlugin`; the orchestrator passes one
``invocation_state`` to every node, so each node writes under its own ``agent_id``
into the shared ``team_id`` scope and recalls what its teammates stored. This plugin
adds what only the orchestrator knows: when a node finishes (its findings are stored
before the next node starts, so a teammate checking "what has been done?" sees them)
and when the whole run ends (one summary per team conversation, not one per node).
"""

from __future__ import annotations

import asyncio
from typing import Any

from strands.hooks import AfterMultiAgentInvocationEvent, AfterNodeCallEvent, BeforeMultiAgentInvocationEvent
from strands.plugins import MultiAgentPlugin

from ._hooks import on_event
from ._identity import Identity, check_identifier
from ._plugin import TEAM_RUN_KEY, MemoryPlugin

__all__ = ["TeamMemory"]


class TeamMemory(MultiAgentPlugin):
    """Shared team memory for an orchestrator; give every node agent ``plugin`` too.

    Args:
        plugin: The memory plugin attached to every node agent.
        team_id: The team, when ``invocation_state`` names none.
        flush_timeout: How long a finished node may wait for its memories to be stored.
    """

    name = "strands-vector-memory-team"

    def __init__(self, plugin: MemoryPlugin, *, team_id: str | None = None, flush_timeout: float = 30.0) -> None:
        if not isinstance(plugin, MemoryPlugin):
            raise TypeError(f"plugin must be a MemoryPlugin, got {type(plugin).__name__}")
        self.plugin = plugin
        self.team_id = check_identifier(team_id, "team_id") or plugin.team_id
        self.flush_timeout = flush_timeout
        super().__init__()

    def _state(self, state: dict[str, Any] | None) -> dict[str, Any]:
        if state is None:
            raise TypeError("TeamMemory needs invocation_state with user_id and conversation_id")
        return state

    @on_event
    def _before_run(self, event: BeforeMultiAgentInvocationEvent) -> None:
        """Check the identity before any node runs, and mark the run as a team run."""
        state = self._state(event.invocation_state)
        if self.team_id is not None:
            state.setdefault("team_id", self.team_id)
        Identity.from_invocation_state(state)  # fail fast, before a node spends a model call
        state[TEAM_RUN_KEY] = True

    @on_event
    async def _after_node(self, event: AfterNodeCallEvent) -> None:
        """Store the node's turns now, so the next node can recall them."""
        await asyncio.to_thread(self.plugin.worker.flush, self.flush_timeout, kinds=("turns",))

    @on_event
    async def _after_run(self, event: AfterMultiAgentInvocationEvent) -> None:
        """End the team conversation once, if the caller asked to."""
        state = self._state(event.invocation_state)
        state.pop(TEAM_RUN_KEY, None)
        if state.get("end_session"):
            await asyncio.to_thread(self.plugin.end_conversation, state)
