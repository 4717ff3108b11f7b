"""CLI fixtures: a fresh store directory and a runner that invokes ``strands-memory`` on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pytest
from click.testing import CliRunner, Result

from strands_vector_memory.cli import cli


class Run(Protocol):
    def __call__(self, *args: str, input: str | None = None, code: int = 0, store: Path | None = None) -> Result: ...


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def run(store: Path) -> Run:
    """Invoke the CLI with ``--store`` and assert the exit code (the output is in the failure message)."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, code: int = 0, store: Path | None = store) -> Result:
        prefix = ["--store", str(store)] if store is not None else []
        result = runner.invoke(cli, [*prefix, *args], input=input)
        assert result.exit_code == code, f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"
        return result

    return invoke


@pytest.fixture
def remember(run: Run) -> Callable[..., str]:
    """Store one memory through the CLI and return its key."""

    def remember(text: str, *options: str, user: str = "alice") -> str:
        return run("remember", "--user", user, *options, text).stdout.strip()

    return remember
