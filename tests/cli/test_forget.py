"""forget: by key, by user, dry run, confirmation."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from click.testing import Result

Run = Callable[..., Result]


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def populate(run: Run) -> tuple[list[str], list[str]]:
    alice = run("remember", "--user", "alice", "a1", "a2", "a3").stdout.split()
    bob = run("remember", "--user", "bob", "b1", "b2").stdout.split()
    return alice, bob


def total(run: Run, *scope: str) -> int:
    return int(as_json(run("stats", *scope, "--json"))["total"])


def test_dry_run_deletes_nothing_and_lists_the_keys(run: Run) -> None:
    alice, _ = populate(run)
    report = as_json(run("forget", "--user", "alice", "--dry-run", "--json"))
    assert report == {"dry_run": True, "count": 3, "keys": report["keys"]}
    assert sorted(report["keys"]) == sorted(alice)
    human = run("forget", "--user", "alice", "--dry-run").stdout
    assert human.startswith("Would forget 3 memories:") and all(k in human for k in alice)
    assert as_json(run("forget", "--everything", "--dry-run", "--json"))["count"] == 5
    assert as_json(run("forget", alice[0], "missing-key", "--dry-run", "--json"))["keys"] == [alice[0]]
    assert total(run) == 5


def test_forget_by_user_deletes_only_that_user(run: Run) -> None:
    _, bob = populate(run)
    assert run("forget", "--user", "alice", "--yes").stdout == "Forgot 3 memories.\n"
    assert total(run, "--user", "alice") == 0
    assert sorted(m["key"] for m in as_json(run("list", "--json"))["memories"]) == sorted(bob)


def test_deleting_by_scope_asks_first(run: Run) -> None:
    populate(run)
    declined = run("forget", "--user", "alice", input="n\n", code=1)
    assert "Forget 3 memories (user_id=alice)?" in declined.stderr
    assert total(run) == 5
    run("forget", "--user", "alice", input="y\n")
    assert total(run) == 2


def test_forget_by_key_and_by_filter(run: Run) -> None:
    alice, bob = populate(run)
    assert run("forget", alice[0]).stdout == "Forgot 1 memory.\n"
    assert run("forget", "--user", "bob", alice[1]).stdout == "Forgot 0 memories.\n"  # scope restricts keys
    run("remember", "--user", "carol", "--meta", "project=x", "c1")
    assert as_json(run("forget", "--filter", '{"project": {"$eq": "x"}}', "--yes", "--json"))["count"] == 1
    assert total(run) == 4
    assert as_json(run("forget", "--everything", "--yes", "--json"))["count"] == 4
    assert total(run) == 0 and bob


def test_forget_needs_a_selection(run: Run) -> None:
    assert "say what to forget" in run("forget", code=2).stderr
    assert "not both" in run("forget", "k", "--everything", code=2).stderr


def test_forget_a_user_erases_them_everywhere_and_says_where(run: Run) -> None:
    populate(run)
    report = as_json(run("forget", "--user", "alice", "--yes", "--json"))
    assert report["count"] == 3 and report["memories"] == {"memories": 3} and report["user_id"] == "alice"
    assert total(run, "--user", "alice") == 0 and total(run, "--user", "bob") == 2
    assert run("forget", "--user", "bob", "--yes").stdout.strip() == "Forgot 2 memories."


def test_export_everything_about_a_user(run: Run) -> None:
    populate(run)
    run("remember", "--user", "alice", "--ttl", "1", "short-lived")
    lines = [
        json.loads(line) for line in run("export", "--user", "alice", "--everything-about-user").stdout.splitlines()
    ]
    assert sorted(item["content"] for item in lines) == ["a1", "a2", "a3", "short-lived"]
    assert {item["kind"] for item in lines} == {"memory"} and {item["index"] for item in lines} == {"memories"}
    assert "--user" in run("export", "--everything-about-user", code=2).stderr
