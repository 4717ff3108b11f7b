"""The runnable examples run offline with the scripted model and show memory working.

Each example runs as its own process, exactly as a reader would run it, with a
temporary store and temporary home/data directories so nothing touches the user's.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from strands_vector_memory import MemoryType, Scope, VectorMemory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run_script(name: str, tmp_path: Path, *args: str, env: dict[str, str | None] | None = None) -> str:
    """Run ``examples/<name>.py`` with ``args`` as a reader would; its stdout (it must succeed).

    ``env`` sets (or, with ``None``, removes) environment variables.
    """
    changes = env or {}
    environment = {k: v for k, v in os.environ.items() if k != "STRANDS_MEMORY_EXAMPLE_MODEL" and k not in changes}
    home = tmp_path / "home"
    environment.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
        STRANDS_MEMORY_STORE=str(tmp_path / "never-used"),
        TMPDIR=str(tmp_path),
        **{k: v for k, v in changes.items() if v is not None},
    )
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.startswith("Model: scripted")
    assert not (tmp_path / "never-used").exists()
    return done.stdout


def run_example(name: str, tmp_path: Path, *args: str) -> str:
    """Run an example on the ``tmp_path/store`` store (``--store``)."""
    store = tmp_path / "store"
    out = run_script(name, tmp_path, "--store", str(store), *args)
    assert any(store.iterdir()), "the example should have used the --store directory"
    return out


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


RELEASE_STEPS = ["run_tests", "bump_version", "create_tag", "publish_notes"]


def test_procedural_memory_is_saved_by_the_model_and_followed_next_time(tmp_path: Path) -> None:
    out = run_example("procedural_memory", tmp_path)
    run_1, run_2 = between(out, "== Run 1", "== Run 2"), out[out.index("== Run 2") :]
    # run 1: the model did the steps it was told, then chose to save them as a procedure
    assert re.findall(r"-> (\w+)\(", run_1) == [*RELEASE_STEPS, "remember"]
    assert "memory_type='procedural'" in run_1
    assert '-- stored (agent-tool, procedural): "How to cut a release: 1. run_tests' in run_1
    # run 2: a new conversation whose model input holds the procedure, followed step by step
    block = between(run_2, "-- memories in the model's first input", "</memories>")
    assert "| procedural | source: agent-tool | agent: orchestrator" in block
    steps = [block.index(f"{n}. {step}") for n, step in enumerate(RELEASE_STEPS, start=1)]
    assert steps == sorted(steps)
    assert re.findall(r"-> (\w+)\(", run_2) == RELEASE_STEPS
    assert "bump_version(version='2.4.0')" in run_2
    assert "orchestrator: Released 2.4.0: run_tests, then bump_version, then create_tag, then publish_notes." in run_2
    assert "OK: run 2 followed the remembered procedure in order" in out
    # what the tool stored is a real procedural memory of the team, written by the agent
    with VectorMemory.open(tmp_path / "store") as memory:
        stored = list(memory.iter_memories(user_id="maria"))
    assert [(m.memory_type, m.metadata["source"], m.metadata["team_id"]) for m in stored] == [
        (MemoryType.PROCEDURAL, "agent-tool", "platform")
    ]


def test_conflicting_agents_conflict_is_reported_shown_and_resolved(tmp_path: Path) -> None:
    out = run_example("conflicting_agents", tmp_path)
    tuesday = "The production deploy window is Tuesday 14:00-16:00 UTC."
    thursday = "The production deploy window is Thursday 14:00-16:00 UTC."
    part_1 = between(out, "== Two agents", "== The deployer")
    assert f"release-planner: {tuesday!r} -> STORED" in part_1
    linked = re.search(rf"ops-bot: {re.escape(repr(thursday))} -> CONFLICTED \(linked to (\w+)\)", part_1)
    assert linked, part_1
    assert "conflict notes for the team: 1" in part_1
    # the deployer (a third agent) is shown both facts and the team's conflict note
    part_2 = between(out, "== The deployer", "== The payments team")
    block = between(part_2, "-- memories the deployer was shown", "</memories>")
    assert tuesday in block and thursday in block
    assert "| conflict | source: conflict-detection | key: c-" in block
    assert "agent release-planner recorded" in block and "Later agent ops-bot recorded" in block
    assert "deployer: The team's memory disagrees" in part_2
    # and, told which holds, forgets the wrong fact and the note with its tool
    forgotten = re.findall(r"-> forget\(key='([^']+)'\)", part_2)
    assert forgotten[0] == linked.group(1) and forgotten[1].startswith("c-") and len(forgotten) == 2
    assert f"the team's memory now: [{thursday!r}]" in part_2
    # newest_wins: the older fact is superseded at once, kept for audit, never recalled
    part_3 = out[out.index("== The payments team") :]
    assert f"ops-bot: {thursday!r} -> CONFLICTED" in part_3
    assert f"recalled: [semantic] {thursday}" in part_3
    assert f"recalled: [semantic] {tuesday}" not in part_3
    assert "visible to get/recall=False, kept for audit=True, superseded_by=" in part_3
    with VectorMemory.open(tmp_path / "store") as memory:
        platform = list(memory.iter_memories(scope=Scope(user_id="dana", team_id="platform"), include_expired=True))
        payments = list(memory.iter_memories(scope=Scope(user_id="dana", team_id="payments"), include_expired=True))
    assert [m.content for m in platform if m.memory_type is not MemoryType.EPISODIC] == [thursday]
    old = next(m for m in payments if m.content == tuesday)
    new = next(m for m in payments if m.content == thursday)
    assert old.metadata["superseded_by"] == new.key and new.metadata["conflicts_with"] == [old.key]


def job_counts(out: str) -> dict[str, int]:
    """The numbers the maintenance job printed for each step."""
    found = {
        "decayed": re.search(r"1\. decay: (\d+) of \d+ memories", out),
        "episodes": re.search(r"2\. consolidate: (\d+) episodes", out),
        "merged": re.search(r"2\. consolidate: .* into (\d+) memories", out),
        "expired": re.search(r"3\. expire: (\d+) of \d+ memories", out),
    }
    assert all(found.values()), out
    return {step: int(match.group(1)) for step, match in found.items() if match}


SEEDED_JOB = {"decayed": 4, "episodes": 12, "merged": 4, "expired": 8}


def test_maintenance_job_dry_run_predicts_the_real_run(tmp_path: Path) -> None:
    dry = run_example("maintenance_job", tmp_path, "--seed", "--dry-run")
    assert "== Seeded 25 memories of alice and bob over 60 simulated days" in dry
    assert job_counts(dry) == SEEDED_JOB
    assert "before: 17 live (13 episodic, 3 semantic, 1 summary), 8 expired" in dry
    assert "after:  17 live (13 episodic, 3 semantic, 1 summary), 8 expired" in dry  # nothing changed
    assert "OK: the dry run changed nothing" in dry
    real = run_example("maintenance_job", tmp_path)  # the same store, no new seed
    assert "Seeded" not in real
    assert job_counts(real) == SEEDED_JOB
    assert "alice: 3 episodes like \"I'm flying to Lisbon on June 12th.\" -> 'The user is flying to Lisbon" in real
    assert "after:  9 live (1 episodic, 7 semantic, 1 summary), 0 expired" in real
    assert "OK: nothing expired is left" in real
    with VectorMemory.open(tmp_path / "store") as memory:
        merges = [m for m in memory.iter_memories(include_expired=True) if m.metadata.get("consolidated_from")]
        assert memory.stats().expired == 0
    assert len(merges) == 4
    assert all(m.memory_type is MemoryType.SEMANTIC and len(m.metadata["consolidated_from"]) == 3 for m in merges)
    again = run_example("maintenance_job", tmp_path)  # the job is idempotent
    assert job_counts(again) == {"decayed": 0, "episodes": 0, "merged": 0, "expired": 0}


def test_maintenance_job_runs_against_s3_vectors(tmp_path: Path) -> None:
    from strands_vector_memory.server import LocalEndpoint

    with LocalEndpoint(tmp_path / "endpoint") as endpoint:
        out = run_script(
            "maintenance_job",
            tmp_path,
            *("--backend", "s3vectors", "--endpoint-url", endpoint.url, "--bucket", "nightly-job", "--seed"),
            env={
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_REGION": "us-east-1",
                # nothing of the developer's own AWS setup
                **dict.fromkeys(["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3VECTORS"]),
                **dict.fromkeys(["S3_VECTOR_BUCKET_NAME", "STRANDS_MEMORY_BACKEND"]),
            },
        )
    assert "== Nightly maintenance of nightly-job" in out
    assert job_counts(out) == SEEDED_JOB
    assert "after:  9 live (1 episodic, 7 semantic, 1 summary), 0 expired" in out
    assert "OK: nothing expired is left" in out


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
