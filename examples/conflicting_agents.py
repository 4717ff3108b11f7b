"""Conflicting agents: two agents of a team store contradicting facts; a teammate sees it and resolves it.

The release planner notes that the deploy window is Tuesday; later the ops bot notes
Thursday. The second write comes back ``CONFLICTED``: both memories are kept, linked,
and a ``conflict`` memory is written for the whole team. A third agent, the deployer,
is shown the conflict note with the two facts when it is asked about the window, asks
which one holds, and (told Thursday) forgets the wrong fact and the note with its
``forget`` tool.

Then the same two writes in a team whose memory runs with
``MemoryPolicy(conflicts=Conflicts(newest_wins=True))``: the newer fact supersedes the
older one at once, which is kept for audit but never recalled again.

Run offline (a scripted model plays the LLM, the bundled embedder runs locally):

    python examples/conflicting_agents.py [--store PATH]

Run with a real LLM (see examples/_model.py for the providers):

    STRANDS_MEMORY_EXAMPLE_MODEL=openai:gpt-4o python examples/conflicting_agents.py
"""

from __future__ import annotations

import re

from _model import example_model, example_store, memory_block, print_tool_calls, record_model_input
from strands import Agent

from strands_vector_memory import Conflicts, Memory, MemoryPolicy, Scope, VectorMemory, WriteOutcome
from strands_vector_memory.strands_agents import MemoryPlugin, ModelRequest, ToolCall

TUESDAY = "The production deploy window is Tuesday 14:00-16:00 UTC."
THURSDAY = "The production deploy window is Thursday 14:00-16:00 UTC."
ASK = "When can I deploy the payments service this week?"
DECIDE = "Thursday is right: the window moved last month. Please fix the team's memory."
SYSTEM_PROMPT = (
    "You are the deployer of the platform team. Answer from the team's memories. If they conflict, ask "
    "which one holds; once told, forget the wrong memory and the conflict note with the forget tool."
)


def entries(block: str) -> list[tuple[str, str, str]]:
    """(memory type, key, content) of each memory in a ``<memories>`` block shown with keys."""
    return re.findall(r"\] [^|\n]*\| (\w+) \|[^\n]*\| key: (\S+)\n  \"([^\n]*)\"", block)


def script(request: ModelRequest) -> str | list[str | ToolCall]:
    """What the scripted model answers (a real LLM replaces all of this)."""
    shown = entries(memory_block(request.system_text()))
    if request.last_user_text() == "":  # the forget tool has answered
        return "Done: I forgot the Tuesday fact and the conflict note. The deploy window is Thursday 14:00-16:00 UTC."
    if request.last_user_text() == DECIDE:
        wrong = [key for kind, key, text in shown if kind == "semantic" and "Tuesday" in text]
        notes = [key for kind, key, _ in shown if kind == "conflict"]
        return [ToolCall("forget", {"key": key}) for key in wrong + notes]
    if any(kind == "conflict" for kind, _, _ in shown):
        return "The team's memory disagrees: the release planner says Tuesday, the ops bot Thursday. Which holds?"
    return "Any time, as far as I know."


def scope(team: str, agent: str | None = None) -> Scope:
    """Dana's memories in ``team``, written by ``agent``."""
    return Scope(user_id="dana", team_id=team, agent_id=agent)


def write(memory: VectorMemory, team: str, agent: str, text: str) -> Memory:
    """``agent`` of ``team`` stores a fact; print what the write did."""
    stored = memory.remember(text, scope=scope(team, agent), memory_type="semantic")
    outcome = stored.outcome.value.upper() if stored.outcome else "?"
    linked = "".join(f" (linked to {key})" for key in stored.metadata.get("conflicts_with", []))
    print(f"{agent}: {text!r} -> {outcome}{linked}")
    return stored


def main(argv: list[str] | None = None) -> int:
    """Write the conflict, resolve it with an agent, then show newest-wins."""
    with example_store(argv, __doc__.splitlines()[0]) as memory:
        model = example_model(script)
        failures = []

        print("\n== Two agents of the platform team store contradicting facts")
        write(memory, "platform", "release-planner", TUESDAY)
        second = write(memory, "platform", "ops-bot", THURSDAY)
        notes = memory.list(scope=scope("platform"), memory_types=["conflict"]).memories
        print(f"conflict notes for the team: {len(notes)}")
        if second.outcome is not WriteOutcome.CONFLICTED or len(notes) != 1:
            failures.append("the second write should be CONFLICTED, with one conflict note for the team")

        print("\n== The deployer is asked about the window")
        plugin = MemoryPlugin(memory, tools=["forget"])
        deployer = Agent(
            name="deployer", model=model, plugins=[plugin], system_prompt=SYSTEM_PROMPT, callback_handler=None
        )
        shown = record_model_input(deployer)
        print_tool_calls(deployer)
        state = {"user_id": "dana", "team_id": "platform", "conversation_id": "deploy-1"}
        print(f"dana: {ASK}")
        reply = deployer(ASK, invocation_state=state)
        print(f"-- memories the deployer was shown:\n{memory_block(shown[-1])}")
        print(f"deployer: {str(reply).strip()}")
        if not any(kind == "conflict" for kind, _, _ in entries(memory_block(shown[-1]))):
            failures.append("the deployer was not shown the conflict note")
        print(f"dana: {DECIDE}")
        reply = deployer(DECIDE, invocation_state=state)
        print(f"deployer: {str(reply).strip()}")
        plugin.close()
        left = memory.recall("deploy window", scope=scope("platform"), memory_types=["semantic", "conflict"])
        print(f"the team's memory now: {[m.content for m in left]}")
        if [m.content for m in left] != [THURSDAY]:
            failures.append("after the fix only the Thursday fact should be left")

        print("\n== The payments team's memory runs with newest_wins=True")
        policy = MemoryPolicy(conflicts=Conflicts(newest_wins=True))
        # The same store with another policy (not closed here: ``memory`` owns the backend).
        newest = VectorMemory(memory.backend, memory.embedder, policy=policy)
        old = write(newest, "payments", "release-planner", TUESDAY)
        new = write(newest, "payments", "ops-bot", THURSDAY)
        recalled = memory.recall("When is the deploy window?", scope=scope("payments"))
        for m in recalled:
            print(f"recalled: [{m.memory_type.value if m.memory_type else '?'}] {m.content}")
        audit = memory.get(old.key, scope=scope("payments"))
        kept = [m for m in memory.iter_memories(scope=scope("payments"), include_superseded=True) if m.key == old.key]
        print(
            f"the Tuesday fact: visible to get/recall={audit is not None}, kept for audit={bool(kept)}, "
            f"superseded_by={kept[0].metadata.get('superseded_by') if kept else None}"
        )
        if new.outcome is not WriteOutcome.CONFLICTED or any(m.key == old.key for m in recalled):
            failures.append("with newest_wins the older fact must not be recalled")
        if not kept or kept[0].metadata.get("superseded_by") != new.key:
            failures.append("with newest_wins the older fact must be kept, marked superseded by the newer")

        for failure in failures:
            print(f"FAILED: {failure}")
        if failures:
            return 1
        print("\nOK: the conflict was detected, shown to a teammate, resolved; newest_wins superseded the old fact")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
