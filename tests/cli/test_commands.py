"""remember, recall, list, stats: one memory service behind them, real embedder, real store."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result

Run = Callable[..., Result]

FACTS = {
    "Alice is allergic to peanuts": "semantic",
    "Alice prefers a window seat on long flights": "semantic",
    "Alice's daughter starts school in September": "episodic",
}


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def store_facts(run: Run) -> dict[str, str]:
    """Alice's facts, each with its type; returns content -> key."""
    return {
        text: run("remember", "--user", "alice", "--type", kind, text).stdout.strip() for text, kind in FACTS.items()
    }


def test_remember_prints_only_the_key(run: Run) -> None:
    result = run("remember", "--user", "alice", "Alice is allergic to peanuts")
    assert re.fullmatch(r"[0-9a-f]{32}\n", result.stdout)
    assert result.stderr == ""
    [stored] = as_json(run("list", "--json"))["memories"]
    assert stored["key"] == result.stdout.strip()
    assert stored["metadata"]["source"] == "cli"


def test_remember_many_texts_stdin_and_json(run: Run) -> None:
    keys = run("remember", "--user", "bob", "one", "two").stdout.split()
    assert len(keys) == 2
    result = run("remember", "--user", "bob", "-", input="three\n\n  \nfour\n")
    assert len(result.stdout.split()) == 2
    stored = as_json(
        run(
            "remember",
            "--user",
            "bob",
            "--agent",
            "planner",
            "--type",
            "procedural",
            "--confidence",
            "0.5",
            "--ttl",
            "60",
            "--meta",
            "project=apollo",
            "--meta",
            "priority=3",
            "--json",
            "five",
        )
    )
    [memory] = stored
    meta = memory["metadata"]
    assert memory["content"] == "five"
    assert (meta["user_id"], meta["agent_id"], meta["memory_type"]) == ("bob", "planner", "procedural")
    assert (meta["confidence"], meta["project"], meta["priority"]) == (0.5, "apollo", 3)
    assert meta["expires_at"] == meta["created_at"] + 60
    assert as_json(run("stats", "--json"))["total"] == 5


def test_remember_key_and_idempotent(run: Run) -> None:
    assert run("remember", "--user", "a", "--key", "k1", "hello").stdout == "k1\n"
    first = run("remember", "--user", "a", "--idempotent", "same text").stdout
    assert run("remember", "--user", "a", "--idempotent", "same text").stdout == first
    assert as_json(run("stats", "--json"))["total"] == 2
    assert "--key names one memory" in run("remember", "--user", "a", "--key", "k", "x", "y", code=2).stderr
    assert "not both" in run("remember", "--user", "a", "--key", "k", "--idempotent", "x", code=2).stderr
    assert "Missing option '--user'" in run("remember", "x", code=2).stderr


def test_recall_json_shape_and_a_paraphrase_ranks_the_fact_first(run: Run) -> None:
    keys = store_facts(run)
    found = as_json(run("recall", "--user", "alice", "--json", "what foods should be avoided when cooking for her?"))
    assert len(found) == 3
    assert {"key", "content", "score", "metadata"} <= set(found[0])
    assert found[0]["key"] == keys["Alice is allergic to peanuts"]
    assert found[0]["content"] == "Alice is allergic to peanuts"
    assert found[0]["metadata"]["user_id"] == "alice"
    scores = [m["score"] for m in found]
    assert scores == sorted(scores, reverse=True)
    table = run("recall", "--user", "alice", "-k", "1", "which ingredients are dangerous for her?").stdout
    assert "Alice is allergic to peanuts" in table and "window seat" not in table


def test_recall_options_narrow_the_results(run: Run) -> None:
    store_facts(run)
    query = "what is going on with alice?"
    semantic = as_json(run("recall", "--user", "alice", "--type", "semantic", "--json", query))
    assert {m["metadata"]["memory_type"] for m in semantic} == {"semantic"}
    assert as_json(run("recall", "--user", "alice", "--since", "2999-01-01", "--json", query)) == []
    assert len(as_json(run("recall", "--user", "alice", "--until", "2999-01-01T00:00:00Z", "--json", query))) == 3
    assert as_json(run("recall", "--user", "alice", "--min-score", "0.99", "--json", query)) == []
    filtered = as_json(
        run("recall", "--user", "alice", "--filter", '{"memory_type": {"$eq": "episodic"}}', "--json", query)
    )
    assert [m["metadata"]["memory_type"] for m in filtered] == ["episodic"]
    assert "No memories found" in run("recall", "--user", "nobody", query).stderr


