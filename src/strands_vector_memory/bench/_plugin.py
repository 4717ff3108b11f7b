"""What ``MemoryPlugin`` adds to each turn of a Strands agent, the model call left out.

Two real ``strands.Agent`` s talk to a scripted model that answers instantly: one
without the plugin (the baseline: the SDK's own per-turn cost) and one with it, on a
store already holding a few hundred memories of the same user. Both get the same
messages, in alternating order turn by turn, so drift on a noisy machine hits both
alike. The difference is what a user waits for because of memory: recalling and
injecting memories before the model call, buffering the messages and committing the
turn to the durable outbox after it.

Storing the turns (embedding them, writing them to the store) is the background
worker's job, off the request path; it is measured separately, by stopping the
worker and timing ``plugin.flush()`` after each conversation. Every user message is
distinct, because the default embedder caches vectors by exact text.
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ..core import MemoryType, Scope
from ..embedders import Embedder
from ..memory import NewMemory, VectorMemory
from ._service import _percentile, _question, _text

if TYPE_CHECKING:
    from strands import Agent

__all__ = ["PluginBenchResult", "run_plugin_bench"]

WARMUP: Final = 5
"""Turns of each agent run first and left out (model load, index and cache warm-up)."""
USER: Final = "bench-user"
SYSTEM_PROMPT: Final = "You are a helpful assistant."
_ENTRY: Final = re.compile(r"^\[\d+\]", re.MULTILINE)
_MISSING_STRANDS: Final = (
    "the plugin benchmark needs the Strands Agents SDK: pip install 'strands-vector-memory[strands]'"
)


@dataclass(frozen=True, slots=True)
class PluginBenchResult:
    """Per-turn latencies of an agent without and with ``MemoryPlugin``, in milliseconds."""

    turns: int
    """Measured turns of each agent (warm-up excluded)."""
    conversation_turns: int
    """Turns per conversation; the history is cleared and the pending writes flushed between conversations."""
    store_size: int
    """Memories of the user in the store before the first measured turn."""
    embedder: str
    baseline_p50_ms: float
    baseline_p95_ms: float
    plugin_p50_ms: float
    plugin_p95_ms: float
    overhead_p50_ms: float
    """``plugin_p50_ms - baseline_p50_ms``: what memory adds to a turn the user waits for."""
    overhead_p95_ms: float
    overhead_ratio: float
    """``plugin_p50_ms / baseline_p50_ms``."""
    write_per_turn_ms: float
    """Background cost of storing one turn (user and assistant message): flush time / turns."""
    memories_per_turn: float
    """Memories shown to the model per measured turn, on average (evidence that recall ran)."""
    cpu_count: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view with the field names as keys."""
        return asdict(self)


def _prefill_items(count: int, conversation_turns: int) -> list[NewMemory]:
    """Turns of earlier conversations, stored the way the plugin stores them."""
    return [
        NewMemory(
            content=_text(i),
            scope=Scope(conversation_id=f"past-{i // conversation_turns}"),
            memory_type=MemoryType.EPISODIC,
            source="conversation",
        )
        for i in range(count)
    ]


def _timed_turn(agent: Agent, text: str, state: dict[str, Any]) -> float:
    """Milliseconds one ``agent(text)`` call takes."""
    start = time.perf_counter_ns()
    agent(text, invocation_state=dict(state))
    return (time.perf_counter_ns() - start) / 1e6


