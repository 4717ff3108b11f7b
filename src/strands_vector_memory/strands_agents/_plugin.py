"""``MemoryPlugin``: long-term memory for a Strands ``Agent``, one thin face over ``VectorMemory``.

Each invocation: the caller's identity is read from ``invocation_state``; the
memories relevant to the new user message (plus a little recent context) are
recalled and shown to the model as a fenced block of quoted data, on every turn and
every model call of the turn. Every message the agent adds is buffered as it arrives
(before any conversation manager trims history); when the turn completes, the turn
is committed to a durable outbox with the memory writes it owes, and a background
worker performs them: one memory per turn, and a summary by the agent's own model
when the session ends or goes idle.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from strands import ToolContext
from strands.hooks import AfterInvocationEvent, BeforeInvocationEvent, MessageAddedEvent
from strands.middleware import InvokeModelContext, InvokeModelStage
from strands.models import Model
from strands.plugins import Plugin
from strands.tools.decorator import DecoratedFunctionTool

from ..core import Field, ValidationError, VectorMemoryError
from ..memory import SharedIndexLayout, VectorMemory
from ._checks import check_number, message_text
from ._hooks import on_event
from ._identity import RECALL_SCOPE_DEFAULT, Identity, check_identifier, check_recall_parts
from ._outbox import Outbox, TranscriptMessage
from ._tools import build_tools, check_tool_names
from ._worker import MemoryWorker

if TYPE_CHECKING:
    from strands import Agent

__all__ = ["PLACEHOLDER", "MemoryPlugin"]

_log = logging.getLogger("strands_vector_memory.strands")

PLACEHOLDER: Final = "{memory_context}"
#: The key a team plugin sets in ``invocation_state`` so that nodes leave ending the
#: session to the orchestrator (every node sees the same ``end_session``).
TEAM_RUN_KEY: Final = "strands_vector_memory.team_run"


_T = TypeVar("_T")


@dataclass
class _Turn:
    """What the plugin knows about the invocation an agent is running."""

    identity: Identity
    memory_block: str = ""
    staged: list[TranscriptMessage] = field(default_factory=list)


def _default_outbox_path(memory: VectorMemory) -> Path:
    """Beside the embedded store; for a remote store, one file per bucket and endpoint.

    Jobs do not name their store, so two stores must never share an outbox: a worker
    would write one store's turns into the other.
    """
    store = getattr(memory.backend, "path", None)
    if isinstance(store, Path):
        return store / "outbox.sqlite3"
    from ..memory._paths import default_store_path

    bucket = getattr(memory.backend, "bucket", None)
    if not isinstance(bucket, str):
        return Path(default_store_path()) / "outbox.sqlite3"
    endpoint = getattr(memory.backend, "endpoint_url", None) or getattr(
        getattr(getattr(memory.backend, "client", None), "meta", None), "endpoint_url", ""
    )
    where = str(endpoint)
    if repr(memory.layout) != repr(SharedIndexLayout()):  # e.g. per-tenant indexes of the same bucket
        where += f"|{memory.layout!r}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:12]
    return Path(default_store_path()) / "outboxes" / f"{bucket}-{digest}.sqlite3"


class MemoryPlugin(Plugin):
    """Long-term memory for a Strands agent.

    Call the agent with ``invocation_state={"user_id": ..., "conversation_id": ...}``
    (plus ``tenant_context={"tenantId": ...}``, ``team_id``, ``task_id``, ``agent_id``
    when you have them, and ``end_session=True`` on a conversation's last turn).

    Args:
        memory: The memory service.
        base_prompt: A system prompt containing ``{memory_context}``; the plugin renders
            it every turn with that turn's memories. Without it, memories are added to
            each model call's system prompt without touching the agent's own.
        top_k: How many memories to consider per turn.
        min_score: Leave out memories scoring below this.
        max_tokens: Token budget of the memory block.
        tools: Which tools to give the model: any of ``recall_memory``, ``remember``,
            ``forget``. None by default.
        recall_scope: Identity parts recall is restricted to, besides the tenant and the
            user (which always are): ``team_id`` by default; add ``agent_id`` for private
            agent memory or ``task_id`` for per-task memory.
        include_current_conversation: Also recall this agent's own turns of the current
            conversation (off: they are still in its history; a teammate's turns of the
            same conversation are recalled either way).
        store_turns: Store each user and assistant message as its own memory (turn-level
            units retrieve far better than one summary per conversation).
        summarise: Summarise conversations when they end or go idle.
        idle_timeout: Seconds after which a quiet conversation is summarised; ``None``
            to summarise only on ``end_session``.
        outbox: The outbox file (or an :class:`Outbox`); by default beside the embedded store.
        team_id: Default ``team_id`` for invocations that do not name one.
        summary_model: Summarise with this model rather than the agent's (``aux_model``).
        query_context_chars: How much of the previous message joins the recall query.
        max_message_chars: Longer messages are cut to this in the transcript.
        name: The plugin name (to attach two memory plugins to one agent).
        read_own_writes: Before recalling, store this user's turns still waiting in the
            outbox, so a new conversation sees what was said in the one just ended.
    """

    name = "strands-vector-memory"

    def __init__(
        self,
        memory: VectorMemory,
        *,
        base_prompt: str | None = None,
        top_k: int = 10,
        min_score: float | None = None,
        max_tokens: int = 800,
        tools: Iterable[str] = (),
        recall_scope: Sequence[str] = RECALL_SCOPE_DEFAULT,
        include_current_conversation: bool = False,
        store_turns: bool = True,
        summarise: bool = True,
        idle_timeout: float | None = 1800.0,
        outbox: str | os.PathLike[str] | Outbox | None = None,
        team_id: str | None = None,
        summary_model: Model | None = None,
        query_context_chars: int = 300,
        max_message_chars: int = 20_000,
        name: str | None = None,
        read_own_writes: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(memory, VectorMemory):
            raise TypeError(f"memory must be a VectorMemory, got {type(memory).__name__}")
        if base_prompt is not None and (not isinstance(base_prompt, str) or PLACEHOLDER not in base_prompt):
            raise ValidationError(
                f"base_prompt must be a string containing {PLACEHOLDER} (where the memories go), got {base_prompt!r}",
                field="base_prompt",
            )
        self.memory = memory
        self.base_prompt = base_prompt
        self.top_k = check_number("top_k", top_k, least=1, integer=True)
        self.min_score = check_number("min_score", min_score, least=-1, optional=True)
        self.max_tokens = check_number("max_tokens", max_tokens, least=50, integer=True)
        self.tool_names = check_tool_names(list(tools) if not isinstance(tools, str) else tools)
        self.recall_scope = check_recall_parts(recall_scope)
        self.include_current_conversation = bool(include_current_conversation)
        self.store_turns = bool(store_turns)
        self.summarise = bool(summarise)
        self.idle_timeout = check_number("idle_timeout", idle_timeout, least=0, optional=True)
        self.query_context_chars = check_number("query_context_chars", query_context_chars, least=0, integer=True)
        self.max_message_chars = check_number("max_message_chars", max_message_chars, least=100, integer=True)
        self.team_id = check_identifier(team_id, "team_id")
        if name is not None:
            self.name = name
        self.summary_model = summary_model
        self.read_own_writes = bool(read_own_writes)
        self._clock = clock
        self.outbox = (
            outbox if isinstance(outbox, Outbox) else Outbox(outbox or _default_outbox_path(memory), clock=clock)
        )
        self._closed = False
        memory.attach_side_store(  # so forget_user/export_user reach turns not stored yet
            "outbox",
            forget=lambda user, tenant: self._with_outbox(lambda box: box.forget(user_id=user, tenant_id=tenant)),
            export=lambda user, tenant: self._with_outbox(lambda box: box.export(user_id=user, tenant_id=tenant)),
            forget_tenant=lambda tenant: self._with_outbox(lambda box: box.forget_tenant(tenant)),
        )
        self._models: dict[str, Model] = {}
        self._turns: dict[int, _Turn] = {}
        self._lock = threading.Lock()
        self.worker = MemoryWorker(
            self.outbox,
            memory,
            resolve_model=self._model_for,
            idle_timeout=self.idle_timeout,
            summarise_conversations=self.summarise,
            clock=clock,
        )
        super().__init__()
        self._tools: list[DecoratedFunctionTool[Any, Any]] = build_tools(
            self.tool_names,
            memory,
            identify=self._identify_tool_caller,
            recall_scope=self.recall_scope,
            max_tokens=self.max_tokens,
        )
        if summary_model is not None or not self.summarise:
            self.worker.start()  # pending jobs from an earlier run can go now

    def __repr__(self) -> str:
        return f"MemoryPlugin(memory={self.memory!r}, outbox={self.outbox!r})"

    # -- lifecycle -------------------------------------------------------------------

    def init_agent(self, agent: Agent) -> None:
        """Keep the agent's model for summaries, add the per-call memory middleware, start the worker."""
        with self._lock:  # the model, not the agent: per-request agents come and go
            self._models[agent.name] = agent.aux_model
        if self.base_prompt is None:
            agent.add_middleware(InvokeModelStage.Input, self._inject)
        self.worker.start()

    def flush(self, timeout: float | None = 30.0) -> int:
        """Store every pending memory now (turns and summaries); returns how many jobs remain.

        Summaries need a model: they wait while no agent is attached and no
        ``summary_model`` was given. Jobs that fail are rescheduled, not dropped.
        """
        self.worker.close_idle()
        return self.worker.flush(timeout)

    def close(self, timeout: float | None = 30.0) -> int:
        """Flush, stop the worker and close the outbox; returns how many jobs remain for next time."""
        remaining = self.flush(timeout)
        self.worker.stop()
        self.outbox.close()
        self._closed = True
        return remaining

    def _with_outbox(self, act: Callable[[Outbox], _T]) -> _T:
        """Run ``act`` on the outbox, reopening its file if the plugin was closed (its data stays)."""
        if not self._closed:
            return act(self.outbox)
        box = Outbox(self.outbox.path, clock=self._clock)
        try:
            return act(box)
        finally:
            box.close()

    def end_conversation(self, invocation_state: dict[str, Any]) -> None:
        """Close a conversation without another turn (as ``end_session=True`` would)."""
        identity = Identity.from_invocation_state(invocation_state, team_id=self.team_id)
        self.outbox.close_conversation(identity, summarise=self.summarise)
        self.worker.wake()

    def _model_for(self, agent_name: str | None) -> Model | None:
        if self.summary_model is not None:
            return self.summary_model
        with self._lock:
            if agent_name in self._models:
                return self._models[agent_name]
            return next(reversed(self._models.values()), None)

    # -- identity ---------------------------------------------------------------------

    def _identify(self, invocation_state: dict[str, Any] | None, agent: Any) -> Identity:
        return Identity.from_invocation_state(
            invocation_state, agent_name=getattr(agent, "name", None), team_id=self.team_id
        )

    def _identify_tool_caller(self, tool_context: ToolContext) -> Identity:
        return self._identify(tool_context.invocation_state, tool_context.agent)

    # -- hooks ------------------------------------------------------------------------

    @on_event
    async def _before_invocation(self, event: BeforeInvocationEvent) -> None:
        """Read the identity (failing the call if it is missing) and recall this turn's memories."""
        identity = self._identify(event.invocation_state, event.agent)
        turn = _Turn(identity)
        with self._lock:
            self._turns[id(event.agent)] = turn
        query = self._query(event.messages or [], event.agent.messages)
        if query:
            try:
                turn.memory_block = await asyncio.to_thread(self._recall_block, identity, query)
            except VectorMemoryError as exc:  # fail open: the user still gets an answer, without memories
                _log.warning(
                    "conversation=<%s>, reason=<%s> | recall failed | turn runs without memories",
                    identity.conversation_id,
                    exc,
                )
        if self.base_prompt is not None:
            event.agent.system_prompt = self.base_prompt.replace(PLACEHOLDER, turn.memory_block)

    def _query(self, new_messages: Sequence[Any], history: Sequence[Any]) -> str:
        """The new user message's text, plus the tail of the message before it."""
        current = ""
        for message in reversed(new_messages):
            if message.get("role") == "user":
                current = message_text(message, include_tools=False)
                if current:
                    break
        if not current:  # a resumed or tool-result pass: fall back to the last thing the user said
            for message in reversed(history):
                if message.get("role") == "user":
                    current = message_text(message, include_tools=False)
                    if current:
                        break
        if not current:
            return ""
        previous = ""
        if self.query_context_chars and history:
            previous = message_text(history[-1], include_tools=False)[-self.query_context_chars :]
        return (current + "\n" + previous).strip() if previous else current

    def _recall_block(self, identity: Identity, query: str) -> str:
        if self.read_own_writes:
            self.worker.catch_up(identity)
        extra = None
        if not self.include_current_conversation:
            # This agent's own turns of this conversation are still in its history;
            # a teammate's turns of the same conversation are not, so they stay.
            elsewhere = {Field.CONVERSATION_ID: {"$ne": identity.conversation_id}}
            others = {Field.AGENT_ID: {"$ne": identity.agent_id}} if identity.agent_id else None
            extra = {"$or": [elsewhere, others]} if others else elsewhere
        context = self.memory.build_context(
            query[:8000],
            scope=identity.recall_scope(self.recall_scope),
            top_k=self.top_k,
            max_tokens=self.max_tokens,
            min_score=self.min_score,
            filter=extra,
            show_keys="forget" in self.tool_names,
        )
        return str(context) if context else ""

    def _inject(self, context: InvokeModelContext) -> InvokeModelContext:
        """Add this turn's memory block to one model call's system prompt (history untouched)."""
        with self._lock:
            turn = self._turns.get(id(context.agent))
        if turn is None or not turn.memory_block:
            return context
        block = turn.memory_block
        prompt = context.system_prompt
        if prompt is None or prompt == "":
            return context.replace(system_prompt=block)
        if isinstance(prompt, str):
            return context.replace(system_prompt=f"{prompt}\n\n{block}")
        return context.replace(system_prompt=[*prompt, {"text": block}])

    @on_event
    def _message_added(self, event: MessageAddedEvent) -> None:
        """Buffer every message as it is added, before a conversation manager can trim it."""
        with self._lock:
            turn = self._turns.get(id(event.agent))
        if turn is None:
            return
        role = event.message.get("role", "")
        text = message_text(event.message, include_tools=True)
        if not text:
            return
        if len(text) > self.max_message_chars:
            text = text[: self.max_message_chars] + " [...]"
        spoken = role in ("user", "assistant") and bool(message_text(event.message, include_tools=False))
        name = getattr(event.agent, "name", None) if role == "assistant" else None
        # Messages that are only tool traffic go to the transcript (the summary may need
        # them) but are not stored as turns of their own.
        turn.staged.append(TranscriptMessage(role=role if spoken else "tool", text=text, at=self._clock(), name=name))

    @on_event
    async def _after_invocation(self, event: AfterInvocationEvent) -> None:
        """Commit a completed turn (and end the session if asked); drop a failed one."""
        with self._lock:
            turn = self._turns.pop(id(event.agent), None)
        if turn is None:
            return
        state = event.invocation_state
        result = event.result
        if result is None:
            if state.get("end_session"):
                _log.warning(
                    "conversation=<%s> | turn failed, end_session ignored | earlier turns stay buffered",
                    turn.identity.conversation_id,
                )
            return
        completed = result.stop_reason != "interrupt"
        team_run = bool(state.get(TEAM_RUN_KEY))
        end_session = bool(state.get("end_session")) and completed and not team_run
        await asyncio.to_thread(
            self.outbox.commit_turn,
            turn.identity,
            turn.staged,
            agent_name=getattr(event.agent, "name", None),
            store_turns=self.store_turns,
            # In a team run a node's input is written by the orchestrator (the task
            # plus teammates' outputs): only what the node itself said is new.
            turn_roles=("assistant",) if team_run else ("user", "assistant"),
            summarise=self.summarise,
            end_session=end_session,
        )
        self.worker.wake()
