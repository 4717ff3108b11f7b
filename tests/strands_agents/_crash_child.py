"""A process that ends a session and is killed while its summary is being written.

Run by test_crash.py: ``python _crash_child.py STORE OUTBOX``. It prints ENDED once
``agent(..., end_session=True)`` has returned, and SUMMARISING when the worker is
inside the summary model call, which then never returns (the parent kills it there).
"""

from __future__ import annotations

import sys
import threading

from strands import Agent

from strands_vector_memory import VectorMemory
from strands_vector_memory.strands_agents import MemoryPlugin, ModelRequest, ScriptedModel
from strands_vector_memory.strands_agents._summary import SUMMARY_SYSTEM_PROMPT

never = threading.Event()


def respond(request: ModelRequest) -> str:
    if request.system_text() == SUMMARY_SYSTEM_PROMPT:
        print("SUMMARISING", flush=True)
        never.wait()
    return "Noted, Oslo in March."


def main() -> None:
    store, outbox = sys.argv[1], sys.argv[2]
    plugin = MemoryPlugin(VectorMemory.open(store), outbox=outbox, idle_timeout=None)
    agent = Agent(model=ScriptedModel(respond=respond), plugins=[plugin], callback_handler=None, retry_strategy=None)
    state = {"user_id": "alice", "conversation_id": "move", "end_session": True}
    agent("I'm moving to Oslo in March.", invocation_state=state)
    print("ENDED", flush=True)
    never.wait()


if __name__ == "__main__":
    main()
