r"""The nightly maintenance job: decay, consolidation of each user's episodes, expiry.

What an operator schedules (cron, a Lambda on EventBridge, a Kubernetes CronJob) while
agents keep reading and writing:

1. decay: memories nobody wrote or recalled for 30 days lose confidence, so they sink
   in recall;
2. consolidate: each user's repeated episodes ("I'm flying to Lisbon on June 12th",
   told in three conversations) are merged by a model into one semantic memory that
   lists the episodes it replaces (``consolidated_from``);
3. expire: memories past their lifetime (episodes live 30 days by default) are
   deleted; recall already ignored them, this reclaims the space.

``--seed`` first fills the store with 60 simulated days of two users' memories (written
through an injected clock), so every step has work to do; a temporary store is always
seeded. ``--dry-run`` reports what each step would do and changes nothing.

Run offline (a scripted model merges, the bundled embedder runs locally):

    python examples/maintenance_job.py [--store PATH] [--seed] [--dry-run]

Against Amazon S3 Vectors, or a local ``strands-memory serve`` endpoint:

    python examples/maintenance_job.py --backend s3vectors --bucket memories \\
        --endpoint-url http://127.0.0.1:8080 --seed

Merge with a real LLM (see examples/_model.py for the providers):

    STRANDS_MEMORY_EXAMPLE_MODEL=us.amazon.nova-lite-v1:0 python examples/maintenance_job.py
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _model import example_model

from strands_vector_memory import MemoryType, NewMemory, Scope, VectorMemory
from strands_vector_memory.strands_agents import ModelMerger, ModelRequest

DAY = 86_400.0
DAYS = 60  # how much history --seed simulates

# (day of the 60, user, memory type, text, lifetime in days or None for the policy's default)
SEED: list[tuple[int, str, str, str, float | None]] = [
    (1, "bob", "semantic", "Bob is training for the Berlin marathon in September.", None),
    (2, "alice", "semantic", "Alice is allergic to peanuts.", None),
    (3, "alice", "episodic", "I need a restaurant for Friday night.", None),
    (4, "alice", "semantic", "Alice prefers aisle seats on long flights.", None),
    (5, "bob", "episodic", "I finished the quarterly report.", None),
    (8, "alice", "episodic", "Can you check the weather in Porto?", None),
    (10, "alice", "summary", "Alice planned a weekend in Porto and booked a table at a seafood place.", None),
    (12, "bob", "episodic", "Which running shoes are good for long distances?", None),
    (15, "alice", "episodic", "Book a taxi to the airport for 6am.", None),
    (20, "bob", "episodic", "Remind me to renew my passport.", None),
    (22, "alice", "episodic", "Find me a dentist near Alfama.", None),
    (30, "bob", "semantic", "Bob's gym is closed for renovation for two weeks.", 14),
    (33, "bob", "episodic", "Our team standup moved to 9:30.", None),
    (35, "alice", "episodic", "I'm flying to Lisbon on June 12th.", None),
    (38, "bob", "episodic", "I moved my gym sessions to Monday evenings.", None),
    (40, "alice", "episodic", "My daughter Maya starts school in September.", None),
    (42, "alice", "episodic", "My flight to Lisbon is on the 12th of June.", None),
    (46, "bob", "episodic", "Gym is on Monday evenings now.", None),
    (48, "bob", "episodic", "The daily standup is at 9:30 now.", None),
    (50, "alice", "episodic", "Reminder: Lisbon trip, flying out June 12th.", None),
    (52, "alice", "episodic", "Maya starts school this September.", None),
    (54, "bob", "episodic", "My gym night is Monday evening from now on.", None),
    (55, "alice", "episodic", "What's a good book on Roman history?", None),
    (56, "bob", "episodic", "Standup starts at 9:30 every day.", None),
    (57, "alice", "episodic", "Maya, my daughter, begins school in September.", None),
]
# What the scripted model answers for each merge (a real LLM writes its own).
MERGES = {
    "Lisbon": "The user is flying to Lisbon on June 12th (mentioned three times).",
    "Maya": "The user's daughter Maya starts school in September.",
    "gym": "The user's gym sessions are on Monday evenings.",
    "standup": "The team's daily standup is at 9:30.",
}


def script(request: ModelRequest) -> str:
    """The scripted merger: one statement per seeded topic (a real LLM replaces all of this)."""
    texts = re.findall(r"^\d+\. (.*)$", request.last_user_text(), flags=re.MULTILINE)
    topic = next((word for word in MERGES if all(word.lower() in t.lower() for t in texts)), None)
    return MERGES[topic] if topic else " ".join(texts)


class SimulatedClock:
    """Epoch seconds that the seeding moves forward by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        """Now, as the memory sees it."""
        return self.now


def arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["embedded", "s3vectors"], default="embedded")
    parser.add_argument("--store", type=Path, help="embedded store directory (default: a temporary, seeded one)")
    parser.add_argument("--bucket", help="S3 Vectors bucket (--backend s3vectors)")
    parser.add_argument("--endpoint-url", help="another S3 Vectors endpoint, e.g. strands-memory serve")
    parser.add_argument("--region", help="AWS region (default: the usual AWS configuration)")
    parser.add_argument("--seed", action="store_true", help="first fill the store with 60 days of example memories")
    parser.add_argument("--dry-run", action="store_true", help="report what each step would do; change nothing")
    args = parser.parse_args(argv)
    if args.backend == "s3vectors" and not args.bucket:
        parser.error("--backend s3vectors needs --bucket")
    return args


