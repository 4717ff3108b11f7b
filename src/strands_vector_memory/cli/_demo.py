"""The demo story: two users, two sessions, recall by meaning, isolation, forgetting.

Why a library function rather than a script: ``strands-memory demo`` calls it, the
tests call it, and it checks its own claims (top hit, isolation, deletion) so a
regression in the engine, the embedder or the scoping shows up as a failed check
and a non-zero exit instead of a transcript that merely looks plausible.

Everything runs on the embedded engine and the bundled model: no network, no keys.
The sentences were chosen with the bundled all-MiniLM-L6-v2 so the paraphrased
question shares no word with the fact it must find. One more detail makes the
isolation check meaningful: for the question about Alice's food, Bob's "Thai curry"
memory scores higher than Alice's peanut allergy, so a scoping leak would show.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..core import Memory, MemoryType
from ..embedders import Embedder
from ..memory import NewMemory, VectorMemory

__all__ = ["Check", "DemoReport", "Opener", "run_demo"]

#: Opens the demo's store with the given embedder (``None``: the bundled model).
Opener = Callable[[Embedder | None], VectorMemory]

ALICE: Final = "alice"
BOB: Final = "bob"
FACT: Final = "Alice is allergic to peanuts"
FOOD_QUESTION: Final = "what foods should be avoided when cooking for her?"

_SESSION_1: Final = {
    ALICE: [
        NewMemory(FACT, memory_type=MemoryType.SEMANTIC, confidence=0.95),
        NewMemory("Alice prefers a window seat on long flights", memory_type=MemoryType.SEMANTIC),
        NewMemory("Alice's daughter starts school in September", memory_type=MemoryType.EPISODIC),
    ],
    BOB: [
        NewMemory("Bob is training for the Berlin marathon", memory_type=MemoryType.EPISODIC),
        NewMemory("Bob's favourite cuisine is Thai curry", memory_type=MemoryType.SEMANTIC),
        NewMemory("Bob likes dark mode in every editor", memory_type=MemoryType.SEMANTIC),
    ],
}

#: (user, question, the stored text that must come first, what the check is called)
_SESSION_2: Final = (
    (ALICE, FOOD_QUESTION, FACT, "alice's food question finds her peanut allergy"),
    (
        ALICE,
        "where does she like to sit on a plane?",
        "Alice prefers a window seat on long flights",
        "alice's plane question finds her seat preference",
    ),
    (
        BOB,
        "what sporting event is he preparing for?",
        "Bob is training for the Berlin marathon",
        "bob's sport question finds his marathon",
    ),
)


@dataclass(frozen=True, slots=True)
class Check:
    """One claim the demo makes, and whether it held."""

    name: str
    passed: bool
    detail: str


@dataclass(slots=True)
class DemoReport:
    """What the demo found; ``passed`` is what the command's exit code reflects."""

    store: Path | str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every check held."""
        return all(check.passed for check in self.checks)

    def check(self, name: str, passed: bool, detail: str) -> None:
        """Record one check."""
        self.checks.append(Check(name, passed, detail))


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def run_demo(
    store: Path | str,
    *,
    console: Console,
    embedder: Embedder | None = None,
    open_memory: Opener | None = None,
) -> DemoReport:
    """Play the story in a fresh store, printing a transcript to ``console``.

    Args:
        store: An empty directory for the embedded store, or (with ``open_memory``)
            a description of where the story is stored.
        console: Where the transcript goes.
        embedder: Defaults to the bundled offline model; injectable to share one
            loaded model between runs.
        open_memory: Opens the store (given the embedder to use) on another backend,
            e.g. an empty index on S3 Vectors; by default the embedded engine at ``store``.

    Returns:
        The checks and whether each held.
    """

    def embedded(embedder: Embedder | None) -> VectorMemory:
        return VectorMemory.open(store, embedder=embedder, default_source="demo")

    opener = open_memory or embedded
    report = DemoReport(store)
    console.print(
        Panel(
            Text.assemble(
                "Two users talk to an agent in two separate sessions. The agent remembers what it learns "
                "per user, then recalls it later by meaning, not by keywords. "
                + ("Offline: embedded store, bundled model.\n" if open_memory is None else "Bundled model.\n"),
                ("store: ", "bold"),
                str(store),
            ),
            title="strands-memory demo",
            border_style="blue",
        )
    )

    # Session 1: the agent stores facts and events it learned about each user.
    console.rule("Session 1: the agent remembers")
    memory = opener(embedder)
    keys: dict[str, list[str]] = {}
    stored: list[Memory] = []
    with memory:
        for user, items in _SESSION_1.items():
            started = time.perf_counter()
            batch = memory.remember_many(items, user_id=user)
            elapsed = (time.perf_counter() - started) * 1000
            keys[user] = [m.key for m in batch]
            stored.extend(batch)
            console.print(Text(f"remembered {len(batch)} memories for {user} in {elapsed:.0f} ms", style="dim"))
        console.print(_stored_table(stored))
        embedder = memory.embedder  # reuse the loaded model in the next session
    alice_keys = set(keys[ALICE])

    # Session 2: a new process opens the same store and recalls by meaning.
    console.rule("Session 2: a new session recalls by meaning (store reopened)")
    with opener(embedder) as memory:
        for user, question, expected, label in _SESSION_2:
            started = time.perf_counter()
            found = memory.recall(question, user_id=user, top_k=3)
            elapsed = (time.perf_counter() - started) * 1000
            console.print(_ask(user, question, elapsed), _recall_table(found, expected))
            top = found[0].content if found else None
            scores = ", ".join(f"{m.score:.2f}" for m in found)
            report.check(label, top == expected, f"scores {scores}" if found else "no results")
            if question == FOOD_QUESTION:
                shared = sorted(_words(question) & _words(expected))
                report.check(
                    "that question shares no word with the fact",
                    not shared,
                    "shared words: " + (", ".join(shared) if shared else "none"),
                )

        # Isolation: Bob's session asks Alice's question and must not see Alice's memories.
        console.rule("Isolation: bob asks alice's question")
        leaked = memory.recall(FOOD_QUESTION, user_id=BOB, top_k=10)
        console.print(_ask(BOB, FOOD_QUESTION, None), _recall_table(leaked, None))
        seen = alice_keys & {m.key for m in leaked}
        report.check(
            "bob never sees alice's memories",
            not seen,
            f"{len(leaked)} results, none of alice's" if not seen else f"{len(seen)} of alice's memories leaked",
        )

        # Forgetting: Alice asks to be forgotten; Bob keeps his memories.
        console.rule("Alice asks to be forgotten")
        deleted = memory.forget(user_id=ALICE)
        after = memory.recall(FOOD_QUESTION, user_id=ALICE, top_k=10)
        bob_left = memory.stats(user_id=BOB).total
        console.print(
            f"forget(user_id='alice') deleted {deleted}; alice now recalls {len(after)}; bob keeps {bob_left}"
        )
        report.check(
            "forgetting alice deletes exactly her memories",
            deleted == len(alice_keys) and not after and bob_left == len(keys[BOB]),
            f"deleted {deleted}, alice recalls {len(after)}, bob keeps {bob_left}",
        )

    console.print(_checks_table(report))
    verdict = "all checks passed" if report.passed else "SOME CHECKS FAILED"
    console.print(Text(verdict, style="bold green" if report.passed else "bold red"))
    return report


def _stored_table(memories: list[Memory]) -> Table:
    table = Table(header_style="bold")
    table.add_column("user", style="green")
    table.add_column("type", style="magenta")
    table.add_column("content")
    for m in memories:
        table.add_row(
            Text(str(m.metadata.get("user_id"))), m.memory_type.value if m.memory_type else "-", Text(m.content)
        )
    return table


def _ask(user: str, question: str, elapsed_ms: float | None) -> Text:
    timing = f"  {elapsed_ms:.0f} ms" if elapsed_ms is not None else ""
    return Text.assemble("recall as ", (user, "bold green"), ": ", (f'"{question}"', "bold"), (timing, "dim"))


def _recall_table(found: list[Memory], expected: str | None) -> Table:
    """Rank, score and text; the memory the question is about is highlighted."""
    table = Table(header_style="bold")
    table.add_column("#", justify="right", style="dim")
    table.add_column("score", justify="right", style="cyan")
    table.add_column("content")
    for rank, m in enumerate(found, start=1):
        style = "bold green" if m.content == expected else ""
        table.add_row(str(rank), f"{m.score:.3f}" if m.score is not None else "-", Text(m.content, style=style))
    return table


def _checks_table(report: DemoReport) -> Table:
    table = Table(title="Checks", title_justify="left", header_style="bold")
    table.add_column("", width=2)
    table.add_column("check")
    table.add_column("detail", style="dim")
    for check in report.checks:
        mark = Text("✓", style="green") if check.passed else Text("✗", style="bold red")
        table.add_row(mark, Text(check.name), Text(check.detail))
    return table
