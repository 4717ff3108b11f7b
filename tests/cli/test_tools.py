"""demo and bench."""

from __future__ import annotations

import json
import re
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

Run = Callable[..., Result]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the network was touched")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.usefixtures("no_network")
def test_demo_passes_offline_and_leaves_the_store_alone(run: Run, store: Path) -> None:
    result = run("demo")
    out = result.stdout
    assert "all checks passed" in out
    assert "✗" not in out and out.count("✓") == 6
    assert 'recall as alice: "what foods should be avoided when cooking for her?"' in out
    assert not store.exists()
    used = Path(re.search(r"store: (\S+)", out).group(1))  # type: ignore[union-attr]
    assert not used.exists()


@pytest.mark.usefixtures("no_network")
def test_demo_keep_keeps_its_store(run: Run) -> None:
    result = run("demo", "--keep")
    kept = Path(re.search(r"Kept the demo store: (\S+)", result.stderr).group(1))  # type: ignore[union-attr]
    try:
        listed = json.loads(run("list", "--json", store=kept).stdout)["memories"]
        assert {m["metadata"]["user_id"] for m in listed} == {"bob"}  # alice was forgotten
    finally:
        shutil.rmtree(kept.parent)


ENGINE_KEYS = {
    "n",
    "dim",
    "queries",
    "insert_per_s",
    "unfiltered_p50_ms",
    "filtered_p50_ms",
    "numpy_unfiltered_p50_ms",
    "recall_at_10",
}


def test_bench_json_engine_only(run: Run) -> None:
    pytest.importorskip("strands_vector_memory.bench")
    result = run("bench", "--n", "2000", "--dim", "32", "--queries", "10", "--json", "--skip-service", store=None)
    numbers = json.loads(result.stdout)
    assert set(numbers) >= ENGINE_KEYS
    assert (numbers["n"], numbers["dim"], numbers["queries"]) == (2000, 32, 10)
    assert numbers["recall_at_10"] == 1.0
    assert "remember_p50_ms" not in numbers


def test_bench_with_service_numbers_and_table(run: Run) -> None:
    pytest.importorskip("strands_vector_memory.bench")
    args = ("bench", "--n", "500", "--dim", "16", "--queries", "5", "--service-calls", "5")
    numbers = json.loads(run(*args, "--json").stdout)
    assert ENGINE_KEYS | {"remember_p50_ms", "recall_p50_ms", "remember_p95_ms", "recall_p95_ms"} <= set(numbers)
    assert numbers["service_calls"] == 5 and 0 < numbers["recall_p50_ms"] < 1000
    table = run(*args, "--skip-service").stdout
    assert "unfiltered_p50_ms" in table and "recall_at_10" in table
