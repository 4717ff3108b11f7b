"""kill -9 during consolidation: duplicates at worst, never a lost memory; the next run cleans up.

A child process consolidates a real embedded store and is killed (by its own backend at
the first delete, or by this process at a random moment); this process then opens the
store and checks that every original episode is either still there or listed in the
provenance of a merged memory, and that a normal run afterwards converges to exactly one
merged memory per cluster.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from strands_vector_memory import EmbeddedBackend, Field, MemoryType, MiniLMEmbedder, Scope, VectorMemory
from strands_vector_memory.memory._consolidate import merged_key

from ..strands_agents.test_crash import wait_for
from ._consolidate_crash_child import JoinMerger

CHILD = Path(__file__).with_name("_consolidate_crash_child.py")

CLUSTERS = (
    (
        "We are flying to Lisbon on June 12th.",
        "Our flight to Lisbon leaves on the 12th of June.",
        "The Lisbon trip starts with a flight on June 12.",
    ),
    (
        "I am allergic to peanuts.",
        "Peanuts give me an allergic reaction.",
        "I have a peanut allergy, so no satay for me.",
    ),
    (
        "My daughter's birthday is on October 2nd.",
        "Our daughter turns ten on the 2nd of October.",
        "October 2nd is my daughter's birthday.",
    ),
    (
        "The Apollo launch moved to September 3rd.",
        "Apollo now launches on the 3rd of September.",
        "We pushed the Apollo launch to September 3.",
    ),
)
UNRELATED = ("My favourite band is Radiohead.", "I am learning to play the cello.")

#: Longest a child may take before it counts as hung (it needs about a second).
GUARD = 60.0


def seed(store: Path, embedder: MiniLMEmbedder) -> dict[str, str]:
    """The episodes (key -> text), one a minute over the last hour (the child runs on real time)."""
    now = [time.time() - 3600]
    with VectorMemory(EmbeddedBackend(store), embedder, clock=lambda: now[0]) as memory:
        episodes = {}
        for number, text in enumerate([t for cluster in CLUSTERS for t in cluster] + list(UNRELATED)):
            now[0] += 60
            stored = memory.remember(text, scope=Scope(user_id="alice", conversation_id=f"session-{number}"))
            episodes[stored.key] = text
        return episodes


def start(store: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-X", "faulthandler", str(CHILD), str(store), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(child: subprocess.Popen[str]) -> tuple[int, str]:
    """The child's exit code and stderr; a child still running after GUARD seconds fails the test."""
    try:
        code = child.wait(GUARD)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGABRT)
        child.wait(30)
        stacks = child.stderr.read() if child.stderr else ""
        raise AssertionError(f"the child hung; its threads:\n{stacks}") from None
    return code, child.stderr.read() if child.stderr else ""


def snapshot(store: Path, embedder: MiniLMEmbedder) -> dict[str, dict[str, object]]:
    with VectorMemory(EmbeddedBackend(store), embedder) as memory:
        return {m.key: dict(m.metadata) for m in memory.iter_memories(user_id="alice", include_expired=True)}


def assert_nothing_lost(held: dict[str, dict[str, object]], episodes: dict[str, str], context: str) -> None:
    """Every episode is still there, or a merged memory lists it and holds its text."""
    for key, text in episodes.items():
        if key in held:
            continue
        merges = [m for m in held.values() if key in m.get(Field.CONSOLIDATED_FROM, [])]  # type: ignore[operator]
        assert merges, f"{context}: episode {text!r} is gone and no merged memory lists it"
        assert all(text in str(m[Field.CONTENT]) for m in merges), context


def assert_converged(held: dict[str, dict[str, object]], episodes: dict[str, str]) -> None:
    """One merged memory per cluster holding every text, the unrelated episodes, nothing else."""
    by_text = {text: key for key, text in episodes.items()}
    expected = {merged_key([by_text[t] for t in cluster]): cluster for cluster in CLUSTERS}
    unrelated = {by_text[t] for t in UNRELATED}
    assert set(held) == set(expected) | unrelated
    for key, cluster in expected.items():
        assert held[key][Field.MEMORY_TYPE] == MemoryType.SEMANTIC.value
        assert held[key][Field.CONSOLIDATED_FROM] == [by_text[t] for t in cluster]
        assert held[key][Field.CONTENT] == " / ".join(cluster)


def run_to_completion(store: Path, embedder: MiniLMEmbedder) -> int:
    """A normal consolidation run in this process; returns how many leftovers it recovered."""
    with VectorMemory(EmbeddedBackend(store), embedder) as memory:
        return memory.consolidate(JoinMerger(), user_id="alice").recovered


def test_a_kill_between_write_and_delete_leaves_duplicates_that_the_next_run_removes(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    store = tmp_path / "store"
    episodes = seed(store, embedder)
    with start(store, "kill-at-delete") as child:
        wait_for(child, {"READY"}, timeout=GUARD)
        code, stderr = finish(child)
    assert code == -signal.SIGKILL, stderr

    held = snapshot(store, embedder)
    assert set(episodes) <= set(held)  # every original is still there...
    merges = [k for k, m in held.items() if Field.CONSOLIDATED_FROM in m]
    assert len(merges) == 1  # ...and so is the one merge written before the kill: duplicates, no gap
    assert_nothing_lost(held, episodes, "after the kill")

    assert run_to_completion(store, embedder) == 3  # the first cluster's originals, left by the dead run
    assert_converged(snapshot(store, embedder), episodes)
    assert run_to_completion(store, embedder) == 0


def test_a_kill_at_every_change_in_turn_loses_nothing(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    # 4 clusters: a put (the merge) then a delete (its episodes) each, so 8 changes; the 9th never comes.
    for at in range(1, 10):
        store = tmp_path / f"store-{at}"
        episodes = seed(store, embedder)
        with start(store, f"kill-at:{at}") as child:
            code, stderr = finish(child)
        assert code == (0 if at == 9 else -signal.SIGKILL), f"change {at}: {stderr}"
        held = snapshot(store, embedder)
        merges = [k for k, m in held.items() if Field.CONSOLIDATED_FROM in m]
        assert len(merges) == at // 2, f"change {at}"  # every merge before the kill, none after
        assert_nothing_lost(held, episodes, f"killed at change {at}")
        assert run_to_completion(store, embedder) == (3 if at % 2 == 0 and at < 9 else 0)
        assert_converged(snapshot(store, embedder), episodes)


def test_kills_at_random_moments_lose_nothing(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    seed_value = int(os.environ.get("CONSOLIDATE_CRASH_SEED", "20250611"))
    rng = random.Random(seed_value)
    print(f"random kill seed: {seed_value} (set CONSOLIDATE_CRASH_SEED to replay)")
    outcomes = []
    for run in range(6):
        store = tmp_path / f"store-{run}"
        episodes = seed(store, embedder)
        delay = rng.uniform(0.0, 0.3)
        with start(store, "run") as child:
            wait_for(child, {"READY"}, timeout=GUARD)
            time.sleep(delay)
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
            code, stderr = finish(child)
        assert code in (0, -signal.SIGKILL), stderr
        held = snapshot(store, embedder)
        merges, left = sum(Field.CONSOLIDATED_FROM in m for m in held.values()), len(set(episodes) & set(held))
        state = f"killed with {merges} merges written and {left} episodes left" if code else "finished"
        outcomes.append(f"run {run}: delay {delay:.3f}s, {state}")
        assert_nothing_lost(held, episodes, f"seed {seed_value}, {outcomes[-1]}")
        run_to_completion(store, embedder)
        assert_converged(snapshot(store, embedder), episodes)
    print("\n".join(outcomes))
