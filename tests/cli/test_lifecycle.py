"""``expire``, ``decay`` and ``consolidate`` through the CLI, on a local store and on a local S3 Vectors endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from strands_vector_memory import MemoryType, MiniLMEmbedder, Scope, VectorMemory
from strands_vector_memory.cli import cli
from strands_vector_memory.cli._lifecycle import MODEL_ENV, load_model
from strands_vector_memory.memory._consolidate import merged_key

from ..conftest import unique_bucket
from .conftest import Run
from .test_s3vectors_backend import _credentials  # noqa: F401  (autouse: dummy credentials for the local endpoint)

DAY = 86_400.0
LISBON = (
    "We are flying to Lisbon on June 12th.",
    "Our flight to Lisbon leaves on the 12th of June.",
    "The Lisbon trip starts with a flight on June 12.",
)
MERGED = "Alice flies to Lisbon on June 12th."

Opener = Callable[[Callable[[], float]], VectorMemory]


@pytest.fixture(autouse=True)
def _no_model_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_ENV, raising=False)


@pytest.fixture
def opener(store: Path, embedder: MiniLMEmbedder) -> Opener:
    """Opens the store the CLI uses, with a chosen clock (to write memories in the past)."""
    return lambda clock: VectorMemory.open(store, embedder=embedder, clock=clock)


def days_ago(days: float) -> Callable[[], float]:
    start = time.time() - days * DAY
    ticks = iter(range(1_000_000))
    return lambda: start + next(ticks)  # one second per call: a stable order


def seed_lifetimes(open_memory: Opener) -> None:
    """Two episodes written 40 days ago (expired: episodes live 30 days), one fresh fact."""
    with open_memory(days_ago(40)) as memory:
        memory.remember("Went to the dentist", user_id="alice")
        memory.remember("Met Bob for lunch", user_id="alice")
    with open_memory(time.time) as memory:
        memory.remember("Alice is allergic to peanuts", user_id="alice", memory_type="semantic")


def seed_episodes(open_memory: Opener) -> list[str]:
    with open_memory(days_ago(1)) as memory:
        keys = [
            memory.remember(text, scope=Scope(user_id="alice", conversation_id=f"c{number}")).key
            for number, text in enumerate(LISBON)
        ]
        memory.remember("I am learning to play the cello.", user_id="alice")
    return keys


def as_json(result: Result) -> dict[str, object]:
    parsed = json.loads(result.stdout)
    assert isinstance(parsed, dict)
    return parsed


@pytest.fixture
def model_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], str]]:
    """Writes an importable module (a fresh name per call) whose body builds a ScriptedModel."""
    modules = tmp_path / "modules"
    modules.mkdir()
    monkeypatch.syspath_prepend(str(modules))
    count = iter(range(1000))

    def write(body: str, attribute: str) -> str:
        name = f"merge_model_{next(count)}_{tmp_path.name.replace('-', '_')}"
        (modules / f"{name}.py").write_text(
            "from strands_vector_memory.strands_agents import ScriptedModel\n" + body, encoding="utf-8"
        )
        return f"{name}:{attribute}"

    yield write


def test_expire_counts_then_deletes_then_finds_nothing(run: Run, opener: Opener) -> None:
    seed_lifetimes(opener)
    dry = as_json(run("expire", "--dry-run", "--json"))
    assert dry == {"indexes": 1, "scanned": 3, "expired": 2, "deleted": 0, "dry_run": True}
    assert run("expire", "--dry-run").stdout.strip() == "Would delete 2 memories (3 read in 1 index)."
    assert run("expire").stdout.strip() == "Deleted 2 memories of 2 expired (3 read in 1 index)."
    again = as_json(run("expire", "--json"))
    assert (again["scanned"], again["expired"], again["deleted"]) == (1, 0, 0)
    remaining = json.loads(run("list", "--all", "--json").stdout)["memories"]
    assert [m["content"] for m in remaining] == ["Alice is allergic to peanuts"]


def test_decay_lowers_idle_confidence_once(run: Run, opener: Opener) -> None:
    with opener(days_ago(200)) as memory:
        memory.remember("Alice once lived in Oslo", user_id="alice", memory_type="semantic", confidence=0.9)
    with opener(time.time) as memory:
        memory.remember("Alice lives in Lisbon", user_id="alice", memory_type="semantic", confidence=0.9)
    dry = as_json(run("decay", "--dry-run", "--json"))
    assert dry == {"indexes": 1, "scanned": 2, "decayed": 1, "dry_run": True}
    assert run("decay", "--window-days", "30", "--half-life-days", "85").stdout.strip() == (
        "Decayed the confidence of 1 memory (2 read in 1 index)."
    )
    confidences = {
        m["content"]: m["metadata"]["confidence"] for m in json.loads(run("list", "--all", "--json").stdout)["memories"]
    }
    assert confidences["Alice lives in Lisbon"] == pytest.approx(0.9)
    assert confidences["Alice once lived in Oslo"] == pytest.approx(0.9 / 4, abs=0.01)  # 170 idle days: 2 half-lives
    assert as_json(run("decay", "--json"))["decayed"] == 0


def test_decay_refuses_a_bad_floor(run: Run) -> None:
    result = run("decay", "--floor", "2", code=2)
    assert "floor must be in 0..1" in result.output


def test_consolidate_with_a_model_named_by_module_and_callable(
    run: Run, opener: Opener, store: Path, embedder: MiniLMEmbedder, model_module: Callable[[str, str], str]
) -> None:
    keys = seed_episodes(opener)
    spec = model_module(f"def make():\n    return ScriptedModel(['Merged statement: {MERGED}'])\n", "make")
    report = as_json(run("consolidate", "--user", "alice", "--model", spec, "--json"))
    assert (report["merged"], report["deleted"], report["recovered"], report["dry_run"]) == (1, 3, 0, False)
    assert report["clusters"] == [
        {"keys": keys, "texts": list(LISBON), "merged_key": merged_key(keys), "merged": MERGED}
    ]
    with VectorMemory.open(store, embedder=embedder) as memory:
        merged = memory.get(merged_key(keys), user_id="alice")
        assert merged is not None and merged.content == MERGED and merged.memory_type is MemoryType.SEMANTIC
        assert memory.get_many(keys, user_id="alice") == []
    assert "No clusters" in run("consolidate", "--user", "alice", "--model", spec).stderr  # a second run: nothing


def test_consolidate_with_a_model_instance_from_the_environment(
    run: Run, opener: Opener, model_module: Callable[[str, str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_episodes(opener)
    monkeypatch.setenv(MODEL_ENV, model_module(f"MODEL = ScriptedModel(['{MERGED}'])\n", "MODEL"))
    monkeypatch.setenv("COLUMNS", "200")  # the table on one line per text
    result = run("consolidate", "--user", "alice")
    assert MERGED in result.stdout and "- Our flight to Lisbon leaves on the 12th of June." in result.stdout
    assert "Merged 3 episodes into 1 memory (4 read)." in result.stdout


def test_a_dry_run_shows_the_clusters_and_builds_no_model(
    run: Run, opener: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = seed_episodes(opener)
    monkeypatch.setenv("COLUMNS", "200")
    result = run("consolidate", "--user", "alice", "--dry-run", "--model", "no_such_module_anywhere:model")
    assert "Would merge 3 episodes into 1 memory (4 read)." in result.stdout
    assert "We are flying to Lisbon on June 12th." in result.stdout and "(dry run)" in result.stdout
    report = as_json(run("consolidate", "--user", "alice", "--dry-run", "--json"))
    assert report["dry_run"] is True and report["clusters"][0]["keys"] == keys  # type: ignore[index]
    assert len(json.loads(run("list", "--all", "--json").stdout)["memories"]) == 4


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_anywhere:model", "cannot load it"),
        ("json:no_such_attribute", "cannot load it"),
        ("os:sep", "is a str, not a Strands Model"),
        ("json:dumps", "calling it failed"),
        ("justaname", "use bedrock, bedrock:MODEL_ID or module:attribute"),
    ],
)
def test_a_bad_model_spec_is_a_usage_error(run: Run, opener: Opener, spec: str, message: str) -> None:
    seed_episodes(opener)
    result = run("consolidate", "--user", "alice", "--model", spec, code=2)
    assert "--model" in result.output and message in result.output and "Traceback" not in result.output
    assert len(json.loads(run("list", "--all", "--json").stdout)["memories"]) == 4


def test_a_failing_model_stops_cleanly_and_deletes_nothing(
    run: Run, opener: Opener, model_module: Callable[[str, str], str]
) -> None:
    seed_episodes(opener)
    spec = model_module("MODEL = ScriptedModel([RuntimeError('ThrottlingException: slow down')])\n", "MODEL")
    result = run("consolidate", "--user", "alice", "--model", spec, code=1)
    assert "the model failed while merging" in result.output and "slow down" in result.output
    assert "Traceback" not in result.output
    assert len(json.loads(run("list", "--all", "--json").stdout)["memories"]) == 4


def test_consolidate_needs_a_scope(run: Run) -> None:
    assert "--user" in run("consolidate", "--dry-run", code=2).output


def test_consolidate_refuses_bad_cluster_sizes(run: Run, opener: Opener) -> None:
    seed_episodes(opener)
    assert "max_cluster" in run("consolidate", "--user", "alice", "--dry-run", "--max-cluster", "50", code=2).output
    assert "--threshold" in run("consolidate", "--user", "alice", "--dry-run", "--threshold", "1.5", code=2).output


def test_bedrock_specs_build_bedrock_models() -> None:
    model = load_model("bedrock:us.amazon.nova-lite-v1:0")
    assert type(model).__name__ == "BedrockModel"
    assert model.get_config()["model_id"] == "us.amazon.nova-lite-v1:0"
    assert type(load_model("bedrock")).__name__ == "BedrockModel"


def test_expire_and_consolidate_on_s3_vectors(
    s3vectors_endpoint: str,
    embedder: MiniLMEmbedder,
    model_module: Callable[[str, str], str],
) -> None:
    bucket = unique_bucket("lifecycle")

    def open_s3(clock: Callable[[], float]) -> VectorMemory:
        return VectorMemory.from_s3_vectors(
            bucket, endpoint_url=s3vectors_endpoint, embedder=embedder, create_bucket=True, clock=clock
        )

    seed_lifetimes(open_s3)
    keys = seed_episodes(open_s3)

    def on(*args: str) -> Result:
        result = CliRunner().invoke(
            cli, ["--backend", "s3vectors", "--endpoint-url", s3vectors_endpoint, "--bucket", bucket, *args]
        )
        assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
        return result

    assert as_json(on("expire", "--json")) == {"indexes": 1, "scanned": 7, "expired": 2, "deleted": 2, "dry_run": False}
    spec = model_module(f"MODEL = ScriptedModel(['{MERGED}'])\n", "MODEL")
    report = as_json(on("consolidate", "--user", "alice", "--model", spec, "--json"))
    assert (report["merged"], report["deleted"]) == (1, 3)
    with open_s3(time.time) as memory:
        contents = {m.key: m.content for m in memory.iter_memories(user_id="alice")}
    assert contents[merged_key(keys)] == MERGED and not set(keys) & set(contents)
