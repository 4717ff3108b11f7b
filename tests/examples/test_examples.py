"""The runnable examples run offline with the scripted model and show memory working.

Each example runs as its own process, exactly as a reader would run it, with a
temporary store and temporary home/data directories so nothing touches the user's.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run_example(name: str, tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "STRANDS_MEMORY_EXAMPLE_MODEL"}
    home = tmp_path / "home"
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
        STRANDS_MEMORY_STORE=str(tmp_path / "never-used"),
        TMPDIR=str(tmp_path),
    )
    store = tmp_path / "store"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--store", str(store)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.startswith("Model: scripted")
    assert any(store.iterdir()), "the example should have used the --store directory"
    assert not (tmp_path / "never-used").exists()
    return done.stdout


def between(text: str, start: str, end: str) -> str:
    """The part of ``text`` from ``start`` to the next ``end`` (both included)."""
    assert start in text, f"{start!r} not in output:\n{text}"
    tail = text[text.index(start) :]
    assert end in tail, f"{end!r} not after {start!r} in output:\n{text}"
    return tail[: tail.index(end) + len(end)]


def test_single_tenant_agent_recalls_the_first_conversation(tmp_path: Path) -> None:
    out = run_example("single_tenant_agent", tmp_path)
    block = between(out, "-- memories the model was shown", "</memories>")
    assert "<memories>" in block
    assert "I'm allergic to peanuts and shellfish." in block  # the turn, stored verbatim
    assert "I'm flying to Lisbon on May 14th" in block
    assert "| summary | source: conversation-summary" in block  # the summary the model wrote at end_session
    assert "agent: For your Lisbon flight: fruit, rice cakes and cheese; nothing with peanuts or shellfish." in out


def test_memory_manager_store_injects_added_and_extracted_memories(tmp_path: Path) -> None:
    out = run_example("memory_manager_store", tmp_path)
    block = between(out, "-- memories the model was shown", "</memory>")
    assert '<entry source="vector-memory">Alice prefers vegetarian restaurants.</entry>' in block  # store.add
    assert "my sister Jo, who is coming in from Porto" in block  # extracted from the first agent's turn
    assert "agent: A vegetarian place for you and Jo on Friday" in out


def test_team_memory_shares_findings_within_and_across_runs(tmp_path: Path) -> None:
    out = run_example("team_memory", tmp_path)
    first = "agents recall better from one memory per turn than from one summary per chat."
    second = "recall runs locally and adds milliseconds to a turn, not another LLM call."
    run_1, run_2 = between(out, "== Run 1", "== Run 2"), out[out.index("== Run 2") :]
    # (a) the writer's memories hold the researcher's finding from the same run
    assert f"Finding: {first}" in between(run_1, "-- the writer's memories", "</memories>")
    assert f"writer: Draft: {first}" in run_1
    # (b) a later run starts from both agents' earlier work, and the run's summary
    researcher = between(run_2, "-- the researcher's memories", "</memories>")
    assert f"Finding: {first}" in researcher and f"Draft: {first}" in researcher
    assert "The blog team researched agent memory" in researcher
    writer = between(run_2, "-- the writer's memories", "</memories>")
    assert f"Finding: {first}" in writer and f"Finding: {second}" in writer
    assert f"writer: Draft: {first} {second}" in run_2


@pytest.fixture
def model_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("examples_model", EXAMPLES / "_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_model_selection(model_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    from strands_vector_memory.strands_agents import ScriptedModel

    monkeypatch.delenv(model_module.ENV, raising=False)
    assert isinstance(model_module.example_model(lambda request: "hi"), ScriptedModel)
    monkeypatch.setenv(model_module.ENV, "scripted")
    assert isinstance(model_module.example_model(lambda request: "hi"), ScriptedModel)
    for spec, model_id in [
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "us.anthropic.claude-sonnet-4-20250514-v1:0"),
        ("bedrock:amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"),
    ]:
        monkeypatch.setenv(model_module.ENV, spec)
        model = model_module.example_model(lambda request: "hi")
        assert type(model).__name__ == "BedrockModel" and model.get_config()["model_id"] == model_id


def test_a_missing_provider_extra_is_a_clear_error(model_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = next((p for p in ("openai", "anthropic", "ollama", "litellm") if not importlib.util.find_spec(p)), None)
    if missing is None:
        pytest.skip("every provider extra is installed")
    monkeypatch.setenv(model_module.ENV, f"{missing}:some-model")
    with pytest.raises(SystemExit, match=rf"pip install 'strands-agents\[{missing}\]'"):
        model_module.example_model(lambda request: "hi")


def test_examples_are_ruff_clean() -> None:
    """tests/test_quality.py lints src, tests and scripts; the examples are documentation and are linted here."""
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    for command in ([ruff, "check", str(EXAMPLES)], [ruff, "format", "--check", str(EXAMPLES)]):
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        assert result.returncode == 0, result.stdout + result.stderr
