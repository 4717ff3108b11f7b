"""import and export: JSON Lines round trips, scope overrides, bad lines."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import Result

Run = Callable[..., Result]


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def by_key(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in records}


def test_export_then_import_into_a_fresh_store_keeps_everything(run: Run, tmp_path: Path) -> None:
    run("remember", "--user", "alice", "--type", "semantic", "--confidence", "0.9", "Alice is allergic to peanuts")
    run("remember", "--user", "alice", "--agent", "travel", "--meta", 'tags=["x","y"]', "Window seat, please")
    run("remember", "--user", "bob", "--tenant", "acme", "--ttl", "3600", "--key", "bob-1", "Bob runs marathons")
    run("remember", "--user", "bob", "--type", "procedural", "--source", "manual", "Deploy with make release")
    exported = tmp_path / "export.jsonl"
    run("export", "--output", str(exported))
    original = lines(exported)
    assert len(original) == 4
    assert all(set(r) == {"key", "content", "metadata"} and "content" not in r["metadata"] for r in original)

    fresh = tmp_path / "fresh"
    assert run("import", str(exported), store=fresh).stdout == "Imported 4 memories.\n"
    again = tmp_path / "again.jsonl"
    run("export", "-o", str(again), store=fresh)
    assert by_key(lines(again)) == by_key(original)  # keys, contents, scopes, created_at, expiry, extras
    # And the imported store recalls like the original one.
    found = as_json(run("recall", "--user", "alice", "--json", "-k", "1", "what must she not eat?", store=fresh))
    assert found[0]["content"] == "Alice is allergic to peanuts"


def test_export_to_stdout_pipes_into_import_from_stdin(run: Run, tmp_path: Path) -> None:
    keys = run("remember", "--user", "alice", "one", "two").stdout.split()
    exported = run("export")
    assert "Exported 2 memories to stdout." in exported.stderr
    fresh = tmp_path / "fresh"
    run("import", "-", input=exported.stdout, store=fresh)
    assert sorted(m["key"] for m in as_json(run("list", "--json", store=fresh))["memories"]) == sorted(keys)


def test_expired_memories_are_exported_only_on_request(run: Run, tmp_path: Path) -> None:
    run("remember", "--user", "alice", "--ttl", "0.01", "short-lived")
    run("remember", "--user", "alice", "durable")
    time.sleep(0.05)
    assert [r["content"] for r in map(json.loads, run("export").stdout.splitlines())] == ["durable"]
    everything = run("export", "--include-expired").stdout
    assert len(everything.splitlines()) == 2
    fresh = tmp_path / "fresh"
    run("import", "-", input=everything, store=fresh)
    stats = as_json(run("stats", "--json", store=fresh))
    assert (stats["total"], stats["expired"]) == (1, 1)


def test_import_maps_schema_fields_and_scope_options_override(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    records = [
        {"content": "no scope at all"},
        {
            "key": "k-2",
            "content": "from alice",
            "metadata": {
                "user_id": "alice",
                "team_id": "red",
                "memory_type": "summary",
                "created_at": "2024-01-02T03:04:05Z",
                "event_time": 1_700_000_000,
                "confidence": 0.25,
                "source": "slack",
                "channel": "#general",
                "created_at_iso": "ignored: derived",
            },
        },
    ]
    source.write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    run("import", "--user", "bob", str(source))
    memories = {m["content"]: m for m in as_json(run("list", "--json"))["memories"]}
    plain, full = memories["no scope at all"], memories["from alice"]
    assert plain["metadata"]["user_id"] == "bob" and plain["metadata"]["source"] == "import"
    meta = full["metadata"]
    assert full["key"] == "k-2"
    assert (meta["user_id"], meta["team_id"], meta["memory_type"]) == ("bob", "red", "summary")
    assert meta["created_at"] == 1704164645.0 and meta["created_at_iso"] == "2024-01-02T03:04:05+00:00"
    assert (meta["event_time"], meta["confidence"], meta["source"], meta["channel"]) == (
        1_700_000_000,
        0.25,
        "slack",
        "#general",
    )


def test_a_bad_line_fails_with_its_number_and_writes_nothing_of_its_batch(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    good = [json.dumps({"content": f"good memory {i}", "metadata": {"user_id": "alice"}}) for i in range(4)]
    bad = json.dumps({"content": "typo", "metadata": {"memory_type": "semantc"}})
    source.write_text("\n".join([*good, bad, good[0]]) + "\n")

    result = run("import", str(source), code=2)
    assert "Error: line 5: unknown memory_type 'semantc'" in result.stderr
    assert "Nothing from lines 1-6 was written; 0 memories from earlier lines imported." in result.stderr
    assert "Traceback" not in result.output
    assert as_json(run("stats", "--json"))["total"] == 0

    result = run("import", "--batch-size", "2", str(source), code=2)
    assert "line 5:" in result.stderr and "4 memories from earlier lines imported" in result.stderr
    assert as_json(run("stats", "--json"))["total"] == 4


def test_import_rejects_malformed_lines(run: Run) -> None:
    cases = {
        "not json": "not valid JSON",
        "[1, 2]": "expected a JSON object",
        '{"text": "x"}': "unknown fields ['text']",
        '{"metadata": {}}': "missing content",
        '{"content": "x", "metadata": {"created_at": "yesterday"}}': "metadata.created_at",
        '{"content": "x", "metadata": {"user_id": 7}}': "scope user_id must be a non-empty string",
    }
    for line, message in cases.items():
        result = run("import", "-", input=f'{{"content": "fine"}}\n{line}\n', code=2)
        assert "line 2: " in result.stderr and message in result.stderr, (line, result.stderr)
    assert as_json(run("stats", "--json"))["total"] == 0


def test_import_of_non_utf8_bytes_is_a_clean_error(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "latin1.jsonl"
    source.write_bytes(b'{"content": "caf\xe9"}\n')
    result = run("import", str(source), code=2)
    assert "not UTF-8 text" in result.stderr and "Traceback" not in result.output