def test_recall_modes_and_an_exact_code_found_by_full_text(run: Run) -> None:
    store_facts(run)
    booking = run("remember", "--user", "alice", "Booking reference ZX-4471 is for the hotel in Porto").stdout.strip()
    for mode in ("hybrid", "text"):
        found = as_json(run("recall", "--user", "alice", "--mode", mode, "--json", "-k", "1", "ZX-4471"))
        assert [m["key"] for m in found] == [booking], mode
    dense = as_json(run("recall", "--user", "alice", "--mode", "dense", "--json", "-k", "4", "ZX-4471"))
    confidence = dense[0]["metadata"]["confidence"]  # 0.9, the default for what a person stated via the CLI
    assert confidence == 0.9
    assert dense[0]["score"] == pytest.approx((1 - dense[0]["distance"]) * (0.5 + 0.5 * confidence), abs=1e-6)
    run("recall", "--user", "alice", "--mode", "fuzzy", "ZX-4471", code=2)


def test_context_prints_a_fenced_block_within_the_budget(run: Run) -> None:
    store_facts(run)
    run("remember", "--user", "bob", "Bob's favourite cuisine is Thai curry")
    block = run("context", "--user", "alice", "--max-tokens", "80", "cooking dinner for alice").stdout
    assert block.startswith("<memories>") and block.rstrip().endswith("</memories>")
    assert "Thai curry" not in block
    packed = as_json(run("context", "--user", "alice", "--max-tokens", "80", "--json", "cooking dinner for alice"))
    assert 0 < packed["tokens"] <= 80
    assert packed["omitted"] + len(packed["memories"]) == 3
    assert all(m["content"] in packed["text"] for m in packed["memories"])
    assert "No memories found" in run("context", "--user", "nobody", "anything").stderr
    run("context", "--user", "alice", "--max-tokens", "0", "x", code=2)


def test_users_are_isolated_through_the_cli(run: Run) -> None:
    alice_keys = set(store_facts(run).values())
    run("remember", "--user", "bob", "Bob's favourite cuisine is Thai curry")
    found = as_json(run("recall", "--user", "bob", "--json", "-k", "10", "what foods should be avoided when cooking?"))
    assert found and not alice_keys & {m["key"] for m in found}
    assert {m["metadata"]["user_id"] for m in found} == {"bob"}
    listed = as_json(run("list", "--user", "bob", "--json"))["memories"]
    assert [m["content"] for m in listed] == ["Bob's favourite cuisine is Thai curry"]


def test_list_pages_and_all(run: Run) -> None:
    keys = run("remember", "--user", "alice", *[f"note number {i}" for i in range(5)]).stdout.split()
    first = as_json(run("list", "--limit", "2", "--json"))
    assert len(first["memories"]) == 2 and first["next_token"]
    seen = [m["key"] for m in first["memories"]]
    token = first["next_token"]
    while token:
        page = as_json(run("list", "--limit", "2", "--next-token", token, "--json"))
        seen += [m["key"] for m in page["memories"]]
        token = page["next_token"]
    assert sorted(seen) == sorted(keys)
    everything = as_json(run("list", "--all", "--json"))
    assert sorted(m["key"] for m in everything["memories"]) == sorted(keys) and everything["next_token"] is None
    human = run("list", "--limit", "2")
    assert "note number" in human.stdout and "--next-token" in human.stderr
    assert "not a token this store issued" in run("list", "--next-token", "garbage", code=2).stderr


def test_stats(run: Run) -> None:
    store_facts(run)
    run("remember", "--user", "bob", "Bob likes dark mode")
    stats = as_json(run("stats", "--json"))
    assert stats["total"] == 4
    assert stats["by_user"] == {"alice": 3, "bob": 1}
    assert stats["by_type"] == {"episodic": 2, "semantic": 2}
    assert as_json(run("stats", "--user", "bob", "--json"))["total"] == 1
    assert "alice" in run("stats").stdout
