"""Tests for the Amazon Bedrock embedders (Titan Text V2, Nova 2 multimodal).

No AWS account is involved and nothing leaves the process. Two kinds of fake service:

* botocore's ``Stubber`` on a real ``bedrock-runtime`` client, so every request is
  validated against the installed service model; request bodies are compared as
  parsed JSON by :class:`JsonBody` inside the Stubber's own parameter check.
* a ``before-send`` handler on a real client (real serialisation and signing, no
  network) that answers from the request body, for concurrency, where the Stubber's
  strictly ordered queue cannot be used.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import numpy as np
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.response import StreamingBody
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from strands_vector_memory import __version__
from strands_vector_memory.core import (
    AccessDeniedError,
    BackendUnavailableError,
    NotFoundError,
    QuotaExceededError,
    RetryableError,
    ThrottledError,
    ValidationError,
    VectorMemoryError,
)
from strands_vector_memory.embedders import Embedder, NovaEmbedder, TitanEmbedder
from strands_vector_memory.embedders._bedrock import ERROR_CLASSES, RETRYABLE_CODES, clip_text
from strands_vector_memory.embedders._bedrock_models import shorter_for_tokens

TITAN = "amazon.titan-embed-text-v2:0"
NOVA = "amazon.nova-2-multimodal-embeddings-v1:0"
USER_AGENT = f"strands-vector-memory/{__version__}"


# --------------------------------------------------------------------------- helpers


def make_client(**config: Any) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(**config) if config else None,
    )


class JsonBody:
    """Equal to a request body whose JSON decodes to ``expected``, so the Stubber checks content."""

    def __init__(self, expected: dict[str, Any]) -> None:
        self.expected = expected

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, bytes | str):
            return NotImplemented
        return json.loads(other) == self.expected

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"JsonBody({self.expected!r})"


def response(payload: dict[str, Any] | bytes) -> dict[str, Any]:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return {"body": StreamingBody(io.BytesIO(data), len(data)), "contentType": "application/json"}


def vector(dim: int, seed: int) -> list[float]:
    """A deterministic vector of norm about 3, so normalisation is visible."""
    return [float(x) for x in np.random.default_rng(seed).normal(size=dim) * 3 / np.sqrt(dim)]


def unit(values: list[float]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    return array / np.linalg.norm(array)


def titan_body(text: str, dim: int = 1024) -> dict[str, Any]:
    return {"inputText": text, "dimensions": dim, "normalize": True}


def nova_body(text: str, purpose: str, dim: int = 1024) -> dict[str, Any]:
    return {
        "taskType": "SINGLE_EMBEDDING",
        "singleEmbeddingParams": {
            "embeddingPurpose": purpose,
            "embeddingDimension": dim,
            "text": {"truncationMode": "END", "value": text},
        },
    }


def expected_params(model_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "modelId": model_id,
        "body": JsonBody(body),
        "contentType": "application/json",
        "accept": "application/json",
    }


class Sleeps(list[float]):
    """Records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = make_client()
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def add_titan(stubber: Stubber, text: str, values: list[float], dim: int = 1024) -> None:
    payload = {"embedding": values, "inputTextTokenCount": len(text.split())}
    stubber.add_response("invoke_model", response(payload), expected_params(TITAN, titan_body(text, dim)))


def add_nova(stubber: Stubber, text: str, purpose: str, values: list[float], dim: int = 1024) -> None:
    payload = {"embeddings": [{"embeddingType": "TEXT", "embedding": values}]}
    stubber.add_response("invoke_model", response(payload), expected_params(NOVA, nova_body(text, purpose, dim)))


def add_error(stubber: Stubber, code: str, status: int, message: str = "boom") -> None:
    stubber.add_client_error("invoke_model", code, message, status)


# ------------------------------------------------------------------ identity and arguments


