"""Consolidation on real stores (``any_memory``: the embedded engine, S3 Vectors over HTTP), real embedder.

The merge step is pluggable; here it is a plain recording merger (what a model would be
asked, and a deterministic answer) and, end to end, ``ModelMerger`` over a scripted LLM.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from strands_vector_memory import (
    Field,
    MemoryType,
    MiniLMEmbedder,
    NewMemory,
    Scope,
    ValidationError,
    VectorMemory,
)
from strands_vector_memory.memory._consolidate import (
    DEFAULT_THRESHOLD,
    PROVENANCE_BUDGET,
    Merger,
    group,
    merged_key,
)
from strands_vector_memory.strands_agents import ModelMerger, ScriptedModel
from strands_vector_memory.strands_agents._merger import MERGE_SYSTEM_PROMPT

from ..conftest import Clock

LISBON = (
    "We are flying to Lisbon on June 12th.",
    "Our flight to Lisbon leaves on the 12th of June.",
    "The Lisbon trip starts with a flight on June 12.",
)
PEANUTS = (
    "I am allergic to peanuts.",
    "Peanuts give me an allergic reaction.",
    "I have a peanut allergy, so no satay for me.",
)
UNRELATED = ("My favourite band is Radiohead.", "I am learning to play the cello.")


class Recorder:
    """The merge step as a plain function of the texts, recording what it was given."""

    def __init__(self, answer: Callable[[Sequence[str]], str] = lambda texts: " / ".join(texts)) -> None:
        self.answer = answer
        self.calls: list[list[str]] = []

    def merge(self, texts: Sequence[str]) -> str:
        self.calls.append(list(texts))
        return self.answer(texts)


def seed(memory: VectorMemory, clock: Clock, texts: Sequence[str], *, user: str = "alice", **scope: str) -> list[str]:
    """One episode per text, a minute apart, each in its own conversation (as over several sessions)."""
    keys: list[str] = []
    for text in texts:
        clock.now += 60
        where = Scope(user_id=user, conversation_id=f"{user}-session-{int(clock.now)}", **scope)
        keys.append(memory.remember(text, scope=where).key)
    return keys


def everything(memory: VectorMemory, user: str = "alice") -> dict[str, str]:
    return {m.key: m.content for m in memory.iter_memories(user_id=user)}


def test_similar_episodes_become_one_semantic_memory_each(any_memory: VectorMemory, clock: Clock) -> None:
    lisbon, peanuts = seed(any_memory, clock, LISBON), seed(any_memory, clock, PEANUTS)
    unrelated = seed(any_memory, clock, UNRELATED)
    bob = seed(any_memory, clock, LISBON, user="bob")
    merger = Recorder()

    report = any_memory.consolidate(merger, user_id="alice")

    assert merger.calls == [list(LISBON), list(PEANUTS)]  # oldest first, one call per cluster
    assert [c.keys for c in report.clusters] == [tuple(lisbon), tuple(peanuts)]
    assert (report.merged, report.deleted, report.recovered, report.skipped) == (2, 6, 0, 0)
    assert report.scanned == 8 and not report.dry_run
    left = {m.key: m for m in any_memory.iter_memories(user_id="alice")}
    assert set(left) == {*unrelated, merged_key(lisbon), merged_key(peanuts)}
    for keys, texts in ((lisbon, LISBON), (peanuts, PEANUTS)):
        merged = left[merged_key(keys)]
        assert merged.content == " / ".join(texts)
        assert merged.memory_type is MemoryType.SEMANTIC
        assert merged.metadata[Field.CONSOLIDATED_FROM] == keys
        assert merged.metadata[Field.SOURCE] == "consolidation"
        assert merged.confidence == pytest.approx(0.75)  # the policy's default for consolidation
        assert merged.scope == Scope(user_id="alice")  # no conversation: it holds across sessions
        assert Field.EXPIRES_AT not in merged.metadata  # a fact, not an episode: it does not age out
    latest_lisbon = clock.now - 60 * (len(PEANUTS) + len(UNRELATED) + len(LISBON))
    assert left[merged_key(lisbon)].metadata[Field.EVENT_TIME] == pytest.approx(latest_lisbon)
    assert set(everything(any_memory, "bob")) == set(bob)  # another user's episodes are not touched


def test_a_second_run_changes_nothing(any_memory: VectorMemory, clock: Clock) -> None:
    seed(any_memory, clock, LISBON + PEANUTS + UNRELATED)
    any_memory.consolidate(Recorder(), user_id="alice")
    before = everything(any_memory)
    merger = Recorder()
    again = any_memory.consolidate(merger, user_id="alice")
    assert (again.clusters, again.merged, again.deleted, again.recovered) == ([], 0, 0, 0)
    assert merger.calls == [] and everything(any_memory) == before


def test_a_dry_run_reports_the_clusters_and_changes_nothing(any_memory: VectorMemory, clock: Clock) -> None:
    lisbon = seed(any_memory, clock, LISBON)
    seed(any_memory, clock, PEANUTS + UNRELATED)
    before = everything(any_memory)
    merger = Recorder()
    report = any_memory.consolidate(merger, user_id="alice", dry_run=True)
    assert merger.calls == []
    assert report.dry_run and len(report.clusters) == 2 and report.merged == report.deleted == 0
    assert report.clusters[0].keys == tuple(lisbon) and report.clusters[0].texts == LISBON
    assert report.clusters[0].merged is None and report.clusters[0].merged_key == merged_key(lisbon)
    assert everything(any_memory) == before
    assert report.to_dict()["clusters"][0]["texts"] == list(LISBON)


@pytest.mark.parametrize("answer", ["", "   \n"])
def test_an_empty_merge_deletes_nothing(any_memory: VectorMemory, clock: Clock, answer: str) -> None:
    seed(any_memory, clock, LISBON + PEANUTS)
    before = everything(any_memory)
    report = any_memory.consolidate(Recorder(lambda texts: answer), user_id="alice")
    assert (report.merged, report.deleted, report.skipped) == (0, 0, 2)
    assert all(c.merged is None for c in report.clusters)
    assert everything(any_memory) == before


def test_recovery_deletes_the_originals_an_interrupted_run_left(any_memory: VectorMemory, clock: Clock) -> None:
    lisbon = seed(any_memory, clock, LISBON)
    peanuts = seed(any_memory, clock, PEANUTS)
    clock.now += 60
    # What a run killed between writing the merge and deleting the episodes leaves behind.
    leftover = NewMemory(
        "Flying to Lisbon on June 12th.",
        memory_type=MemoryType.SEMANTIC,
        source="consolidation",
        key=merged_key(lisbon),
        metadata={Field.CONSOLIDATED_FROM: lisbon},
    )
    any_memory.remember_many([leftover], user_id="alice", screen=False)

    dry = any_memory.consolidate(Recorder(), user_id="alice", dry_run=True)
    assert dry.recovered == 3 and [c.keys for c in dry.clusters] == [tuple(peanuts)]
    assert set(lisbon) <= set(everything(any_memory))

    merger = Recorder()
    report = any_memory.consolidate(merger, user_id="alice")
    assert report.recovered == 3 and merger.calls == [list(PEANUTS)]  # the Lisbon episodes are not merged twice
    assert set(everything(any_memory)) == {merged_key(lisbon), merged_key(peanuts)}
    assert everything(any_memory)[merged_key(lisbon)] == "Flying to Lisbon on June 12th."


def test_recovery_spares_a_key_reused_after_the_merge(any_memory: VectorMemory, clock: Clock) -> None:
    lisbon = seed(any_memory, clock, LISBON)
    any_memory.consolidate(Recorder(), user_id="alice")
    clock.now += 60
    reused = any_memory.remember("A new episode under an old key.", user_id="alice", key=lisbon[0])  # written later
    report = any_memory.consolidate(Recorder(), user_id="alice")
    assert report.recovered == 0 and reused.key in everything(any_memory)


def test_only_a_merge_consolidation_wrote_can_get_episodes_deleted(any_memory: VectorMemory, clock: Clock) -> None:
    lisbon = seed(any_memory, clock, LISBON)
    clock.now += 60
    forged = [
        NewMemory("a note", memory_type="semantic", metadata={Field.CONSOLIDATED_FROM: lisbon}),  # any writer can
        NewMemory("a note", memory_type="semantic", source="consolidation", metadata={Field.CONSOLIDATED_FROM: lisbon}),
    ]
    any_memory.remember_many(forged, user_id="alice", screen=False)
    report = any_memory.consolidate(Recorder(), user_id="alice", dry_run=True)
    assert report.recovered == 0 and [c.keys for c in report.clusters] == [tuple(lisbon)]


def test_recall_finds_the_merged_fact(any_memory: VectorMemory, clock: Clock) -> None:
    seed(any_memory, clock, LISBON + PEANUTS + UNRELATED)
    any_memory.consolidate(
        Recorder(lambda t: "Alice flies to Lisbon on June 12th." if "Lisbon" in t[0] else t[0]), user_id="alice"
    )
    found = any_memory.recall("when is the flight to Lisbon?", user_id="alice", top_k=3)
    assert found[0].content == "Alice flies to Lisbon on June 12th."
    assert found[0].memory_type is MemoryType.SEMANTIC


def test_model_merger_end_to_end(any_memory: VectorMemory, clock: Clock) -> None:
    lisbon = seed(any_memory, clock, LISBON)
    seed(any_memory, clock, UNRELATED)

    model = ScriptedModel(['Here is the merged statement: "Alice flies to Lisbon on June 12th."'])
    report = any_memory.consolidate(ModelMerger(model), user_id="alice")

    assert report.merged == 1 and report.clusters[0].merged == "Alice flies to Lisbon on June 12th."
    (request,) = model.requests
    assert request.system_text() == MERGE_SYSTEM_PROMPT
    asked = request.last_user_text()
    for number, text in enumerate(LISBON, start=1):
        assert f"{number}. {text}" in asked
    assert not any(text in asked for text in UNRELATED)
    assert everything(any_memory)[merged_key(lisbon)] == "Alice flies to Lisbon on June 12th."


def test_merges_pass_the_guardrails(any_memory: VectorMemory, clock: Clock) -> None:
    seed(any_memory, clock, LISBON)
    any_memory.consolidate(
        Recorder(lambda t: "Flying to Lisbon on June 12th; tickets sent to alice@example.com."), user_id="alice"
    )
    (merged,) = [m for m in any_memory.iter_memories(user_id="alice") if m.memory_type is MemoryType.SEMANTIC]
    assert "alice@example.com" not in merged.content and "[REDACTED:email]" in merged.content


def test_a_memory_forgotten_while_merging_is_not_brought_back(any_memory: VectorMemory, clock: Clock) -> None:
    lisbon = seed(any_memory, clock, LISBON)

    def forget_one(texts: Sequence[str]) -> str:
        any_memory.forget([lisbon[1]], user_id="alice")  # the user asks to forget one while the model works
        return " / ".join(texts)

    report = any_memory.consolidate(Recorder(forget_one), user_id="alice")
    assert (report.merged, report.deleted, report.skipped) == (0, 0, 1)
    assert set(everything(any_memory)) == {lisbon[0], lisbon[2]}


def test_episodes_of_different_agents_are_never_merged(any_memory: VectorMemory, clock: Clock) -> None:
    mine = seed(any_memory, clock, LISBON[:2], agent_id="travel")
    theirs = seed(any_memory, clock, LISBON[2:], agent_id="diary")
    report = any_memory.consolidate(Recorder(), user_id="alice")
    assert [c.keys for c in report.clusters] == [tuple(mine)]
    merged = any_memory.get(merged_key(mine), user_id="alice")
    assert merged is not None and merged.scope == Scope(user_id="alice", agent_id="travel")
    assert set(theirs) <= set(everything(any_memory))


def test_only_live_episodes_are_merged(any_memory: VectorMemory, clock: Clock) -> None:
    seed(any_memory, clock, LISBON[:1])
    clock.now += 40 * 86_400  # the first episode expires (30 days by default)
    fresh = seed(any_memory, clock, LISBON[1:])
    facts = [any_memory.remember(t, user_id="alice", memory_type="semantic").key for t in PEANUTS[:2]]
    report = any_memory.consolidate(Recorder(), user_id="alice")
    assert [c.keys for c in report.clusters] == [tuple(fresh)]  # no expired episode, no semantic fact
    assert set(facts) <= set(everything(any_memory))


def test_max_cluster_caps_a_cluster(any_memory: VectorMemory, clock: Clock) -> None:
    seed(any_memory, clock, LISBON)
    report = any_memory.consolidate(Recorder(), user_id="alice", max_cluster=2, dry_run=True)
    assert [len(c.keys) for c in report.clusters] == [2]
    report = any_memory.consolidate(Recorder(), user_id="alice", min_cluster=3, dry_run=True)
    assert [len(c.keys) for c in report.clusters] == [3]


def test_provenance_stays_within_the_filterable_budget(any_memory: VectorMemory, clock: Clock) -> None:
    keys: list[str] = []
    for number, text in enumerate(LISBON + PEANUTS):
        clock.now += 60
        long_key = f"{number}-" + "k" * 400  # 405 bytes in JSON: two fit the budget, three do not
        where = Scope(user_id="alice", conversation_id=f"c{number}")
        keys.append(any_memory.remember(text, scope=where, key=long_key).key)
    report = any_memory.consolidate(Recorder(), user_id="alice")
    assert [c.keys for c in report.clusters] == [(keys[0], keys[1]), (keys[3], keys[4])]
    assert report.merged == 2  # written: the 2 KB filterable limit was respected


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"max_cluster": 21}, "max_cluster"),
        ({"max_cluster": 1}, "max_cluster"),
        ({"min_cluster": 1}, "min_cluster"),
        ({"min_cluster": 5, "max_cluster": 4}, "min_cluster"),
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": True}, "threshold"),
    ],
)
def test_bad_settings_are_refused(memory: VectorMemory, options: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        memory.consolidate(Recorder(), user_id="alice", **options)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_scope_is_required_and_the_merger_must_merge(memory: VectorMemory) -> None:
    with pytest.raises(ValidationError, match="needs a scope"):
        memory.consolidate(Recorder())
    with pytest.raises(TypeError, match="Merger"):
        memory.consolidate(object(), user_id="alice")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Merger"):
        memory.consolidate(None, user_id="alice")  # only a dry run may go without a merger
    assert memory.consolidate(None, user_id="alice", dry_run=True).dry_run
    assert isinstance(Recorder(), Merger)


# -- the default threshold ------------------------------------------------------------------------
# Five topics of six distinct facts, unrelated statements, and near-domain distractors: the
# data behind DEFAULT_THRESHOLD (its docstring quotes the distances measured here).

TOPICS = {
    "lisbon": (
        "We're flying to Lisbon on June 12th.",
        "I booked the hotel in Alfama for the Lisbon trip, four nights.",
        "For Lisbon I want to try the pasteis de nata in Belem.",
        "Our flight back from Lisbon is on June 16th at 7pm.",
        "My sister Ana is joining us in Lisbon for two days.",
        "I need to renew my passport before the Portugal trip.",
    ),
    "apollo": (
        "The Apollo project launch moved to September 3rd.",
        "I'm leading the Apollo migration to Postgres 16.",
        "Apollo's budget was cut to 40k dollars this quarter.",
        "Marco is the new QA lead on the Apollo project.",
        "The Apollo release is blocked on the database schema review.",
        "We demo Apollo to the board on Friday.",
    ),
    "health": (
        "My doctor said my cholesterol is a bit high.",
        "I started taking statins last week, 10 mg a day.",
        "I have a follow-up blood test with Dr. Patel in March.",
        "The doctor told me to cut down on red meat.",
        "I've been walking 8000 steps a day for my heart health.",
        "My LDL cholesterol was 160 on the last test.",
    ),
    "dog": (
        "We adopted a beagle puppy called Biscuit.",
        "Biscuit has his vaccination appointment on Tuesday.",
        "Our puppy keeps chewing the sofa cushions.",
        "I signed Biscuit up for puppy training classes on Saturdays.",
        "The beagle needs grain-free food, he has a sensitive stomach.",
        "Biscuit weighs 6 kilos now.",
    ),
    "kitchen": (
        "We're renovating the kitchen in April.",
        "The contractor quoted 25,000 euros for the kitchen remodel.",
        "I picked oak cabinets and a white quartz countertop for the kitchen.",
        "The new kitchen appliances arrive on April 20th.",
        "During the kitchen renovation we'll cook on a camping stove.",
        "We need a permit from the city for moving the kitchen wall.",
    ),
}
LONERS = (
    "I prefer window seats on long flights.",
    "My favourite band is Radiohead.",
    "I'm learning to play the cello.",
    "I switched my phone plan to a cheaper provider.",
    "I can't stand cilantro.",
    "My daughter's birthday is on October 2nd.",
    "I run a small book club every second Thursday.",
    "I'm allergic to peanuts.",
    "We're flying to Tokyo for a conference in May.",
    "My flight to Berlin for work is on Monday.",
    "The Hermes project deadline is next week.",
    "My dentist appointment is on Thursday at 3pm.",
    "Our neighbour's cat keeps coming into the garden.",
    "We repainted the bathroom blue last year.",
    "I booked a table at an Italian restaurant for Saturday.",
    "My blood pressure was normal at the last checkup.",
)


def _mixed_clusters(embedder: MiniLMEmbedder, threshold: float) -> tuple[int, list[list[str]]]:
    labelled = [(topic, text) for topic, texts in TOPICS.items() for text in texts]
    labelled += [(f"loner-{i}", text) for i, text in enumerate(LONERS)]
    vectors = np.asarray(embedder.embed_documents([text for _, text in labelled]), dtype=np.float32)
    rows = group(vectors, [f"k{i}" for i in range(len(labelled))], threshold=threshold, max_cluster=12)
    clusters = [[labelled[r][0] for r in row] for row in rows if len(row) > 1]
    return len(clusters), [c for c in clusters if len(set(c)) > 1]


def test_the_default_threshold_keeps_different_things_apart(embedder: MiniLMEmbedder) -> None:
    assert DEFAULT_THRESHOLD == 0.45
    for threshold in (DEFAULT_THRESHOLD, 0.5):
        count, mixed = _mixed_clusters(embedder, threshold)
        assert mixed == [] and count >= 5, (threshold, count, mixed)
    assert _mixed_clusters(embedder, 0.55)[1]  # the margin is real: a little wider and two flights join


def test_the_default_threshold_gathers_rephrasings(embedder: MiniLMEmbedder) -> None:
    vectors = np.asarray(embedder.embed_documents(list(LISBON + PEANUTS)))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for a, b in itertools.combinations(range(3), 2):
        for offset in (0, 3):
            assert 1 - float(vectors[a + offset] @ vectors[b + offset]) <= DEFAULT_THRESHOLD


def test_group_is_complete_linkage_and_respects_the_caps() -> None:
    # a-b and b-c are close, a-c is not: complete linkage never chains a to c.
    angle = np.radians(40)
    vectors = np.array(
        [[1, 0], [np.cos(angle), np.sin(angle)], [np.cos(2 * angle), np.sin(2 * angle)]], dtype=np.float32
    )
    assert group(vectors, ["a", "b", "c"], threshold=0.3, max_cluster=12) == [[0, 1], [2]]
    same = np.ones((5, 2), dtype=np.float32)
    assert group(same, list("abcde"), threshold=0.1, max_cluster=2) == [[0, 1], [2, 3], [4]]
    big = ["x" * (PROVENANCE_BUDGET // 2)] * 3
    assert group(same[:3], big, threshold=0.1, max_cluster=12) == [[0], [1], [2]]
