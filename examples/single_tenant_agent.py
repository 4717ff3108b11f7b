"""One user, two conversations: what Alice said in the first one is remembered in the second.

Conversation 1: Alice mentions her allergies and a trip, and ends the session. The
plugin stores each turn, plus a summary written by the agent's own model. Conversation
2 (a new agent, as after a restart) asks for snack ideas; the plugin recalls the
relevant memories and adds them to the system prompt, so the answer can use them.

Run offline (a scripted model plays the LLM, the bundled embedder runs locally):

    python examples/single_tenant_agent.py [--store PATH]

Run with a real LLM (see examples/_model.py for the providers):

    STRANDS_MEMORY_EXAMPLE_MODEL=us.anthropic.claude-sonnet-4-20250514-v1:0 python examples/single_tenant_agent.py
"""

from __future__ import annotations

from _model import example_model, example_store, memory_block, record_model_input
from strands import Agent

from strands_vector_memory.strands_agents import SUMMARY_SYSTEM_PROMPT, MemoryPlugin, ModelRequest

SYSTEM_PROMPT = "You are a helpful travel assistant. Use what you remember about the user."
CONVERSATION_1 = {  # what Alice says -> what the scripted model replies
    "Hi! For the future: I'm allergic to peanuts and shellfish.": "Got it, no peanuts or shellfish.",
    "I'm flying to Lisbon on May 14th for a week, staying in Alfama.": "Lovely, Alfama is a great base.",
}
QUESTION = "I'm packing snacks for my flight next week. Any suggestions?"


def script(request: ModelRequest) -> str:
    """What the scripted model answers (a real LLM replaces all of this)."""
    if request.system_text() == SUMMARY_SYSTEM_PROMPT:  # the plugin asks for a conversation summary
        said = [line.split(" user: ", 1)[1] for line in request.text().splitlines() if " user: " in line]
        return "The user said: " + " ".join(said)
    if request.last_user_text() in CONVERSATION_1:
        return CONVERSATION_1[request.last_user_text()]
    remembered = memory_block(request.system_text())
    if "peanuts" in remembered and "Lisbon" in remembered:
        return "For your Lisbon flight: fruit, rice cakes and cheese; nothing with peanuts or shellfish."
    return "Any snacks you like!"


def main(argv: list[str] | None = None) -> int:
    """Run both conversations and print what the model was shown."""
    with example_store(argv, __doc__.splitlines()[0]) as memory:
        model = example_model(script)
        plugin = MemoryPlugin(memory)
        alice = {"user_id": "alice"}

        print("\n== Conversation 1")
        agent = Agent(model=model, plugins=[plugin], system_prompt=SYSTEM_PROMPT, callback_handler=None)
        for i, text in enumerate(CONVERSATION_1):
            last = i == len(CONVERSATION_1) - 1
            reply = agent(text, invocation_state={**alice, "conversation_id": "c1", "end_session": last})
            print(f"alice: {text}\nagent: {str(reply).strip()}")
        plugin.flush()  # store the turns and the summary now (normally a background thread does it)

        print("\n== Conversation 2 (a new agent)")
        agent = Agent(model=model, plugins=[plugin], system_prompt=SYSTEM_PROMPT, callback_handler=None)
        shown = record_model_input(agent)
        reply = agent(QUESTION, invocation_state={**alice, "conversation_id": "c2"})
        print(f"alice: {QUESTION}")
        print(f"-- memories the model was shown (in its system prompt):\n{memory_block(shown[-1])}")
        print(f"agent: {str(reply).strip()}")
        plugin.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