@pytest.mark.parametrize(
    ("cls", "model_id", "dims"),
    [(TitanEmbedder, TITAN, (256, 512, 1024)), (NovaEmbedder, NOVA, (256, 384, 1024, 3072))],
)
def test_name_and_dimension_are_stable_and_distinct(cls: Any, model_id: str, dims: tuple[int, ...]) -> None:
    client = make_client()
    default = cls(client=client)
    assert default.dimension == 1024
    assert default.name == f"bedrock:{model_id}:1024"
    assert default.model_id == model_id
    names = {cls(client=client, dimension=dim).name for dim in dims}
    assert len(names) == len(dims)
    for dim in dims:
        embedder = cls(client=client, dimension=dim)
        assert embedder.dimension == dim
        assert embedder.name == f"bedrock:{model_id}:{dim}"
    assert cls(client=client, model_id=f"us.{model_id}").name == f"bedrock:us.{model_id}:1024"


def test_titan_and_nova_names_differ() -> None:
    client = make_client()
    assert TitanEmbedder(client=client, dimension=256).name != NovaEmbedder(client=client, dimension=256).name


@pytest.mark.parametrize("cls", [TitanEmbedder, NovaEmbedder])
def test_satisfies_the_embedder_protocol(cls: Any) -> None:
    assert isinstance(cls(client=make_client()), Embedder)


@pytest.mark.parametrize(
    ("cls", "dimension", "allowed"),
    [
        (TitanEmbedder, 384, "256, 512, 1024"),
        (TitanEmbedder, 3072, "256, 512, 1024"),
        (NovaEmbedder, 512, "256, 384, 1024, 3072"),
        (NovaEmbedder, True, "256, 384, 1024, 3072"),
        (TitanEmbedder, "1024", "256, 512, 1024"),
        (TitanEmbedder, 1024.0, "256, 512, 1024"),
    ],
)
def test_a_bad_dimension_names_the_allowed_values(cls: Any, dimension: Any, allowed: str) -> None:
    with pytest.raises(ValidationError, match=allowed) as info:
        cls(client=make_client(), dimension=dimension)
    assert info.value.field == "dimension"
    assert info.value.limit == f"one of {allowed}"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_concurrency": 0},
        {"max_concurrency": 2.5},
        {"max_attempts": 0},
        {"base_delay": -1},
        {"base_delay": float("nan")},
        {"base_delay": 2.0, "max_delay": 1.0},
        {"sleep": 3},
        {"model_id": ""},
        {"region_name": "us-east-1"},
        {"config": Config()},
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TitanEmbedder(client=make_client(), **kwargs)


# ------------------------------------------------------------------------ request bodies


