"""run_locomo end to end on a tiny synthetic dataset, scored with plain BM25 so every rank is known.

Why BM25: lexical ranking is deterministic, so the expected rank of every evidence
unit can be worked out by hand from the words below (the reasoning is next to each
question) and asserted exactly. Question words are chosen to avoid speaker names,
dates and stopwords, so only the listed words match. FTS5 stems with porter
("varnished" finds "varnishing", "riding" finds "ride") and its idf grows as a word
gets rarer: a word in one turn outweighs one in two.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from strands_vector_memory import MiniLMEmbedder
from strands_vector_memory.core import ValidationError
from strands_vector_memory.evals import EvalConfig, run_locomo


def turn(dia_id: str, speaker: str, text: str, caption: str | None = None) -> dict[str, Any]:
    out = {"speaker": speaker, "dia_id": dia_id, "text": text}
    if caption is not None:
        out["blip_caption"] = caption
    return out


def sailing() -> dict[str, Any]:
    """conv-a: 7 turns in 2 sessions, 5 observations, 2 summaries; 4 scored questions."""
    return {
        "sample_id": "conv-a",
        "conversation": {
            "speaker_a": "Ann",
            "speaker_b": "Bob",
            "session_1_date_time": "1:00 pm on 3 March, 2023",
            "session_1": [
                turn("D1:1", "Ann", "My greyhound Biscuit adores chasing seagulls."),
                turn("D1:2", "Bob", "I spent the weekend varnishing my wooden sailboat."),
                turn("D1:3", "Ann", "I started taking cello lessons!", caption="a cello leaning against a bookshelf"),
            ],
            "session_2_date_time": "9:30 am on 14 April, 2023",
            "session_2": [
                turn("D2:1", "Bob", "Bad news: the sailboat sprang a leak and sank."),
                turn("D2:2", "Ann", "How awful. Did you salvage anything?"),
                turn("D2:3", "Bob", "Only the compass. Next summer I want a kayak."),
                turn("D2:4", "Ann", "Biscuit would love riding in a kayak."),
            ],
        },
        "qa": [
            # lessons, start, taking: only D1:3 -> rank 1.
            {"question": "Which lessons did she start taking?", "answer": "cello", "evidence": ["D1:3"], "category": 4},
            # D1:2 has wooden, sailboat, varnish (3 words); D2:3 compass (1 rare word);
            # D2:1 sailboat (in 2 turns, lower idf). Ranks D1:2, D2:3, D2:1: both found by 2.
            {
                "question": "Besides the wooden sailboat he varnished, which compass did he keep?",
                "answer": "the compass",
                "evidence": ["D1:2", "D2:3"],
                "category": 1,
            },
            # vessel, sprang, leak: only D2:1; the evidence id needs normalising.
            {"question": "Which vessel sprang a leak?", "answer": "the sailboat", "evidence": ["D2:01"], "category": 2},
            # D2:4 has kayak and ride, D1:1 greyhound (rarer than kayak), D2:3 kayak:
            # ranks D2:4, D1:1, D2:3. The evidence is 2nd, its session (1) too.
            {
                "question": "Would the greyhound enjoy a kayak ride?",
                "answer": "yes",
                "evidence": ["D1:1"],
                "category": 3,
            },
            {"question": "What did the cat chase?", "adversarial_answer": "mice", "evidence": ["D1:1"], "category": 5},
        ],
        "observation": {
            "session_1_observation": {
                "Ann": [
                    ["Ann owns a greyhound called Biscuit.", "D1:1"],
                    ["Ann started taking cello lessons.", "D1:3"],
                ],
                "Bob": [["Bob is varnishing a wooden sailboat.", "D1:2"]],
            },
            "session_2_observation": {
                "Bob": [["Bob's sailboat sprang a leak.", "D2:1"], ["Bob kept the compass.", "D2:3"]],
            },
        },
        "session_summary": {
            "session_1_summary": "Ann has a greyhound and began cello lessons; Bob is varnishing a wooden sailboat.",
            "session_2_summary": "Bob's sailboat sprang a leak and sank; only the compass was saved.",
        },
    }


def pottery() -> dict[str, Any]:
    """conv-b: 5 turns in 2 sessions, 4 observations, 1 summary (session 1 only); 3 scored questions."""
    return {
        "sample_id": "conv-b",
        "conversation": {
            "speaker_a": "Cara",
            "speaker_b": "Dev",
            "session_1_date_time": "10:00 am on 2 June, 2023",
            "session_1": [
                turn("D1:1", "Cara", "I signed up for a pottery workshop downtown."),
                turn("D1:2", "Dev", "Nice. I am training for the autumn marathon."),
                turn("D1:3", "Cara", "My first vase cracked in the kiln.", caption="a cracked blue vase on a table"),
            ],
            "session_2_date_time": "4:45 pm on 9 July, 2023",
            "session_2": [
                turn("D2:1", "Dev", "I finished the marathon in under four hours!"),
                turn("D2:2", "Cara", "Amazing, I glazed a teapot to celebrate."),
            ],
        },
        "qa": [
            # blue, thing, table: only in D1:3's image caption -> rank 1 (captions are indexed).
            {"question": "What blue thing was on the table?", "answer": "a vase", "evidence": ["D1:3"], "category": 4},
            # D2:1 has finish and marathon, D1:2 only marathon -> D2:1 first.
            {
                "question": "When did he finish the marathon?",
                "answer": "July 2023",
                "evidence": ["D2:1"],
                "category": 2,
            },
            # D1:1 has pottery and workshop, D2:2 glaze -> ranks D1:1, D2:2.
            {
                "question": "What did she glaze after the pottery workshop?",
                "answer": "a teapot",
                "evidence": ["D1:1", "D2:2"],
                "category": 1,
            },
            {"question": "What about the garden?", "answer": "?", "evidence": ["D7:1"], "category": 4},  # no such turn
        ],
        "observation": {
            "session_1_observation": {
                "Cara": [["Cara joined a pottery workshop.", "D1:1"], ["Cara's blue vase cracked.", "D1:03"]],
                "Dev": [["Dev trains for a marathon.", "D1:2"]],
            },
            "session_2_observation": {"Dev": [["Dev finished a marathon.", "D2:1"]]},
        },
        "session_summary": {
            "session_1_summary": "Cara joined a pottery workshop and her blue vase cracked; Dev trains for a marathon.",
        },
    }


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "locomo-tiny.json"
    path.write_text(json.dumps([sailing(), pottery()]), encoding="utf-8")
    return path


def evaluate(path: Path, tmp_path: Path, embedder: MiniLMEmbedder, **config: Any) -> dict[str, Any]:
    return run_locomo(path, EvalConfig(retriever="bm25", ks=(1, 3, 5), **config), embedder=embedder, workdir=tmp_path)


def test_turns_scores_match_the_hand_computed_ranks(dataset: Path, tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    report = evaluate(dataset, tmp_path, embedder, neighbours=0)
    assert (report["conversations"], report["memories"], report["questions"]) == (2, 12, 7)
    overall = report["overall"]
    # Evidence ranks (first hit / all found): a1 1/1, a2 1/2, a3 1/1, a4 2/2, b1 1/1, b2 1/1, b3 1/2.
    assert overall["any@1"] == 6 / 7  # only a4's evidence is not first
    assert overall["any@3"] == 1.0
    assert overall["all@1"] == 4 / 7  # a2 and b3 need two units, a4 misses at 1
    assert overall["all@3"] == 1.0
    assert overall["mrr"] == 6.5 / 7
    assert overall["session_any@1"] == 6 / 7  # a4's first unit is from session 2
    assert overall["session_all@1"] == 4 / 7  # a2 and b3 span sessions 1 and 2
    assert overall["session_all@3"] == 1.0
    assert overall["questions"] == 7
    by_category = report["by_category"]
    assert list(by_category) == ["1", "2", "3", "4"]  # the adversarial question is skipped
    assert {c: (s["name"], s["questions"]) for c, s in by_category.items()} == {
        "1": ("multi-hop", 2),
        "2": ("temporal", 2),
        "3": ("open-domain", 1),
        "4": ("single-hop", 2),
    }
    assert (by_category["1"]["any@1"], by_category["1"]["all@1"], by_category["1"]["all@3"]) == (1.0, 0.0, 1.0)
    assert by_category["2"]["all@1"] == 1.0  # including the "D2:01" evidence
    assert (by_category["3"]["any@1"], by_category["3"]["any@3"], by_category["3"]["mrr"]) == (0.0, 1.0, 0.5)
    assert by_category["3"]["session_any@1"] == 0.0
    assert by_category["4"]["all@1"] == 1.0  # b1 through the image caption
    assert report["ranking"]["mode"] == "text" and report["ranking"]["conversation_boost"] == 0.0


def test_observations_cover_the_turn_they_cite(dataset: Path, tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    report = evaluate(dataset, tmp_path, embedder, units="observations")
    assert (report["memories"], report["questions"], report["neighbours"]) == (9, 7, 0)
    overall = report["overall"]
    # Every question's best observation cites an evidence turn (a4: "owns a greyhound");
    # a2 needs the varnishing and the compass facts (ranks 1, 2); b3 has no glaze fact.
    assert (overall["any@1"], overall["mrr"]) == (1.0, 1.0)
    assert overall["all@1"] == 5 / 7
    assert overall["all@3"] == 6 / 7


def test_summaries_cover_every_turn_of_their_session(dataset: Path, tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    report = evaluate(dataset, tmp_path, embedder, units="summaries")
    assert report["memories"] == 3  # conv-b session 2 has no summary
    overall = report["overall"]
    # b2's evidence is in conv-b session 2 (no summary): never found. The session 1
    # summary answers a1, a4, b1 whole; a2 needs both conv-a summaries (ranks 1, 2);
    # b3's second evidence turn is in the unsummarised session.
    assert (overall["any@1"], overall["mrr"]) == (6 / 7, 6 / 7)
    assert overall["all@1"] == 4 / 7
    assert overall["all@3"] == 5 / 7
    assert report["by_category"]["4"]["all@1"] == 1.0  # one summary covers the evidence turn
    assert report["by_category"]["3"]["all@1"] == 1.0  # a4: the turn itself ranked 2nd, its summary 1st
    assert report["by_category"]["2"]["any@5"] == 0.5


def test_a_turn_counts_only_for_itself_whatever_context_it_was_indexed_with(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    # "salvage" is said in D1:2; the answer (the compass) is D1:3, its neighbour. With
    # neighbours=1, D1:1 and D1:3 hold D1:2 as context (indexed at half weight; D1:1's
    # context is shorter, so it ranks above D1:3): ranks D1:2, D1:1, D1:3. Had units
    # covered their neighbours, the first unit (D1:2) would count and any@1 would be 1.
    sample = {
        "sample_id": "conv-n",
        "conversation": {
            "speaker_a": "Ann",
            "speaker_b": "Bob",
            "session_1": [
                turn("D1:1", "Bob", "The sailboat sank near the harbour."),
                turn("D1:2", "Ann", "Did you salvage anything?"),
                turn("D1:3", "Bob", "Only the brass compass."),
                turn("D1:4", "Ann", "Keep it on your desk then."),
            ],
        },
        "qa": [{"question": "What could he salvage?", "answer": "a compass", "evidence": ["D1:3"], "category": 4}],
    }
    path = tmp_path / "neighbours.json"
    path.write_text(json.dumps([sample]), encoding="utf-8")
    with_context = evaluate(path, tmp_path, embedder, neighbours=1)["overall"]
    assert (with_context["any@1"], with_context["any@3"], with_context["mrr"]) == (0.0, 1.0, 1 / 3)
    assert with_context["session_any@1"] == 1.0
    alone = evaluate(path, tmp_path, embedder, neighbours=0)["overall"]
    assert (alone["any@5"], alone["mrr"]) == (0.0, 0.0)  # only the context found it


def test_limit_ingests_only_the_first_conversations(dataset: Path, tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    report = evaluate(dataset, tmp_path, embedder, limit=1, neighbours=0)
    assert (report["conversations"], report["memories"], report["questions"]) == (1, 7, 4)
    assert report["overall"]["any@1"] == 3 / 4
    assert report["dataset"] == "locomo-tiny.json"
    assert list(tmp_path.glob("strands-memory-eval-*")) == []  # the temporary stores are gone


def test_progress_reports_both_stages(dataset: Path, tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    seen: list[tuple[str, int, int]] = []
    config = EvalConfig(retriever="bm25", units="summaries")
    run_locomo(dataset, config, embedder=embedder, workdir=tmp_path, progress=lambda *a: seen.append(a))
    assert seen[-1] == ("query", 7, 7)
    assert [s for s in seen if s[0] == "ingest"][-1] == ("ingest", 3, 3)


@pytest.mark.parametrize(
    "config",
    [
        {"units": "words"},
        {"retriever": "bm26"},
        {"ks": ()},
        {"ks": (0, 5)},
        {"ks": (101,)},
        {"ks": (True,)},
        {"limit": 0},
        {"neighbours": 5},
        {"neighbours": -1},
        {"options": {"nope": 1}},
        {"options": {"dense_weight": -1}},
        {"options": {"fusion": "max"}},
    ],
)
def test_bad_config_values_raise_validation_error(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        EvalConfig(**config)
