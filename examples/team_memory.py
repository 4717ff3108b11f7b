"""Team memory: a researcher and a writer in a Strands graph share what they found.

Both agents carry the same ``MemoryPlugin``; the graph carries ``TeamMemory``, which
stores each node's turns as soon as it finishes and summarises the run once at the end.
Two patterns:

(a) shared task state: in the same run, the writer's memories already hold what the
    researcher just found;
(b) cross-session continuity: a later run (a new conversation, same team and task)
    starts from both agents' earlier work.

Run offline (a scripted model plays the LLM, the bundled embedder runs locally):

    python examples/team_memory.py [--store PATH]

Run with a real LLM (see examples/_model.py for the providers):

    STRANDS_MEMORY_EXAMPLE_MODEL=openai:gpt-4o python examples/team_memory.py
"""

from __future__ import annotations

from _model import example_model, example_store, memory_block, record_model_input
from strands import Agent
from strands.models import Model
from strands.multiagent import GraphBuilder
from strands.multiagent.graph import Graph

from strands_vector_memory.strands_agents import SUMMARY_SYSTEM_PROMPT, MemoryPlugin, ModelRequest, TeamMemory

PROMPTS = {
    "researcher": "You are the researcher of a blog team: find facts for the post.",
    "writer": "You are the writer of a blog team: write the post from the team's findings.",
}
FINDINGS = [  # what the scripted researcher "finds", one per run
    "Finding: agents recall better from one memory per turn than from one summary per chat.",
    "Finding: recall runs locally and adds milliseconds to a turn, not another LLM call.",
]


def script(request: ModelRequest) -> str:
    """What the scripted model answers (a real LLM replaces all of this)."""
    system = request.system_text()
    if system == SUMMARY_SYSTEM_PROMPT:
        return "The blog team researched agent memory and drafted a post about it."
    if system.startswith(PROMPTS["researcher"]):
        return FINDINGS[1] if "Finding:" in memory_block(system) else FINDINGS[0]
    found = [f for f in FINDINGS if f in memory_block(system)]
    return "Draft: " + (" ".join(f.removeprefix("Finding: ") for f in found) or "(no findings to write from)")


def team(model: Model, plugin: MemoryPlugin) -> tuple[Graph, dict[str, list[str]]]:
    """A fresh researcher -> writer graph, and what each agent's model is shown."""
    builder = GraphBuilder()
    shown = {}
    for name, prompt in PROMPTS.items():
        agent = Agent(name=name, model=model, plugins=[plugin], system_prompt=prompt, callback_handler=None)
        shown[name] = record_model_input(agent)
        builder.add_node(agent, name)
    builder.add_edge("researcher", "writer")
    builder.set_plugins([TeamMemory(plugin)])
    builder.set_execution_timeout(600)
    return builder.build(), shown


def main(argv: list[str] | None = None) -> int:
    """Run the team twice and print what each agent was shown."""
    with example_store(argv, __doc__.splitlines()[0]) as memory:
        model = example_model(script)
        # Each agent's own turns of the current run are in its history; a teammate's are
        # recalled from memory (stored when the teammate's node finished).
        plugin = MemoryPlugin(memory)
        who = {"user_id": "alice", "team_id": "blog-team", "task_id": "post-42"}

        print("\n== Run 1: (a) shared task state")
        graph, shown = team(model, plugin)
        state = {**who, "conversation_id": "run-1", "end_session": True}
        result = graph("Write a post on memory for agents.", invocation_state=state)
        for name in PROMPTS:
            print(f"{name}: {str(result.results[name].result).strip()}")
        print(f"-- the writer's memories, during the same run:\n{memory_block(shown['writer'][-1])}")

        plugin.flush()  # the run's summary (normally a background thread writes it)

        print("\n== Run 2, days later: (b) cross-session continuity")
        graph, shown = team(model, plugin)
        state = {**who, "conversation_id": "run-2", "end_session": True}
        result = graph("Add a section on speed to the post.", invocation_state=state)
        for name in PROMPTS:
            print(f"-- the {name}'s memories:\n{memory_block(shown[name][-1])}")
            print(f"{name}: {str(result.results[name].result).strip()}")
        plugin.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