@contextmanager
def open_store(args: argparse.Namespace, **options: Any) -> Iterator[VectorMemory]:
    """The store named on the command line (``options`` go to ``VectorMemory``)."""
    if args.backend == "s3vectors":
        memory = VectorMemory.from_s3_vectors(
            args.bucket, endpoint_url=args.endpoint_url, region=args.region, create_bucket=args.seed, **options
        )
    else:
        memory = VectorMemory.open(args.store, **options)
    with memory:
        yield memory


def seed(memory: VectorMemory, clock: SimulatedClock, end: float) -> None:
    """Write ``SEED`` day by day, as agents would have over the last 60 days."""
    for day, user, kind, text, lifetime in SEED:
        clock.now = end - (DAYS - day) * DAY
        agent = "concierge" if user == "alice" else "coach"
        item = NewMemory(text, memory_type=kind, ttl=lifetime * DAY if lifetime else None)
        # one conversation per day: the same fact told again another day is another episode
        memory.remember_many([item], scope=Scope(user_id=user, agent_id=agent, conversation_id=f"day-{day}"))


def census(memory: VectorMemory) -> str:
    """What the store holds, in one line."""
    stats = memory.stats()
    types = ", ".join(f"{n} {t}" for t, n in stats.by_type.items())
    return f"{stats.total} live{f' ({types})' if types else ''}, {stats.expired} expired"


def nightly(memory: VectorMemory, merger: ModelMerger, *, dry_run: bool) -> dict[str, int]:
    """The job itself; returns its counts."""
    lost, merged_, deleted_ = (
        ("would lose", "would be merged", "would be deleted") if dry_run else ("lost", "merged", "deleted")
    )
    decayed = memory.decay(window=30 * DAY, half_life=90 * DAY, dry_run=dry_run)
    print(f"1. decay: {decayed.decayed} of {decayed.scanned} memories idle for 30+ days {lost} confidence")

    merged = episodes = 0
    users = [user for user in memory.stats().by_user if user != "-"]  # a big store would list its users itself
    for user in users:
        report = memory.consolidate(merger, user_id=user, dry_run=dry_run)
        for cluster in report.clusters:
            if dry_run or cluster.merged is not None:
                episodes += len(cluster.keys)
                into = "(dry run)" if dry_run else repr(cluster.merged)
                print(f"   {user}: {len(cluster.keys)} episodes like {cluster.texts[0]!r} -> {into}")
        merged += len(report.clusters) if dry_run else report.merged
    print(f"2. consolidate: {episodes} episodes of {len(users)} users {merged_} into {merged} memories")

    expired = memory.expire(dry_run=dry_run)
    deleted = expired.expired if dry_run else expired.deleted
    print(f"3. expire: {deleted} of {expired.scanned} memories past their lifetime {deleted_}")
    return {"decayed": decayed.decayed, "episodes": episodes, "merged": merged, "expired": deleted}


def main(argv: list[str] | None = None) -> int:
    """Seed if asked, run the job, check its numbers."""
    args = arguments(argv)
    merger = ModelMerger(example_model(script))
    with tempfile.TemporaryDirectory(prefix="strands-memory-example-") as tmp:
        if args.backend == "embedded" and args.store is None:
            args.store, args.seed = Path(tmp) / "store", True
        end = time.time()
        if args.seed:
            clock = SimulatedClock(end - DAYS * DAY)
            with open_store(args, clock=clock) as memory:
                seed(memory, clock, end)
            print(f"\n== Seeded {len(SEED)} memories of alice and bob over {DAYS} simulated days")

        with open_store(args) as memory:
            where = args.bucket if args.backend == "s3vectors" else args.store
            print(f"\n== Nightly maintenance of {where}{' (dry run)' if args.dry_run else ''}")
            before = census(memory)
            print(f"before: {before}")
            counts = nightly(memory, merger, dry_run=args.dry_run)
            after = census(memory)
            print(f"after:  {after}")
            merges = [m for m in memory.iter_memories() if m.metadata.get("consolidated_from")]
            left = memory.expire(dry_run=True).expired

    failures = []
    if args.seed and not all(counts.values()):
        failures.append(f"every step should have had work on a seeded store: {counts}")
    if args.dry_run and after != before:
        failures.append("a dry run changed the store")
    if not args.dry_run and (left or (counts["merged"] and len(merges) < counts["merged"])):
        failures.append("expired memories are left, or the merged memories are missing")
    if not args.dry_run and any(m.memory_type is not MemoryType.SEMANTIC for m in merges):
        failures.append("a merged memory should be semantic")
    for failure in failures:
        print(f"FAILED: {failure}")
    if failures:
        return 1
    print("\nOK: " + ("the dry run changed nothing" if args.dry_run else "nothing expired is left"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
