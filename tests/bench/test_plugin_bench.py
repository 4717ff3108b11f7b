"""The plugin benchmark runs real Strands agents end to end and reports sane numbers.

Speed is measured, never asserted: only structure, positivity and cleanup.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from strands_vector_memory.bench._plugin import WARMUP, PluginBenchResult, run_plugin_bench
from strands_vector_memory.cli import cli
from strands_vector_memory.embedders import Embedder

Measured = tuple[PluginBenchResult, list[tuple[str, int, int]], Path]

KEYS = {
    "turns",
    "conversation_turns",
    "store_size",
    "embedder",
    "baseline_p50_ms",
    "baseline_p95_ms",
    "plugin_p50_ms",
    "plugin_p95_ms",
    "overhead_p50_ms",
    "overhead_p95_ms",
    "overhead_ratio",
    "write_per_turn_ms",
    "memories_per_turn",
    "cpu_count",
}


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Measured:
    workdir = tmp_path_factory.mktemp("plugin-bench")
    calls: list[tuple[str, int, int]] = []
    result = run_plugin_bench(
        8, prefill=40, conversation_turns=3, embedder=embedder, workdir=workdir, progress=lambda *c: calls.append(c)
    )
    return result, calls, workdir


def test_result_structure_and_json(measured: Measured) -> None:
    data = measured[0].to_dict()
    assert set(data) == KEYS
    assert json.loads(json.dumps(data)) == data
    assert (data["turns"], data["conversation_turns"]) == (8, 3)
    assert data["embedder"] and data["cpu_count"] >= 1


def test_numbers_are_positive_and_consistent(measured: Measured) -> None:
    result = measured[0]
    for name in ("baseline_p50_ms", "baseline_p95_ms", "plugin_p50_ms", "plugin_p95_ms", "write_per_turn_ms"):
        value = getattr(result, name)
        assert math.isfinite(value) and value > 0, name
    assert result.baseline_p95_ms >= result.baseline_p50_ms and result.plugin_p95_ms >= result.plugin_p50_ms
    assert result.overhead_p50_ms == pytest.approx(result.plugin_p50_ms - result.baseline_p50_ms)
    assert result.overhead_ratio == pytest.approx(result.plugin_p50_ms / result.baseline_p50_ms)


def test_the_plugin_recalled_and_stored(measured: Measured) -> None:
    result = measured[0]
    assert result.memories_per_turn > 0  # the model was shown memories: the plugin path really ran
    assert result.store_size == 40 + 2 * WARMUP  # the prefill, plus each warm-up turn's two messages


def test_progress_and_cleanup(measured: Measured) -> None:
    _, calls, workdir = measured
    assert ("prefill", 1, 1) in calls
    assert [done for stage, done, _ in calls if stage == "turns"] == list(range(1, 9))
    assert list(workdir.iterdir()) == []  # the temporary store and outbox are gone


@pytest.mark.parametrize("kwargs", [{"turns": 0}, {"prefill": -1}, {"conversation_turns": 0}])
def test_rejects_degenerate_sizes(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        run_plugin_bench(**{"turns": 2, **kwargs})


def test_cli_bench_plugin_json() -> None:
    result = CliRunner().invoke(cli, ["bench", "plugin", "--turns", "3", "--prefill", "10", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == KEYS and data["turns"] == 3
    table = CliRunner().invoke(cli, ["bench", "plugin", "--turns", "2", "--prefill", "0"])
    assert table.exit_code == 0, table.output
    assert "overhead_p50_ms" in table.stdout and "Strands MemoryPlugin" in table.stdout


def test_cli_bench_options_do_not_silently_apply_to_plugin() -> None:
    result = CliRunner().invoke(cli, ["bench", "--n", "50", "plugin"])
    assert result.exit_code == 2
    assert "--n: an option of `bench` itself" in result.stderr
    assert "plugin" in CliRunner().invoke(cli, ["bench", "--help"]).stdout  # discoverable from `bench -h`


def test_cli_bench_plugin_without_strands_is_a_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "strands", None)  # as if the extra were not installed
    result = CliRunner().invoke(cli, ["bench", "plugin", "--turns", "1"])
    assert result.exit_code == 1
    assert "pip install 'strands-vector-memory[strands]'" in result.stderr
    assert "Traceback" not in result.output
