"""``tenancy onboard|offboard|list`` on the embedded store and on the local S3 Vectors endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from strands_vector_memory import Scope, VectorMemory
from strands_vector_memory.cli import cli
from strands_vector_memory.embedders import MiniLMEmbedder
from strands_vector_memory.tenancy import TenantIndexLayout, tenant_key

from ..conftest import unique_bucket
from .conftest import Run


def seed(store: Path, embedder: MiniLMEmbedder) -> None:
    with VectorMemory.open(store, embedder=embedder, layout=TenantIndexLayout()) as memory:
        memory.remember_many(["acme one", "acme two", "acme three"], scope=Scope(tenant_id="acme", user_id="u"))
        memory.remember("globex one", scope=Scope(tenant_id="Globex Corp", user_id="u"))


def test_onboard_creates_indexes_and_list_shows_them(run: Run, store: Path) -> None:
    out = json.loads(run("tenancy", "onboard", "acme", "Globex Corp", "--json").stdout)
    assert out == [
        {"tenant_id": "acme", "tenant_key": "acme", "index": "memory-acme"},
        {
            "tenant_id": "Globex Corp",
            "tenant_key": tenant_key("Globex Corp"),
            "index": f"memory-{tenant_key('Globex Corp')}",
        },
    ]
    run("tenancy", "onboard", "acme")  # idempotent
    listed = json.loads(run("tenancy", "list", "--json").stdout)
    assert [t["index"] for t in listed] == sorted(["memory-acme", f"memory-{tenant_key('Globex Corp')}"])


def test_offboard_deletes_every_memory_of_the_tenant_and_nothing_else(
    run: Run, store: Path, embedder: MiniLMEmbedder
) -> None:
    seed(store, embedder)
    dry = json.loads(run("tenancy", "offboard", "acme", "--dry-run", "--json").stdout)
    assert dry["vectors"] == 3 and dry["existed"] and dry["dry_run"]
    run("tenancy", "offboard", "acme", input="n\n", code=1)  # declined: nothing happens
    assert (store / "memory-acme.sqlite3").exists()
    done = run("tenancy", "offboard", "acme", input="y\n")
    assert "Deleted index memory-acme with 3 memories" in done.output
    assert not (store / "memory-acme.sqlite3").exists()
    with VectorMemory.open(store, embedder=embedder, layout=TenantIndexLayout()) as memory:
        assert memory.recall("acme", scope=Scope(tenant_id="acme", user_id="u")) == []
        assert [m.content for m in memory.recall("one", scope=Scope(tenant_id="Globex Corp", user_id="u"))] == [
            "globex one"
        ]
    again = json.loads(run("tenancy", "offboard", "acme", "--yes", "--json").stdout)
    assert again["existed"] is False and again["vectors"] == 0
    counted = json.loads(run("tenancy", "list", "--count", "--json").stdout)
    assert counted == [
        {"tenant_key": tenant_key("Globex Corp"), "index": f"memory-{tenant_key('Globex Corp')}", "vectors": 1}
    ]


def test_a_bad_tenant_id_is_invalid_input(run: Run) -> None:
    result = run("tenancy", "onboard", "bad\x00id", code=2)
    assert "control characters" in result.output


@pytest.fixture
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for name in ("S3_VECTOR_BUCKET_NAME", "AWS_ENDPOINT_URL_S3VECTORS", "STRANDS_MEMORY_BACKEND", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("_credentials")
def test_the_same_commands_on_s3_vectors(s3vectors_endpoint: str) -> None:
    bucket = unique_bucket("tenants")
    base = ["--backend", "s3vectors", "--endpoint-url", s3vectors_endpoint, "--bucket", bucket]

    def on(*args: str) -> str:
        result = CliRunner().invoke(cli, [*base, *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    on("init")
    on("tenancy", "onboard", "acme", "globex")
    assert [t["index"] for t in json.loads(on("tenancy", "list", "--json"))] == ["memory-acme", "memory-globex"]
    gone = json.loads(on("tenancy", "offboard", "acme", "--yes", "--json"))
    assert gone["existed"] and gone["index"] == "memory-acme"
    assert [t["index"] for t in json.loads(on("tenancy", "list", "--json"))] == ["memory-globex"]
