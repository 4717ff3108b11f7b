"""Our memory behind the Strands SDK's own ``MemoryManager``, as a ``MemoryStore``.

``VectorMemoryStore`` is fixed to one user when it is built (the SDK's store API does
not say who is calling). Memories get in two ways here: ``store.add`` (a fact your
application already knows) and the SDK's extraction, which hands each finished turn
to the store. In a second agent, the manager recalls the relevant ones and folds them
into the user's message as a ``<memory>`` block, for that model call only.

Run offline (a scripted model plays the LLM, the bundled embedder runs locally):

    python examples/memory_manager_store.py [--store PATH]

Run with a real LLM (see examples/_model.py for the providers):

    STRANDS_MEMORY_EXAMPLE_MODEL=anthropic:claude-sonnet-4-20250514 python examples/memory_manager_store.py
"""

from __future__ import annotations

import asyncio

from _model import example_model, example_store, memory_block, record_model_input
from strands import Agent
from strands.memory import InvocationTrigger, MemoryManager

from strands_vector_memory.strands_agents import ModelRequest, VectorMemoryStore

FACT = "Alice prefers vegetarian restaurants."
FIRST = "Book me somewhere for Friday; I'm meeting my sister Jo, who is coming in from Porto."
QUESTION = "Any dinner ideas for Friday?"


def script(request: ModelRequest) -> str:
    """What the scripted model answers (a real LLM replaces all of this)."""
    if request.last_user_text().startswith(FIRST):
        return "I'll look for a table for two on Friday."
    shown = memory_block(request.last_user_text(), tag="memory")
    if "vegetarian" in shown and "Jo" in shown:
        return "A vegetarian place for you and Jo on Friday: how about Ottolenghi's?"
    return "Any restaurant you like!"


def main(argv: list[str] | None = None) -> int:
    """Add memories, then show them injected into a new agent's model call."""
    with example_store(argv, __doc__.splitlines()[0]) as memory:
        model = example_model(script)
        # extraction: after every invocation the manager hands the turn to store.add_messages.
        store = VectorMemoryStore(memory, user_id="alice", extraction={"trigger": InvocationTrigger()})

        print("\n== Adding memories")
        asyncio.run(store.add(FACT))
        print(f"store.add: {FACT}")
        agent = Agent(model=model, memory_manager=MemoryManager(stores=[store]), callback_handler=None)
        reply = agent(FIRST)  # Agent(...) waits for the extraction writes before returning
        print(f"alice: {FIRST}\nagent: {str(reply).strip()}")

        print("\n== A new agent, later")
        agent = Agent(model=model, memory_manager=MemoryManager(stores=[store]), callback_handler=None)
        shown = record_model_input(agent)
        reply = agent(QUESTION)
        print(f"alice: {QUESTION}")
        print(f"-- memories the model was shown (folded into the user message):\n{memory_block(shown[-1], 'memory')}")
        print(f"agent: {str(reply).strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
