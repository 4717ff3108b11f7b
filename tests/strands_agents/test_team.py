"""Team memory across the nodes of a real Graph: only the LLMs are scripted."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from strands import Agent
from strands.multiagent import GraphBuilder

from strands_vector_memory import VectorMemory
from strands_vector_memory.strands_agents import MemoryPlugin, ModelRequest, ScriptedModel, TeamMemory
from strands_vector_memory.strands_agents._summary import SUMMARY_SYSTEM_PROMPT

BLOCK = re.compile(r"<memories>\n(.*?)\n</memories>", re.DOTALL)
FINDING = "Finding: the vendor API allows 100 requests per minute."


def block(request: ModelRequest) -> str:
    found = BLOCK.findall(request.system_text())
    return str(found[0]) if found else ""


@pytest.fixture
def plugin(memory: VectorMemory, tmp_path: Path) -> Iterator[MemoryPlugin]:
    made = MemoryPlugin(memory, outbox=tmp_path / "outbox.sqlite3", idle_timeout=None)
    yield made
    made.close(timeout=5)


def agent(name: str, model: ScriptedModel, plugin: MemoryPlugin) -> Agent:
    return Agent(
        name=name,
        model=model,
        plugins=[plugin],
        system_prompt=f"You are the team's {name}.",
        callback_handler=None,
        retry_strategy=None,
    )


def answering(reply: str) -> ScriptedModel:
    def respond(request: ModelRequest) -> str:
        if request.system_text() == SUMMARY_SYSTEM_PROMPT:
            return "The team found the vendor API limit (100 requests per minute) and drafted the rollout note."
        return reply

    return ScriptedModel(respond=respond)


def run_team(plugin: MemoryPlugin, researcher: ScriptedModel, writer: ScriptedModel, **state: object) -> None:
    builder = GraphBuilder()
    builder.add_node(agent("researcher", researcher, plugin), "researcher")
    builder.add_node(agent("writer", writer, plugin), "writer")
    builder.add_edge("researcher", "writer")
    builder.set_entry_point("researcher")
    builder.set_max_node_executions(4)
    builder.set_plugins([TeamMemory(plugin)])
    graph = builder.build()
    graph("Plan the rollout against the vendor API.", invocation_state={"user_id": "ops", **state})


def test_a_node_sees_what_its_teammate_stored_in_the_same_run(memory: VectorMemory, plugin: MemoryPlugin) -> None:
    researcher, writer = answering(FINDING), answering("Draft: throttle to 90 requests per minute.")
    run_team(plugin, researcher, writer, conversation_id="run-1", team_id="platform", task_id="rollout")
    writer_block = block(writer.requests[0])
    assert FINDING in writer_block and "agent: researcher" in writer_block  # attributed to the teammate
    stored = [m for m in memory.list(user_id="ops").memories if m.content == FINDING]
    assert len(stored) == 1
    assert stored[0].metadata["agent_id"] == "researcher" and stored[0].metadata["team_id"] == "platform"
    assert stored[0].metadata["task_id"] == "rollout"
    # a node's input is the orchestrator's text (task + teammates' outputs): not stored as a turn
    roles = {m.metadata.get("role") for m in memory.list(user_id="ops").memories}
    assert roles == {"assistant"}


def test_a_later_session_resumes_with_its_own_and_the_teams_findings(
    memory: VectorMemory, plugin: MemoryPlugin
) -> None:
    researcher, writer = answering(FINDING), answering("Draft: throttle to 90 requests per minute.")
    run_team(plugin, researcher, writer, conversation_id="run-1", team_id="platform", end_session=True)
    assert plugin.flush(timeout=30) == 0
    summaries = memory.list(user_id="ops", memory_types=["summary"]).memories
    assert len(summaries) == 1  # one per team conversation, not one per node
    assert summaries[0].metadata["team_id"] == "platform" and "agent_id" not in summaries[0].metadata

    # days later, the researcher alone resumes the task in a new conversation
    resumed = answering("Resuming.")
    agent("researcher", resumed, plugin)(
        "Where did we get to on the vendor API rollout?",
        invocation_state={"user_id": "ops", "conversation_id": "run-2", "team_id": "platform"},
    )
    seen = block(resumed.requests[0])
    assert FINDING in seen  # its own prior finding
    assert "throttle to 90 requests per minute" in seen  # and the writer's

    # another team of the same user does not see them
    outsider = answering("Hi.")
    agent("auditor", outsider, plugin)(
        "Where did we get to on the vendor API rollout?",
        invocation_state={"user_id": "ops", "conversation_id": "run-3", "team_id": "finance"},
    )
    assert "vendor API allows" not in outsider.requests[0].system_text()


def test_a_team_run_without_identity_fails_before_any_node_runs(plugin: MemoryPlugin) -> None:
    researcher, writer = answering(FINDING), answering("Draft.")
    with pytest.raises(Exception, match="conversation_id"):
        run_team(plugin, researcher, writer)
    assert researcher.requests == [] and writer.requests == []
