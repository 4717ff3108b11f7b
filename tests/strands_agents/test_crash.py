"""kill -9 after end_session returned: the next process stores the summary, exactly once."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from strands_vector_memory import EmbeddedBackend, MiniLMEmbedder, VectorMemory
from strands_vector_memory.strands_agents import MemoryPlugin, ScriptedModel

CHILD = Path(__file__).with_name("_crash_child.py")


def wait_for(process: subprocess.Popen[str], wanted: set[str], timeout: float = 120.0) -> None:
    """Read the child's lines until ``wanted`` were all printed; a silent child fails the test, with its stacks.

    Lines are read on a thread so a stalled child cannot block the test. The child
    runs with faulthandler on: if it stalls, SIGABRT makes it print every thread's
    stack to stderr, which the failure message then shows.
    """
    stdout = process.stdout
    assert stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in iter(stdout.readline, "")], daemon=True).start()
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while not wanted <= seen:
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            if process.poll() is not None and lines.empty():
                stderr = process.stderr.read() if process.stderr else ""
                raise AssertionError(f"child exited early ({process.returncode}): {stderr}") from None
            if time.monotonic() < deadline:
                continue
            process.send_signal(signal.SIGABRT)
            process.wait(30)
            stacks = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"child printed only {seen} in {timeout:g}s; its threads:\n{stacks}") from None
        seen.add(line.strip())


def summaries(memory: VectorMemory) -> list[str]:
    return [m.content for m in memory.list(user_id="alice", memory_types=["summary"]).memories]


def test_a_killed_process_loses_no_summary_and_the_restart_stores_it_once(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    store, outbox = tmp_path / "store", tmp_path / "outbox.sqlite3"
    with subprocess.Popen(
        [sys.executable, "-X", "faulthandler", str(CHILD), str(store), str(outbox)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            wait_for(child, {"ENDED", "SUMMARISING"})  # end_session returned; the summary is mid-flight
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(30)
    assert child.returncode == -signal.SIGKILL
    with VectorMemory(EmbeddedBackend(store), embedder) as memory:
        check_restart(memory, outbox)


def check_restart(memory: VectorMemory, outbox: Path) -> None:
    assert summaries(memory) == []  # the kill came before the summary was stored

    model = ScriptedModel(respond=lambda request: "Alice is moving to Oslo in March.")
    restarted = MemoryPlugin(memory, outbox=outbox, summary_model=model, idle_timeout=None)
    assert restarted.flush(timeout=60) == 0
    restarted.close(timeout=5)
    assert summaries(memory) == ["Alice is moving to Oslo in March."]
    summary_calls = [r for r in model.requests if "I'm moving to Oslo in March." in r.text()]
    assert len(summary_calls) == 1

    again = MemoryPlugin(memory, outbox=outbox, summary_model=model, idle_timeout=None)
    assert again.flush(timeout=60) == 0  # nothing left to redo
    again.close(timeout=5)
    assert summaries(memory) == ["Alice is moving to Oslo in March."]
    turns = memory.list(user_id="alice", memory_types=["episodic"]).memories
    assert sorted(m.content for m in turns) == ["I'm moving to Oslo in March.", "Noted, Oslo in March."]
