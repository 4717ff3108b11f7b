"""MemoryPlugin on Amazon S3 Vectors: a real Agent, the S3VectorsBackend, a real endpoint over HTTP.

Only the LLM is scripted. The same plugin code runs on the embedded engine in
``test_plugin.py``; here the memory of conversation one must reach conversation two
through S3 Vectors' wire protocol, with hybrid (queryTexts) recall.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from strands import Agent

from strands_vector_memory import MiniLMEmbedder, VectorMemory
from strands_vector_memory.strands_agents import MemoryPlugin, ScriptedModel
from strands_vector_memory.strands_agents._plugin import _default_outbox_path

from ..conftest import unique_bucket

BLOCK = re.compile(r"<memories>\n(.*?)\n</memories>", re.DOTALL)


@pytest.fixture
def s3_memory(s3vectors_endpoint: str, embedder: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch) -> VectorMemory:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    return VectorMemory.from_s3_vectors(
        unique_bucket("agent"),
        region="us-east-1",
        endpoint_url=s3vectors_endpoint,
        embedder=embedder,
        create_bucket=True,
    )


def test_a_second_conversation_recalls_the_first_through_s3_vectors(s3_memory: VectorMemory, tmp_path: Path) -> None:
    model = ScriptedModel(["Noted: no peanuts.", "Try the lemon sorbet."])
    with s3_memory:
        plugin = MemoryPlugin(s3_memory, outbox=tmp_path / "outbox.sqlite3", idle_timeout=None, summarise=False)
        agent = Agent(model=model, plugins=[plugin], callback_handler=None, system_prompt="You help with food.")
        agent("I'm allergic to peanuts, remember that.", invocation_state={"user_id": "alice", "conversation_id": "c1"})
        assert plugin.flush(timeout=30) == 0
        stored = s3_memory.list(user_id="alice").memories
        assert any("allergic to peanuts" in m.content for m in stored)

        later = Agent(model=model, plugins=[plugin], callback_handler=None, system_prompt="You help with food.")
        later("Which dessert should I order?", invocation_state={"user_id": "alice", "conversation_id": "c2"})
        block = BLOCK.findall(model.requests[-1].system_text())
        assert len(block) == 1 and "allergic to peanuts" in block[0]
        assert s3_memory.backend.supports_text_search("memories")  # type: ignore[attr-defined]
        plugin.close(timeout=10)


def test_the_default_outbox_is_per_bucket_and_endpoint(s3_memory: VectorMemory, s3vectors_endpoint: str) -> None:
    with s3_memory:
        path = _default_outbox_path(s3_memory)
        bucket = s3_memory.backend.bucket  # type: ignore[attr-defined]
        assert path.parent.name == "outboxes" and path.name.startswith(f"{bucket}-")
        other = VectorMemory.from_s3_vectors(
            "another-bucket", region="us-east-1", endpoint_url=s3vectors_endpoint, embedder=s3_memory.embedder
        )
        assert _default_outbox_path(other) != path
        other.close()
