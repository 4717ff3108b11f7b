"""Procedural memory: an orchestrator learns how to cut a release once, then follows it from memory.

Run 1: the team lead walks the orchestrator through a release (run the tests, bump the
version, tag, publish the notes). The agent does the work with its tools and, because
it is told to keep what it learns, saves the steps with the plugin's ``remember`` tool
as a ``procedural`` memory: the model decides what to keep, not the application.

Run 2, days later (a new agent and conversation, same team and user): the lead only
says "Cut release 2.4.0". The plugin recalls the procedure into the model's system
prompt, and the agent calls the same tools in the same order.

Run offline (a scripted model plays the LLM, the bundled embedder runs locally):

    python examples/procedural_memory.py [--store PATH]

Run with a real LLM (see examples/_model.py for the providers):

    STRANDS_MEMORY_EXAMPLE_MODEL=anthropic:claude-sonnet-4-20250514 python examples/procedural_memory.py
"""

from __future__ import annotations

import re

from _model import example_model, example_store, memory_block, print_tool_calls, record_model_input
from strands import Agent, tool
from strands.models import Model

from strands_vector_memory.strands_agents import MemoryPlugin, ModelRequest, ToolCall

SYSTEM_PROMPT = (
    "You are the release orchestrator of the platform team. Do the work with your tools. When you learn how "
    'to do a task, save the steps with the remember tool (memory_type "procedural") so you can do it alone next time.'
)
FIRST = (
    "Cut release 2.3.0. Our process: run the tests, bump the version, create the tag, "
    "then publish the release notes. Remember how, for next time."
)
SECOND = "Cut release 2.4.0."
STEPS = ("run_tests", "bump_version", "create_tag", "publish_notes")  # the tools, in the lead's order
PROCEDURE = (
    "How to cut a release: 1. run_tests and stop if any fail; 2. bump_version to the new version; "
    "3. create_tag for the version; 4. publish_notes for the tag."
)
done: list[str] = []  # the tools called during the current run, in order


@tool
def run_tests() -> str:
    """Run the test suite."""
    done.append("run_tests")
    return "412 passed, 0 failed"


@tool
def bump_version(version: str) -> str:
    """Set the package version.

    Args:
        version: The new version, e.g. 2.4.0.
    """
    done.append("bump_version")
    return f"version is now {version}"


@tool
def create_tag(version: str) -> str:
    """Tag the current commit as a release.

    Args:
        version: The version to tag.
    """
    done.append("create_tag")
    return f"tagged v{version}"


@tool
def publish_notes(version: str) -> str:
    """Publish the release notes of a tagged version.

    Args:
        version: The version whose notes to publish.
    """
    done.append("publish_notes")
    return f"notes for v{version} published"


def procedures(block: str) -> list[str]:
    """The procedural memories in a ``<memories>`` block (the content line after each label)."""
    return re.findall(r"\| procedural \|[^\n]*\n  \"([^\n]*)\"", block)


def script(request: ModelRequest) -> str | ToolCall | list[str | ToolCall]:
    """What the scripted model answers (a real LLM replaces all of this)."""
    task = next(str(b["text"]) for b in request.messages[0]["content"] if "text" in b)
    version = re.findall(r"\d+\.\d+\.\d+", task)[-1]
    called = [b["toolUse"]["name"] for m in request.messages for b in m["content"] if "toolUse" in b]
    if task == FIRST:  # the lead said the steps: do them, then save them
        plan: list[str] = [*STEPS, "remember"]
    else:  # follow the procedure recalled into the system prompt, in its order
        known = procedures(memory_block(request.system_text()))
        if not known:
            return "I don't know our release process yet: what are the steps?"
        plan = sorted((step for step in STEPS if step in known[0]), key=known[0].index)
    if len(called) < len(plan):
        step = plan[len(called)]
        if step == "remember":
            return ToolCall("remember", {"content": PROCEDURE, "memory_type": "procedural"})
        return ToolCall(step, {} if step == "run_tests" else {"version": version})
    saved = " I saved the procedure for next time." if "remember" in called else ""
    return f"Released {version}: " + ", then ".join(s for s in called if s != "remember") + "." + saved


def orchestrator(model: Model, plugin: MemoryPlugin) -> Agent:
    """A fresh orchestrator agent (as after a restart)."""
    tools = [run_tests, bump_version, create_tag, publish_notes]
    agent = Agent(
        name="orchestrator",
        model=model,
        plugins=[plugin],
        tools=tools,
        system_prompt=SYSTEM_PROMPT,
        callback_handler=None,
    )
    print_tool_calls(agent)
    return agent


def main(argv: list[str] | None = None) -> int:
    """Run the two releases and check that the second one followed the remembered procedure."""
    with example_store(argv, __doc__.splitlines()[0]) as memory:
        model = example_model(script)
        # Only what the model chooses to remember is stored (no per-turn memories here).
        plugin = MemoryPlugin(memory, tools=["remember"], store_turns=False, summarise=False)
        who = {"user_id": "maria", "team_id": "platform"}

        print("\n== Run 1: the lead walks the orchestrator through a release")
        done.clear()
        print(f"maria: {FIRST}")
        reply = orchestrator(model, plugin)(FIRST, invocation_state={**who, "conversation_id": "release-2.3.0"})
        print(f"orchestrator: {str(reply).strip()}")
        stored = memory.list(user_id="maria", memory_types=["procedural"]).memories
        for item in stored:
            print(f'-- stored ({item.metadata.get("source")}, procedural): "{item.content}"')

        print("\n== Run 2, days later: a new conversation")
        done.clear()
        agent = orchestrator(model, plugin)
        shown = record_model_input(agent)
        print(f"maria: {SECOND}")
        reply = agent(SECOND, invocation_state={**who, "conversation_id": "release-2.4.0"})
        print(f"-- memories in the model's first input (its system prompt):\n{memory_block(shown[0])}")
        print(f"orchestrator: {str(reply).strip()}")
        plugin.close()

        recalled = procedures(memory_block(shown[0])) if shown else []
        if not stored or not recalled:
            print("\nFAILED: the procedure was not stored, or not recalled into run 2's input")
            return 1
        if tuple(done) != STEPS:
            print(f"\nFAILED: run 2 called {done}, not the procedure's steps {list(STEPS)}")
            return 1
        print(f"\nOK: run 2 followed the remembered procedure in order: {' -> '.join(done)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
