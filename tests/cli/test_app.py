"""The group: help everywhere, --version, --store and its env var, the error boundary."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import strands_vector_memory
from strands_vector_memory.cli import cli

Run = Callable[..., Result]


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


COMMANDS = sorted(cli.commands)


def test_the_expected_commands_exist() -> None:
    assert COMMANDS == [
        "bench",
        "consolidate",
        "context",
        "decay",
        "demo",
        "eval",
        "expire",
        "export",
        "forget",
        "import",
        "init",
        "list",
        "recall",
        "remember",
        "serve",
        "stats",
        "tenancy",
    ]


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_group_help_has_an_example_and_does_not_open_the_store(run: Run, store: Path, flag: str) -> None:
    result = run(flag)
    assert "Example" in result.stdout
    assert "STRANDS_MEMORY_STORE" in result.stdout
    assert not store.exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(run: Run, store: Path, command: str) -> None:
    for flag in ("-h", "--help"):
        result = run(command, flag)
        assert "Example:" in result.stdout, command
        example = result.stdout.split("Example:", 1)[1].split("Options:", 1)[0]
        assert f" {command}" in example and "strands-memory" in example
        assert result.stdout.startswith(f"Usage: strands-memory {command} ")
    assert not store.exists(), "--help must not open the store or load the model"


def test_version(run: Run) -> None:
    assert run("--version").stdout.startswith("strands-memory 0.")


def test_store_option_and_env_var_name_the_same_store(run: Run, tmp_path: Path) -> None:
    by_env = tmp_path / "from-env"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["remember", "--user", "alice", "stored via the environment"], env={"STRANDS_MEMORY_STORE": str(by_env)}
    )
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert any(by_env.iterdir())
    listed = as_json(run("list", "--json", store=by_env))
    assert [m["key"] for m in listed["memories"]] == [key]
    # --store wins over the environment variable.
    other = tmp_path / "explicit"
    result = runner.invoke(cli, ["--store", str(other), "list", "--json"], env={"STRANDS_MEMORY_STORE": str(by_env)})
    assert as_json(result)["memories"] == []


def test_validation_error_is_a_clean_message_with_exit_2(run: Run) -> None:
    result = run("recall", "--user", "alice", "--top-k", "0", "anything", code=2)
    assert isinstance(result.exception, SystemExit)
    assert "Error: top_k must be an integer in 1..100, got 0" in result.stderr
    assert "Traceback" not in result.output
    result = run("remember", "--user", "alice", "--meta", "user_id=bob", "text", code=2)
    assert "reserved by the memory schema" in result.stderr


def test_filter_errors_are_validation_errors(run: Run) -> None:
    result = run("recall", "--user", "alice", "--filter", '{"a": {"$near": 1}}', "q", code=2)
    assert "unknown operator '$near'" in result.stderr
    result = run("recall", "--user", "alice", "--filter", "not json", "q", code=2)
    assert "not valid JSON" in result.stderr


def test_store_errors_exit_1_without_traceback(run: Run, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run("list", store=blocker / "store", code=1)
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("Error: cannot create store directory")
    assert "Traceback" not in result.output


def test_init_creates_the_index_and_reports_the_embedder(run: Run, store: Path) -> None:
    info = as_json(run("init", "--json"))
    assert info == {
        "store": str(store),
        "index": "memories",
        "embedder": info["embedder"],
        "dimension": 384,
        "non-filterable": "content, context, created_at_iso",
        "text search": "yes",
    }
    assert "MiniLM" in info["embedder"]
    assert any(store.iterdir())
    assert "dimension" in run("init").stdout  # idempotent


def test_the_real_entry_point_keeps_stdout_clean(tmp_path: Path) -> None:
    """Through a real process and real pipes: `KEY=$(strands-memory remember ...)` captures just the key."""
    package_root = Path(strands_vector_memory.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package_root), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "strands_vector_memory.cli", "--store", str(tmp_path / "s")]
    done = subprocess.run(
        [*command, "remember", "--user", "alice", "piped text"], capture_output=True, text=True, env=env, check=True
    )
    assert re.fullmatch(r"[0-9a-f]{32}\n", done.stdout) and done.stderr == ""
    failed = subprocess.run([*command, "recall", "--user", "", "q"], capture_output=True, text=True, env=env)
    assert failed.returncode == 2 and failed.stdout == ""
    assert failed.stderr == "Error: scope user_id must be a non-empty string or None, got ''\n"