def run_plugin_bench(
    turns: int = 100,
    *,
    prefill: int = 300,
    conversation_turns: int = 10,
    embedder: Embedder | None = None,
    workdir: str | os.PathLike[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> PluginBenchResult:
    """Time ``turns`` agent turns without and with ``MemoryPlugin`` (default options).

    Args:
        turns: Measured turns of each agent, after :data:`WARMUP` warm-up turns.
        prefill: Memories of the user stored before the run (earlier conversations).
        conversation_turns: Turns per conversation. Between conversations both agents'
            histories are cleared (so the SDK's per-turn cost does not grow with an
            ever longer history) and the plugin's pending writes are flushed (timed).
        embedder: Defaults to the bundled offline model.
        workdir: Directory for the store; by default a removed temporary directory.
        progress: Called as ``progress(stage, done, total)`` with stages
            ``"prefill"`` and ``"turns"``.

    Returns:
        Median and 95th percentile turn latencies of both agents, the overhead, and the
        background write cost per turn.

    Raises:
        ImportError: The Strands Agents SDK (the ``strands`` extra) is not installed.
        ValueError: A count is out of range.
    """
    if turns < 1:
        raise ValueError("turns must be >= 1")
    if prefill < 0:
        raise ValueError("prefill must be >= 0")
    if conversation_turns < 1:
        raise ValueError("conversation_turns must be >= 1")
    try:
        from strands import Agent

        from ..strands_agents import MemoryPlugin, ModelRequest, ScriptedModel
    except ImportError as exc:
        raise ImportError(_MISSING_STRANDS) from exc

    report = progress or (lambda stage, done, total: None)

    def reply(request: ModelRequest) -> str:
        return f"Noted: {request.last_user_text()}"  # instant, and distinct per turn like the question

    with (
        tempfile.TemporaryDirectory(prefix="svm-plugin-bench-", dir=workdir) as tmp,
        VectorMemory.open(Path(tmp) / "store", embedder=embedder) as memory,
    ):
        report("prefill", 0, 1)
        if prefill:
            memory.remember_many(_prefill_items(prefill, conversation_turns), user_id=USER)
        report("prefill", 1, 1)
        plugin = MemoryPlugin(memory, outbox=Path(tmp) / "outbox.sqlite3", idle_timeout=None)
        with_memory = ScriptedModel(respond=reply)
        agents = {
            "baseline": Agent(
                model=ScriptedModel(respond=reply),
                system_prompt=SYSTEM_PROMPT,
                callback_handler=None,
                retry_strategy=None,
            ),
            "plugin": Agent(
                model=with_memory,
                plugins=[plugin],
                system_prompt=SYSTEM_PROMPT,
                callback_handler=None,
                retry_strategy=None,
            ),
        }
        plugin.worker.stop()  # writes are timed through flush(), not raced by the worker thread
        samples: dict[str, list[float]] = {"baseline": [], "plugin": []}
        flush_ms = 0.0
        shown = 0
        store_size = prefill
        try:
            for turn in range(-WARMUP, turns):
                measured = turn >= 0
                conversation = f"warmup-{turn + WARMUP}" if not measured else f"bench-{turn // conversation_turns}"
                if not measured or turn % conversation_turns == 0:
                    for agent in agents.values():
                        agent.messages.clear()
                state = {"user_id": USER, "conversation_id": conversation}
                text = _question(prefill + turn + WARMUP)
                order = ("baseline", "plugin") if turn % 2 == 0 else ("plugin", "baseline")
                for name in order:
                    elapsed = _timed_turn(agents[name], text, state)
                    if measured:
                        samples[name].append(elapsed)
                if measured:
                    shown += len(_ENTRY.findall(with_memory.requests[-1].system_text()))
                    report("turns", turn + 1, turns)
                if not measured and turn == -1:
                    plugin.flush(None)  # the warm-up turns' writes stay out of the numbers
                    store_size = memory.stats(user_id=USER).total
                elif measured and (turn % conversation_turns == conversation_turns - 1 or turn == turns - 1):
                    start = time.perf_counter_ns()
                    plugin.flush(None)
                    flush_ms += (time.perf_counter_ns() - start) / 1e6
        finally:
            plugin.close()
        name = memory.embedder.name
    baseline_p50, plugin_p50 = statistics.median(samples["baseline"]), statistics.median(samples["plugin"])
    baseline_p95, plugin_p95 = _percentile(samples["baseline"], 0.95), _percentile(samples["plugin"], 0.95)
    return PluginBenchResult(
        turns=turns,
        conversation_turns=conversation_turns,
        store_size=store_size,
        embedder=name,
        baseline_p50_ms=baseline_p50,
        baseline_p95_ms=baseline_p95,
        plugin_p50_ms=plugin_p50,
        plugin_p95_ms=plugin_p95,
        overhead_p50_ms=plugin_p50 - baseline_p50,
        overhead_p95_ms=plugin_p95 - baseline_p95,
        overhead_ratio=plugin_p50 / baseline_p50,
        write_per_turn_ms=flush_ms / turns,
        memories_per_turn=shown / turns,
        cpu_count=os.cpu_count() or 1,
    )
