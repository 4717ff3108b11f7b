"""eval locomo: JSON and table output, option parsing, and errors mapped to exit code 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from strands_vector_memory.cli import cli
from strands_vector_memory.cli._app import MemoryGroup

Run = Callable[..., Result]


def sample() -> dict[str, Any]:
    """One conversation, two dated sessions, questions of categories 1, 2, 4 and 5."""

    def turn(dia_id: str, speaker: str, text: str) -> dict[str, str]:
        return {"speaker": speaker, "dia_id": dia_id, "text": text}

    return {
        "sample_id": "conv-cli",
        "conversation": {
            "speaker_a": "Ann",
            "speaker_b": "Bob",
            "session_1_date_time": "1:00 pm on 3 March, 2023",
            "session_1": [
                turn("D1:1", "Ann", "My greyhound Biscuit adores chasing seagulls."),
                turn("D1:2", "Bob", "I spent the weekend varnishing my wooden sailboat."),
            ],
            "session_2_date_time": "9:30 am on 14 April, 2023",
            "session_2": [
                turn("D2:1", "Bob", "Bad news: the sailboat sprang a leak and sank."),
                turn("D2:2", "Ann", "Biscuit would love riding in a kayak."),
            ],
        },
        "qa": [
            {"question": "Which dog adores seagulls?", "answer": "Biscuit", "evidence": ["D1:1"], "category": 4},
            {"question": "When did the boat sink?", "answer": "April 2023", "evidence": ["D2:1"], "category": 2},
            {
                "question": "What happened to the wooden sailboat?",
                "answer": "it sank",
                "evidence": ["D1:2", "D2:1"],
                "category": 1,
            },
            {"question": "What did the cat chase?", "adversarial_answer": "mice", "category": 5, "evidence": []},
        ],
        "session_summary": {"session_1_summary": "Ann has a greyhound; Bob varnishes a sailboat."},
    }


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-locomo.json"
    path.write_text(json.dumps([sample()]), encoding="utf-8")
    return path


def test_json_report(run: Run, data: Path, store: Path) -> None:
    result = run("eval", "locomo", "--data", str(data), "--retriever", "bm25", "--json")
    report = json.loads(result.stdout)
    assert (report["dataset"], report["units"], report["retriever"]) == ("tiny-locomo.json", "turns", "bm25")
    assert (report["memories"], report["questions"]) == (4, 3)
    overall = report["overall"]
    assert {"any@10", "all@10", "mrr", "session_any@5"} <= set(overall)
    assert all(0.0 <= overall[key] <= 1.0 for key in ("any@10", "all@10", "mrr", "session_any@5"))
    assert set(report["by_category"]) == {"1", "2", "4"}
    assert report["by_category"]["1"]["name"] == "multi-hop"
    assert "Asking questions" in result.stderr  # progress on stderr, never mixed into the JSON
    assert not store.exists(), "eval must not touch the --store store"


def test_table_names_every_category(run: Run, data: Path) -> None:
    out = run("eval", "locomo", "--data", str(data), "--retriever", "bm25").stdout
    for text in ("overall", "multi-hop", "temporal", "single-hop", "any@1", "any@20", "all@10", "mrr", "sess@5"):
        assert text in out
    assert "adversarial" not in out
    assert "4 memories, 3 questions, 1 conversation" in out
    assert "ingest" in out and "p50" in out


def test_units_ks_and_options_reach_the_run(run: Run, data: Path) -> None:
    args = ("--units", "summaries", "--k", "5,1,5", "--option", "fusion=rrf", "--option", "conversation_boost=0")
    report = json.loads(run("eval", "locomo", "--data", str(data), *args, "--json").stdout)
    assert report["units"] == "summaries" and report["memories"] == 1
    assert [key for key in report["overall"] if key.startswith("any@")] == ["any@1", "any@5"]
    assert report["ranking"]["fusion"] == "rrf"  # not JSON: kept as text
    assert report["ranking"]["conversation_boost"] == 0  # JSON: a number


def test_option_values_are_json_when_they_parse(run: Run, data: Path) -> None:
    args = ("--option", "recency_half_life_days=null", "--option", 'type_weights={"summary": 2}', "--limit", "1")
    report = json.loads(run("eval", "locomo", "--data", str(data), *args, "--json").stdout)
    assert report["ranking"]["recency_half_life_days"] is None
    assert report["ranking"]["type_weights"] == {"summary": 2}


def test_the_group_maps_library_errors_for_its_subcommands() -> None:
    assert isinstance(cli.commands["eval"], MemoryGroup)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("nope=1", "unknown ranking option(s) ['nope']"),
        ("dense_weight=-1", "dense_weight must be a non-negative number"),
        ("fusion=max", "unknown fusion 'max'"),
        ("type_weights=3", "type_weights must map memory types to weights"),
        ("no-equals-sign", "is not NAME=VALUE"),
    ],
)
def test_bad_options_exit_2_with_the_reason(run: Run, data: Path, store: Path, option: str, message: str) -> None:
    result = run("eval", "locomo", "--data", str(data), "--option", option, code=2)
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not store.exists()


@pytest.mark.parametrize(
    ("ks", "message"), [("0", "not in 1..100"), ("1,101", "not in 1..100"), ("1,x", "'x' is not an integer")]
)
def test_bad_cutoffs_are_usage_errors(run: Run, data: Path, ks: str, message: str) -> None:
    result = run("eval", "locomo", "--data", str(data), "--k", ks, code=2)
    assert message in result.stderr and "Invalid value for '--k'" in result.stderr


def test_missing_or_bad_data_exits_2(run: Run, tmp_path: Path) -> None:
    assert "Missing option '--data'" in run("eval", "locomo", code=2).stderr
    assert "does not exist" in run("eval", "locomo", "--data", str(tmp_path / "absent.json"), code=2).stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert "not valid JSON" in run("eval", "locomo", "--data", str(broken), code=2).stderr


@pytest.mark.parametrize("neighbours", ["5", "-1"])
def test_neighbours_out_of_range_is_a_usage_error(run: Run, data: Path, neighbours: str) -> None:
    run("eval", "locomo", "--data", str(data), "--neighbours", neighbours, code=2)


@pytest.mark.parametrize("command", [("eval",), ("eval", "locomo")])
def test_help_has_an_example(run: Run, store: Path, command: tuple[str, ...]) -> None:
    out = run(*command, "--help").stdout
    example = out.split("Example:", 1)[1].split("Options:", 1)[0]
    assert "strands-memory eval locomo --data locomo10.json" in example
    assert "LoCoMo-format" in out
    assert not store.exists()
