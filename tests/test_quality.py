"""The package stays mypy --strict clean and ruff clean: checked by the test run itself."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_strict_is_clean_on_the_package() -> None:
    mypy_api = pytest.importorskip("mypy.api")
    stdout, stderr, status = mypy_api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), str(ROOT / "src" / "strands_vector_memory")]
    )
    assert status == 0, stdout + stderr


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    result = subprocess.run(
        [ruff, "check", str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "scripts")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