def test_titan_sends_the_documented_body_and_returns_unit_float32(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    values = vector(256, 1)
    add_titan(stubber, "hello world", values, dim=256)
    out = TitanEmbedder(client=client, dimension=256).embed_query("hello world")
    assert out.dtype == np.float32
    assert out.shape == (256,)
    assert np.isfinite(out).all()
    assert abs(float(np.linalg.norm(out)) - 1.0) < 1e-6
    np.testing.assert_allclose(out, unit(values), atol=1e-6)


def test_titan_is_symmetric(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    values = vector(512, 2)
    add_titan(stubber, "same text", values, dim=512)
    add_titan(stubber, "same text", values, dim=512)
    embedder = TitanEmbedder(client=client, dimension=512)
    np.testing.assert_array_equal(embedder.embed_documents(["same text"])[0], embedder.embed_query("same text"))


def test_nova_documents_are_indexed_and_queries_retrieve(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    embedder = NovaEmbedder(client=client, dimension=384, max_concurrency=1)
    add_nova(stubber, "Alice lives in Lisbon", "GENERIC_INDEX", vector(384, 3), dim=384)
    add_nova(stubber, "Bob likes tea", "GENERIC_INDEX", vector(384, 4), dim=384)
    add_nova(stubber, "where does Alice live?", "GENERIC_RETRIEVAL", vector(384, 5), dim=384)
    docs = embedder.embed_documents(["Alice lives in Lisbon", "Bob likes tea"])
    query = embedder.embed_query("where does Alice live?")
    assert docs.shape == (2, 384) and docs.dtype == np.float32
    np.testing.assert_allclose(docs, [unit(vector(384, 3)), unit(vector(384, 4))], atol=1e-6)
    np.testing.assert_allclose(query, unit(vector(384, 5)), atol=1e-6)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-6)


def test_json_body_really_compares_content(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    add_nova(stubber, "x", "GENERIC_RETRIEVAL", vector(1024, 6))
    embedder = NovaEmbedder(client=client)
    with pytest.raises(botocore.exceptions.StubAssertionError, match="GENERIC_RETRIEVAL"):
        embedder.embed_documents(["x"])  # a document is GENERIC_INDEX: the stub refuses it
    embedder.embed_query("x")  # the same stub accepts the query


def test_batch_order_is_preserved(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    texts = [f"fact number {i}" for i in range(6)]
    for i, text in enumerate(texts):
        add_titan(stubber, text, vector(1024, 100 + i))
    out = TitanEmbedder(client=client, max_concurrency=1).embed_documents(texts)
    np.testing.assert_allclose(out, [unit(vector(1024, 100 + i)) for i in range(6)], atol=1e-6)


@pytest.mark.parametrize("cls", [TitanEmbedder, NovaEmbedder])
def test_an_empty_batch_makes_no_call(stubbed: tuple[Any, Stubber], cls: Any) -> None:
    client, _ = stubbed
    out = cls(client=client, dimension=256).embed_documents([])
    assert out.shape == (0, 256)
    assert out.dtype == np.float32


# ------------------------------------------------------------------------- input rules


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_blank_texts_are_rejected_before_any_call(stubbed: tuple[Any, Stubber], bad: str) -> None:
    client, _ = stubbed
    embedder = TitanEmbedder(client=client)
    with pytest.raises(ValidationError, match="blank") as info:
        embedder.embed_documents(["fine", bad])
    assert info.value.field == "texts[1]"
    with pytest.raises(ValidationError):
        embedder.embed_query(bad)


def test_non_strings_and_bare_strings_are_type_errors(stubbed: tuple[Any, Stubber]) -> None:
    client, _ = stubbed
    embedder = NovaEmbedder(client=client)
    with pytest.raises(TypeError):
        embedder.embed_documents("one string")
    with pytest.raises(TypeError):
        embedder.embed_documents([b"bytes"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        embedder.embed_query(None)  # type: ignore[arg-type]


def test_a_lone_surrogate_is_rejected(stubbed: tuple[Any, Stubber]) -> None:
    client, _ = stubbed
    with pytest.raises(ValidationError, match="not valid Unicode"):
        TitanEmbedder(client=client).embed_query("bad \ud800 text")


def test_titan_clips_long_text_to_50000_characters(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    add_titan(stubber, "a" * 50_000, vector(1024, 7))
    TitanEmbedder(client=client).embed_documents(["a" * 70_000])


def test_clipping_never_splits_a_character(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    # 1 + 30,000 emoji = 60,001 UTF-16 units; 49,999 are left for emoji, an odd number,
    # so the cut falls inside a surrogate pair and the half character is dropped.
    text = "x" + "\N{GRINNING FACE}" * 30_000
    add_titan(stubber, "x" + "\N{GRINNING FACE}" * 24_999, vector(1024, 8))
    TitanEmbedder(client=client).embed_query(text)


def test_nova_caps_what_it_sends_and_asks_the_service_to_truncate(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    add_nova(stubber, "b" * 50_000, "GENERIC_INDEX", vector(1024, 9))
    add_nova(stubber, "short", "GENERIC_RETRIEVAL", vector(1024, 10))
    embedder = NovaEmbedder(client=client)
    embedder.embed_documents(["b" * 1_000_000])
    embedder.embed_query("short")


def test_titan_retries_shorter_when_over_the_token_limit(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    text = "\u6f22" * 10_000  # dense script: about a token per character
    message = "400 Bad Request: Too many input tokens. Max input tokens: 8192, request input token count: 10000"
    stubber.add_client_error(
        "invoke_model", "ValidationException", message, 400, expected_params=expected_params(TITAN, titan_body(text))
    )
    shorter = text[: int(10_000 * 8192 / 10_000 * 0.9)]
    add_titan(stubber, shorter, vector(1024, 11))
    sleeps = Sleeps()
    out = TitanEmbedder(client=client, sleep=sleeps).embed_query(text)
    np.testing.assert_allclose(out, unit(vector(1024, 11)), atol=1e-6)
    assert sleeps == []


def test_titan_gives_up_on_tokens_after_three_shorter_tries(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    message = "Too many input tokens. Max input tokens: 8192, request input token count: 9000"
    for _ in range(4):
        add_error(stubber, "ValidationException", 400, message)
    with pytest.raises(ValidationError, match="Too many input tokens"):
        TitanEmbedder(client=client).embed_query("\u6f22" * 9000)


def test_other_validation_errors_are_not_retried(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    add_error(stubber, "ValidationException", 400, "Malformed input request")
    with pytest.raises(ValidationError, match="Malformed input request"):
        TitanEmbedder(client=client).embed_query("text")


@given(st.text(max_size=40), st.integers(min_value=0, max_value=50))
def test_clip_text_keeps_the_longest_whole_prefix(text: str, limit: int) -> None:
    def units(s: str) -> int:
        return len(s.encode("utf-16-le")) // 2

    clipped = clip_text(text, limit)
    assert text.startswith(clipped)
    assert units(clipped) <= limit
    clipped.encode("utf-8")  # whole characters only
    if clipped != text:
        assert units(text[: len(clipped) + 1]) > limit


def test_shorter_for_tokens() -> None:
    message = "Too many input tokens. Max input tokens: 8192, request input token count: 16384"
    assert shorter_for_tokens("x" * 1000, message) == "x" * 450
    assert shorter_for_tokens("x" * 1000, "Malformed input request") is None
    assert shorter_for_tokens("x", message) is None  # nothing left to cut


# ------------------------------------------------------------------------------ retries


def test_throttling_then_success_waits_with_jitter(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    add_error(stubber, "ThrottlingException", 429, "Too many requests")
    add_error(stubber, "ThrottlingException", 429, "Too many requests")
    add_titan(stubber, "retry me", vector(1024, 12))
    sleeps = Sleeps()
    embedder = TitanEmbedder(client=client, max_attempts=4, base_delay=0.5, max_delay=8.0, sleep=sleeps)
    out = embedder.embed_query("retry me")
    np.testing.assert_allclose(out, unit(vector(1024, 12)), atol=1e-6)
    assert len(sleeps) == 2
    assert 0.0 <= sleeps[0] <= 0.5
    assert 0.0 <= sleeps[1] <= 1.0


@pytest.mark.parametrize("code", sorted(RETRYABLE_CODES))
def test_every_retryable_code_is_retried(stubbed: tuple[Any, Stubber], code: str) -> None:
    client, stubber = stubbed
    add_error(stubber, code, 503)
    add_nova(stubber, "again", "GENERIC_RETRIEVAL", vector(1024, 13))
    sleeps = Sleeps()
    NovaEmbedder(client=client, sleep=sleeps).embed_query("again")
    assert len(sleeps) == 1


def test_throttling_exhausted_raises_throttled(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    for _ in range(3):
        add_error(stubber, "ThrottlingException", 429, "Rate exceeded")
    sleeps = Sleeps()
    embedder = TitanEmbedder(client=client, max_attempts=3, base_delay=1.0, max_delay=1.5, sleep=sleeps)
    with pytest.raises(ThrottledError, match="gave up after 3 attempts") as info:
        embedder.embed_query("busy")
    assert isinstance(info.value.__cause__, botocore.exceptions.ClientError)
    assert TITAN in str(info.value)
    assert len(sleeps) == 2
    assert 0.0 <= sleeps[0] <= 1.0
    assert 0.0 <= sleeps[1] <= 1.5  # min(max_delay, 2.0)


@pytest.mark.parametrize("code", sorted(RETRYABLE_CODES - {"ThrottlingException"}))
def test_transient_errors_exhausted_raise_backend_unavailable(stubbed: tuple[Any, Stubber], code: str) -> None:
    client, stubber = stubbed
    add_error(stubber, code, 500)
    add_error(stubber, code, 500)
    with pytest.raises(BackendUnavailableError, match=code):
        NovaEmbedder(client=client, max_attempts=2, sleep=Sleeps()).embed_query("x")


def test_waits_never_exceed_max_delay(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    for _ in range(8):
        add_error(stubber, "ServiceUnavailableException", 503)
    sleeps = Sleeps()
    with pytest.raises(BackendUnavailableError):
        TitanEmbedder(client=client, max_attempts=8, base_delay=0.25, max_delay=2.0, sleep=sleeps).embed_query("x")
    assert len(sleeps) == 7
    for n, wait in enumerate(sleeps):
        assert 0.0 <= wait <= min(2.0, 0.25 * 2**n)


def test_one_attempt_means_no_retry(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    add_error(stubber, "ThrottlingException", 429)
    sleeps = Sleeps()
    with pytest.raises(ThrottledError):
        TitanEmbedder(client=client, max_attempts=1, sleep=sleeps).embed_query("x")
    assert sleeps == []


# ------------------------------------------------------------------------ error mapping


def test_the_mapping_covers_every_error_invoke_model_declares() -> None:
    operation = make_client().meta.service_model.operation_model("InvokeModel")
    declared = {shape.name for shape in operation.error_shapes}
    assert declared, "the service model declares no errors: the test would prove nothing"
    assert declared <= set(ERROR_CLASSES), f"unmapped: {sorted(declared - set(ERROR_CLASSES))}"
    assert set(RETRYABLE_CODES) <= declared
    for code in RETRYABLE_CODES:
        assert issubclass(ERROR_CLASSES[code], RetryableError)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ValidationException", 400, ValidationError),
        ("AccessDeniedException", 403, AccessDeniedError),
        ("ResourceNotFoundException", 404, NotFoundError),
        ("ServiceQuotaExceededException", 400, QuotaExceededError),
        ("ModelErrorException", 424, BackendUnavailableError),
        ("ModelStreamErrorException", 424, BackendUnavailableError),
        ("UnrecognizedClientException", 403, AccessDeniedError),
        ("ExpiredTokenException", 403, AccessDeniedError),
        ("SomethingNewException", 429, ThrottledError),
        ("SomethingNewException", 502, BackendUnavailableError),
        ("SomethingNewException", 404, NotFoundError),
        ("SomethingNewException", 418, VectorMemoryError),
    ],
)
def test_client_errors_map_to_the_project_tree(
    stubbed: tuple[Any, Stubber], code: str, status: int, expected: type[Exception]
) -> None:
    client, stubber = stubbed
    add_error(stubber, code, status, "the service said no")
    sleeps = Sleeps()
    with pytest.raises(expected, match="the service said no") as info:
        TitanEmbedder(client=client, sleep=sleeps).embed_query("x")
    assert type(info.value) is expected  # the most specific class, not a parent
    assert isinstance(info.value.__cause__, botocore.exceptions.ClientError)
    assert sleeps == []  # not retried


def test_every_declared_error_maps_when_raised(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    operation = client.meta.service_model.operation_model("InvokeModel")
    embedder = NovaEmbedder(client=client, max_attempts=1)
    for shape in operation.error_shapes:
        add_error(stubber, shape.name, shape.metadata["error"]["httpStatusCode"])
        with pytest.raises(ERROR_CLASSES[shape.name]):
            embedder.embed_query("x")


def titan_raw(head: str, count: int = 255) -> bytes:
    """A Titan response body whose 256 values are ``head`` then ``count`` ones, as raw JSON."""
    return ('{"embedding": [' + ", ".join([head, *["1.0"] * count]) + "]}").encode()


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (titan_raw("NaN"), "non-finite"),
        (titan_raw("-Infinity"), "non-finite"),
        (('{"embedding": [' + ", ".join(["0.0"] * 256) + "]}").encode(), "zero"),
        (titan_raw("1.0", count=254), "shape"),
        (titan_raw("null"), "non-finite"),  # numpy reads null as NaN
        (titan_raw('"abc"'), "malformed"),
        (b'{"vectors": []}', "malformed"),
        (b"<html>oops</html>", "not JSON"),
    ],
)
def test_bad_responses_raise_backend_unavailable_naming_the_model(
    stubbed: tuple[Any, Stubber], body: bytes, what: str
) -> None:
    client, stubber = stubbed
    stubber.add_response("invoke_model", response(body))
    with pytest.raises(BackendUnavailableError, match=what) as info:
        TitanEmbedder(client=client, dimension=256).embed_query("x")
    assert TITAN in str(info.value)


def test_huge_and_tiny_values_still_normalise(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("invoke_model", response(titan_raw("1e308").replace(b"1.0", b"1e308")))
    stubber.add_response("invoke_model", response(titan_raw("1e-320").replace(b"1.0", b"1e-320")))
    embedder = TitanEmbedder(client=client, dimension=256)
    for _ in range(2):
        out = embedder.embed_query("x")
        np.testing.assert_allclose(out, np.full(256, 1 / 16, dtype=np.float32), rtol=1e-6)


def test_nova_non_finite_response_is_rejected(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    values = vector(256, 14)
    body = json.dumps({"embeddings": [{"embeddingType": "TEXT", "embedding": values}]}).replace(
        str(values[0]), "NaN", 1
    )
    stubber.add_response("invoke_model", response(body.encode()))
    with pytest.raises(BackendUnavailableError, match=NOVA):
        NovaEmbedder(client=client, dimension=256).embed_query("x")


# ----------------------------------------------------- a fake service behind a real client


class FakeBedrock:
    """Answers InvokeModel from a ``before-send`` hook: real serialisation, no network.

    A text ``"t<k>"`` embeds to the k-th basis vector, so a row's argmax says which
    text it came from. With ``barrier`` set, each call waits until that many calls
    are in flight together, which only happens if calls really overlap.
    """

    def __init__(self, client: Any, dim: int, barrier: int | None = None, fail_on: str | None = None) -> None:
        self.dim = dim
        self.fail_on = fail_on
        self.barrier = threading.Barrier(barrier, timeout=10) if barrier else None
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.bodies: list[dict[str, Any]] = []
        self.user_agents: list[str] = []
        client.meta.events.register("before-send.bedrock-runtime.InvokeModel", self)

    def __call__(self, request: Any, **kwargs: Any) -> AWSResponse:
        body = json.loads(request.body)
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.bodies.append(body)
            self.user_agents.append(request.headers["User-Agent"].decode())
        try:
            if self.barrier is not None:
                self.barrier.wait()
            else:
                time.sleep(0.001)
            text = body["inputText"] if "inputText" in body else body["singleEmbeddingParams"]["text"]["value"]
            if text == self.fail_on:
                return self._answer(400, {"message": "Malformed input request"}, error="ValidationException")
            values = np.full(self.dim, 0.01)
            values[int(text[1:]) % self.dim] = 5.0
            if "inputText" in body:
                return self._answer(200, {"embedding": values.tolist(), "inputTextTokenCount": 1})
            return self._answer(200, {"embeddings": [{"embeddingType": "TEXT", "embedding": values.tolist()}]})
        finally:
            with self.lock:
                self.in_flight -= 1

    @staticmethod
    def _answer(status: int, payload: dict[str, Any], error: str | None = None) -> AWSResponse:
        data = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data))}
        if error:
            headers["x-amzn-ErrorType"] = error
        return AWSResponse("https://bedrock-runtime.us-east-1.amazonaws.com", status, headers, _Raw(data))


class _Raw:
    """The smallest urllib3-like body AWSResponse and StreamingBody read from."""

    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)

    def read(self, amt: int | None = None) -> bytes:
        return self._buffer.read(amt)

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._buffer.read()

    def close(self) -> None:
        self._buffer.close()


@pytest.mark.parametrize(("cls", "purpose"), [(TitanEmbedder, None), (NovaEmbedder, "GENERIC_INDEX")])
def test_calls_overlap_up_to_max_concurrency_and_keep_order(cls: Any, purpose: str | None) -> None:
    client = make_client(max_pool_connections=4)
    fake = FakeBedrock(client, dim=256, barrier=4)
    texts = [f"t{k}" for k in range(32)]
    out = cls(client=client, dimension=256, max_concurrency=4).embed_documents(texts)
    assert out.shape == (32, 256) and out.dtype == np.float32
    assert list(out.argmax(axis=1)) == list(range(32))
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    assert fake.max_in_flight == 4  # the barrier proves overlap; the pool caps it
    assert len(fake.bodies) == 32
    if purpose is not None:
        assert {b["singleEmbeddingParams"]["embeddingPurpose"] for b in fake.bodies} == {purpose}


def test_a_failure_stops_the_rest_of_the_batch() -> None:
    client = make_client()
    fake = FakeBedrock(client, dim=256, fail_on="t3")
    with pytest.raises(ValidationError, match="Malformed input request"):
        TitanEmbedder(client=client, dimension=256, max_concurrency=2).embed_documents([f"t{k}" for k in range(200)])
    assert len(fake.bodies) < 200


def test_thread_safety_smoke() -> None:
    client = make_client(max_pool_connections=16)
    FakeBedrock(client, dim=256)
    embedder = NovaEmbedder(client=client, dimension=256, max_concurrency=4)
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            for round_ in range(5):
                start = offset * 100 + round_ * 5
                texts = [f"t{start + k}" for k in range(5)]
                rows = embedder.embed_documents(texts)
                assert list(rows.argmax(axis=1)) == [(start + k) % 256 for k in range(5)]
                assert int(embedder.embed_query(f"t{start}").argmax()) == start % 256
        except BaseException as exc:  # surfaced below: pytest does not see thread failures
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# ------------------------------------------------------------------ clients and configs


@pytest.fixture
def no_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials, no region, no config files, no instance metadata: nothing leaks in."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_a_built_client_has_our_defaults_and_user_agent() -> None:
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="eu-west-1")
    embedder = TitanEmbedder(session=session, max_concurrency=24)
    config = embedder._client.meta.config
    assert embedder._client.meta.region_name == "eu-west-1"
    assert config.retries["mode"] == "adaptive"
    assert config.connect_timeout == 5
    assert config.read_timeout == 60
    assert config.max_pool_connections >= 24
    assert USER_AGENT in config.user_agent_extra
    fake = FakeBedrock(embedder._client, dim=1024)
    embedder.embed_query("t1")
    assert USER_AGENT in fake.user_agents[0]


def test_a_caller_config_is_merged_and_still_carries_our_user_agent() -> None:
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y")
    caller = Config(user_agent_extra="my-agent/2.0", read_timeout=7, max_pool_connections=2)
    embedder = NovaEmbedder(session=session, region_name="us-east-1", config=caller, max_concurrency=16)
    config = embedder._client.meta.config
    assert config.read_timeout == 7  # the caller's explicit choice wins
    assert config.connect_timeout == 5  # ours where the caller said nothing
    assert config.max_pool_connections == 16  # never fewer connections than concurrent calls
    assert config.user_agent_extra == f"my-agent/2.0 {USER_AGENT}"


def test_missing_region_is_a_validation_error(no_aws_environment: None) -> None:
    with pytest.raises(ValidationError, match="region") as info:
        TitanEmbedder()
    assert info.value.field == "region_name"


def test_missing_credentials_is_access_denied(no_aws_environment: None) -> None:
    embedder = TitanEmbedder(region_name="us-east-1")
    with pytest.raises(AccessDeniedError, match="no AWS credentials"):
        embedder.embed_query("x")


def test_connection_errors_are_retried_then_backend_unavailable() -> None:
    client = make_client(retries={"mode": "standard", "total_max_attempts": 1})
    calls: list[int] = []

    def unreachable(request: Any, **kwargs: Any) -> None:
        calls.append(1)
        raise botocore.exceptions.EndpointConnectionError(endpoint_url=request.url)

    client.meta.events.register("before-send.bedrock-runtime.InvokeModel", unreachable)
    sleeps = Sleeps()
    with pytest.raises(BackendUnavailableError, match="cannot reach") as info:
        TitanEmbedder(client=client, max_attempts=3, sleep=sleeps).embed_query("x")
    assert isinstance(info.value.__cause__, botocore.exceptions.EndpointConnectionError)
    assert len(calls) == 3
    assert len(sleeps) == 2


def test_the_embedders_import_without_boto3_and_say_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['boto3'] = None; sys.modules['botocore'] = None\n"
        "from strands_vector_memory.embedders import TitanEmbedder\n"
        "try:\n    TitanEmbedder(region_name='us-east-1')\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert "pip install 'strands-vector-memory[aws]'" in result.stdout


def test_repr_names_the_model() -> None:
    assert repr(TitanEmbedder(client=make_client(), dimension=512)) == (
        f"TitanEmbedder(model_id={TITAN!r}, dimension=512, max_concurrency=8)"
    )
