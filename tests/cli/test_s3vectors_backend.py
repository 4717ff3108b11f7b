"""Every command on ``--backend s3vectors``, against a real local endpoint over HTTP."""

from __future__ import annotations

import json

import boto3
import pytest
from click.testing import CliRunner, Result

from strands_vector_memory.cli import cli

from ..conftest import unique_bucket


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials: the endpoint accepts any signature; nothing reaches AWS."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for name in ("S3_VECTOR_BUCKET_NAME", "AWS_ENDPOINT_URL_S3VECTORS", "STRANDS_MEMORY_BACKEND", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


def invoke(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    return result


def on(endpoint: str, bucket: str, *args: str, code: int = 0) -> Result:
    return invoke("--backend", "s3vectors", "--endpoint-url", endpoint, "--bucket", bucket, *args, code=code)


def raw_client(endpoint: str) -> object:
    return boto3.client("s3vectors", endpoint_url=endpoint, region_name="us-east-1")


def test_bucket_and_endpoint_need_the_s3vectors_backend() -> None:
    result = invoke("--bucket", "b1b", "list", code=2)
    assert "--bucket need --backend s3vectors" in result.output or "need --backend s3vectors" in result.output


def test_a_missing_bucket_name_says_what_to_set(s3vectors_endpoint: str) -> None:
    result = invoke("--backend", "s3vectors", "--endpoint-url", s3vectors_endpoint, "list", code=2)
    assert "S3_VECTOR_BUCKET_NAME" in result.output and "--bucket" in result.output


def test_init_creates_the_bucket_and_an_index_with_text_kept_out_of_filters(s3vectors_endpoint: str) -> None:
    bucket = unique_bucket("cli")
    info = json.loads(on(s3vectors_endpoint, bucket, "init", "--json").stdout)
    assert info["store"] == f"s3vectors://{bucket} at {s3vectors_endpoint}"
    assert info["non-filterable"] == "content, context, created_at_iso"
    assert info["text search"] == "yes"
    index = raw_client(s3vectors_endpoint).get_index(vectorBucketName=bucket, indexName="memories")["index"]  # type: ignore[attr-defined]
    config = index["metadataConfiguration"]
    assert sorted(config["nonFilterableMetadataKeys"]) == ["content", "context", "created_at_iso"]
    assert {c["metadataKey"] for c in config["textSearchConfigurations"]} == {"content", "context"}
    assert index["dimension"] == 384 and index["distanceMetric"] == "cosine"
    assert on(s3vectors_endpoint, bucket, "init").exit_code == 0  # idempotent


def test_a_missing_region_says_what_to_set(s3vectors_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    result = on(s3vectors_endpoint, unique_bucket("r"), "list", code=2)
    assert "AWS_REGION" in result.output and "Traceback" not in result.output


def test_init_without_creating_the_bucket_fails_cleanly(s3vectors_endpoint: str) -> None:
    result = on(s3vectors_endpoint, unique_bucket("none"), "init", "--no-create-bucket", code=1)
    assert result.output.startswith("Error: S3 Vectors") and "Traceback" not in result.output


def test_remember_recall_list_stats_forget_through_the_endpoint(s3vectors_endpoint: str) -> None:
    bucket = unique_bucket("cli")
    on(s3vectors_endpoint, bucket, "init")
    on(s3vectors_endpoint, bucket, "remember", "--user", "alice", "Alice is allergic to peanuts")
    on(s3vectors_endpoint, bucket, "remember", "--user", "bob", "Bob collects vintage maps")
    found = json.loads(
        on(s3vectors_endpoint, bucket, "recall", "--user", "alice", "what should I not cook for her?", "--json").stdout
    )
    assert found[0]["content"] == "Alice is allergic to peanuts"
    assert all(m["metadata"]["user_id"] == "alice" for m in found)
    listed = json.loads(on(s3vectors_endpoint, bucket, "list", "--json").stdout)
    assert len(listed["memories"]) == 2
    on(s3vectors_endpoint, bucket, "forget", "--user", "alice", "--yes")
    left = json.loads(on(s3vectors_endpoint, bucket, "recall", "--user", "alice", "peanuts", "--json").stdout)
    assert left == []


def test_demo_runs_in_a_throwaway_index_and_removes_it(s3vectors_endpoint: str) -> None:
    bucket = unique_bucket("demo")
    result = on(s3vectors_endpoint, bucket, "demo")
    assert "all checks passed" in result.stdout
    indexes = raw_client(s3vectors_endpoint).list_indexes(vectorBucketName=bucket)["indexes"]  # type: ignore[attr-defined]
    assert indexes == []
