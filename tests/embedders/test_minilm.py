"""Tests for the bundled offline embedder and the generic LRU cache.

Tolerances are honest about int8 dynamic quantisation: activation ranges are
computed per ONNX run, so a text's vector depends slightly on its batch-mates, and
the integer kernels differ by CPU (VNNI vs plain AVX2). Numbers measured when the
model was exported are in scripts/export_embedder.py's output and the NOTICE file.
"""

from __future__ import annotations

import importlib.resources
import json
import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from strands_vector_memory.embedders import CachedEmbedder, CacheInfo, Embedder, MiniLMEmbedder

REFERENCE = json.loads((Path(__file__).parent / "reference_vectors.json").read_text(encoding="utf-8"))

# Lowest cosine accepted between the bundled int8 model and the fp32 torch
# reference for any single text (the acceptance bar). Measured minimum over the
# reference texts: 0.995 on an AVX512-VNNI CPU, 0.9904 under AVX2-only emulation.
REFERENCE_MIN_COSINE = 0.99
REFERENCE_MEAN_COSINE = 0.99
# Same text embedded alone vs inside a length-sorted batch (measured >= 0.987).
BATCH_MIN_COSINE = 0.98

VARIED_TEXTS = [
    "Where does Alice live?",
    "",
    "ok",
    "Meeting notes: the billing service moves to PostgreSQL 16 by Q3; Bob owns the schema changes.",
    "東京は日本の首都です。",
    "def add(a, b):\n    return a + b",
    " ".join(["A fairly long sentence about agents remembering user preferences."] * 8),
    "🚀 launch at 10:00 UTC",
    "The stock market fell.",
]


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def cosine(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float64]:
    a64 = np.atleast_2d(a).astype(np.float64)
    b64 = np.atleast_2d(b).astype(np.float64)
    return np.asarray(
        (a64 * b64).sum(axis=1) / (np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1)), dtype=np.float64
    )


# --------------------------------------------------------------------------- contract


def test_implements_protocol(embedder: MiniLMEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.name == "all-MiniLM-L6-v2-int8"
    assert embedder.dimension == 384


def test_documents_shape_dtype_and_unit_norm(embedder: MiniLMEmbedder) -> None:
    vectors = embedder.embed_documents(VARIED_TEXTS)
    assert vectors.shape == (len(VARIED_TEXTS), 384)
    assert vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_query_shape_dtype_and_unit_norm(embedder: MiniLMEmbedder) -> None:
    vector = embedder.embed_query("What does the user prefer for breakfast?")
    assert vector.shape == (384,)
    assert vector.dtype == np.float32
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_empty_inputs(embedder: MiniLMEmbedder) -> None:
    empty = embedder.embed_documents([])
    assert empty.shape == (0, 384)
    assert empty.dtype == np.float32
    vector = embedder.embed_query("")
    assert np.isfinite(vector).all()
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_accepts_any_sequence(embedder: MiniLMEmbedder) -> None:
    as_tuple = embedder.embed_documents(("alpha", "beta"))
    as_list = embedder.embed_documents(["alpha", "beta"])
    np.testing.assert_array_equal(as_tuple, as_list)


@pytest.mark.parametrize("bad", ["a single string", b"bytes"])
def test_rejects_bare_string(embedder: MiniLMEmbedder, bad: Any) -> None:
    with pytest.raises(TypeError, match="single string"):
        embedder.embed_documents(bad)


def test_rejects_non_string_items(embedder: MiniLMEmbedder) -> None:
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        embedder.embed_documents(["fine", None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="text must be str"):
        embedder.embed_query(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": -3}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"batch_size": 2.0}, "batch_size"),
        ({"threads": 0}, "threads"),
        ({"threads": "4"}, "threads"),
        ({"cache_size": -1}, "cache_size"),
        ({"cache_size": None}, "cache_size"),
        ({"model_path": 123}, "model_path"),
    ],
)
def test_invalid_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MiniLMEmbedder(**kwargs)


def test_missing_model_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"model\.onnx"):
        MiniLMEmbedder(model_path=tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"tokenizer\.json"):
        MiniLMEmbedder(model_path=tmp_path / "model.onnx")


def test_arguments_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        MiniLMEmbedder(None)  # type: ignore[call-arg]


# --------------------------------------------------------------------------- accuracy


def test_matches_fp32_reference_vectors() -> None:
    assert len(REFERENCE) >= 12
    model = MiniLMEmbedder(cache_size=0)
    got = np.stack([model.embed_query(item["text"]) for item in REFERENCE])
    want = np.array([item["vector"] for item in REFERENCE], dtype=np.float32)
    assert want.shape == (len(REFERENCE), 384)
    scores = cosine(got, want)
    worst = int(scores.argmin())
    assert scores.min() >= REFERENCE_MIN_COSINE, (REFERENCE[worst]["text"][:60], float(scores[worst]))
    assert scores.mean() >= REFERENCE_MEAN_COSINE, float(scores.mean())


def test_reference_vectors_also_match_when_batched() -> None:
    model = MiniLMEmbedder(cache_size=0)
    got = model.embed_documents([item["text"] for item in REFERENCE])
    want = np.array([item["vector"] for item in REFERENCE], dtype=np.float32)
    assert cosine(got, want).min() >= BATCH_MIN_COSINE


def test_batch_preserves_order() -> None:
    # Lengths vary a lot, so the length sort inside the embedder really reorders.
    texts = [f"{i}: {text}" for i, text in enumerate(VARIED_TEXTS * 5)]
    batched = MiniLMEmbedder(cache_size=0, batch_size=8).embed_documents(texts)
    single = MiniLMEmbedder(cache_size=0)
    one_by_one = np.stack([single.embed_query(text) for text in texts])
    assert cosine(batched, one_by_one).min() >= BATCH_MIN_COSINE
    # Each batched row is closest to its own text's vector: order is restored.
    similarity = batched @ one_by_one.T
    assert (similarity.argmax(axis=1) == np.arange(len(texts))).all()


def test_batch_size_does_not_matter_much() -> None:
    texts = VARIED_TEXTS * 3
    small = MiniLMEmbedder(cache_size=0, batch_size=1).embed_documents(texts)
    large = MiniLMEmbedder(cache_size=0, batch_size=64).embed_documents(texts)
    assert cosine(small, large).min() >= BATCH_MIN_COSINE


def test_deterministic_for_the_same_batch() -> None:
    model = MiniLMEmbedder(cache_size=0)
    first = model.embed_documents(VARIED_TEXTS)
    second = model.embed_documents(VARIED_TEXTS)
    np.testing.assert_allclose(first, second, atol=1e-6)


def test_semantic_sanity(embedder: MiniLMEmbedder) -> None:
    query = embedder.embed_query("Where does Alice live?")
    related, unrelated = embedder.embed_documents(["Alice's home is in Lisbon", "The stock market fell"])
    assert float(query @ related) > float(query @ unrelated) + 0.3

    cat, feline, finance = embedder.embed_documents(
        ["The cat sat on the mat.", "A feline rested on the rug.", "Interest rates rose again."]
    )
    assert float(cat @ feline) > float(cat @ finance)


def test_long_texts_are_truncated_to_256_tokens(embedder: MiniLMEmbedder) -> None:
    base = " ".join(f"word{i}" for i in range(400))  # far more than 256 word pieces
    longer = base + " and a tail that the model never sees"
    a, b = MiniLMEmbedder(cache_size=0).embed_documents([base, longer])
    np.testing.assert_allclose(a, b, atol=1e-6)


# --------------------------------------------------------------------------- cache


def test_cache_counts_hits() -> None:
    model = MiniLMEmbedder()
    assert model.cache_info() == CacheInfo(hits=0, misses=0, maxsize=4096, currsize=0)
    first = model.embed_documents(["alpha", "beta"])
    assert model.cache_info() == CacheInfo(hits=0, misses=2, maxsize=4096, currsize=2)
    again = model.embed_documents(["beta", "alpha", "gamma"])
    assert model.cache_info() == CacheInfo(hits=2, misses=3, maxsize=4096, currsize=3)
    np.testing.assert_array_equal(again[0], first[1])
    np.testing.assert_array_equal(again[1], first[0])
    # The model is symmetric, so queries reuse document entries.
    np.testing.assert_array_equal(model.embed_query("alpha"), first[0])
    assert model.cache_info().hits == 3
    model.cache_clear()
    assert model.cache_info() == CacheInfo(hits=0, misses=0, maxsize=4096, currsize=0)


def test_duplicates_in_one_call_are_embedded_once() -> None:
    model = MiniLMEmbedder()
    vectors = model.embed_documents(["same", "other", "same"])
    np.testing.assert_array_equal(vectors[0], vectors[2])
    info = model.cache_info()
    assert (info.hits, info.misses, info.currsize) == (1, 2, 2)


def test_cache_is_exact_text_keyed() -> None:
    model = MiniLMEmbedder()
    model.embed_documents(["Hello", "hello", "Hello "])
    assert model.cache_info().misses == 3


def test_cache_can_be_disabled() -> None:
    model = MiniLMEmbedder(cache_size=0)
    model.embed_documents(["alpha"])
    model.embed_documents(["alpha"])
    assert model.cache_info() == CacheInfo(hits=0, misses=2, maxsize=0, currsize=0)


def test_cached_vectors_cannot_be_corrupted_by_callers() -> None:
    model = MiniLMEmbedder()
    vector = model.embed_query("mutable?")
    expected = vector.copy()
    vector[:] = 0.0
    np.testing.assert_array_equal(model.embed_query("mutable?"), expected)
    batch = model.embed_documents(["mutable?"])
    batch[:] = 0.0
    np.testing.assert_array_equal(model.embed_documents(["mutable?"])[0], expected)


# --------------------------------------------------------------------------- loading


def test_model_ships_inside_the_package() -> None:
    folder = importlib.resources.files("strands_vector_memory.embedders") / "_model"
    for name in ("model.onnx", "tokenizer.json", "NOTICE", "LICENSE"):
        assert (folder / name).is_file(), name
    size = len((folder / "model.onnx").read_bytes())
    assert 15_000_000 < size < 30_000_000  # the int8 build, not the 90 MB fp32 one


def test_loads_from_package_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the embedder tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    model = MiniLMEmbedder()
    vector = model.embed_query("offline please")
    assert vector.shape == (384,)
    assert model.model_source == "package:strands_vector_memory.embedders/_model"


def test_loading_is_lazy() -> None:
    model = MiniLMEmbedder()
    assert model._model.loaded is False  # construction never touches the files
    model.preload()
    assert model._model.loaded is True


def test_model_path_override_matches_bundled(embedder: MiniLMEmbedder) -> None:
    folder = importlib.resources.files("strands_vector_memory.embedders") / "_model"
    with importlib.resources.as_file(folder) as directory:
        by_dir = MiniLMEmbedder(model_path=directory)
        by_file = MiniLMEmbedder(model_path=str(Path(directory) / "model.onnx"))
        texts = ["override check", "another one"]
        want = MiniLMEmbedder(cache_size=0).embed_documents(texts)
        np.testing.assert_allclose(by_dir.embed_documents(texts), want, atol=1e-6)
        np.testing.assert_allclose(by_file.embed_documents(texts), want, atol=1e-6)
        assert by_dir.model_source.endswith("model.onnx")


def test_concurrent_first_use_is_safe() -> None:
    texts = [f"thread {i} remembers fact number {i * 13}" for i in range(16)]
    expected = np.stack([MiniLMEmbedder(cache_size=0).embed_query(text) for text in texts])
    shared = MiniLMEmbedder(threads=1)
    results: dict[int, NDArray[np.float32]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(worker, len(texts), 8):
                results[i] = shared.embed_query(texts[i])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    got = np.stack([results[i] for i in range(len(texts))])
    np.testing.assert_allclose(got, expected, atol=1e-6)


# --------------------------------------------------------------------------- generic wrapper


class _CountingEmbedder:
    """A deterministic fake that records every text it is asked to embed."""

    def __init__(self) -> None:
        self.document_calls: list[list[str]] = []
        self.query_calls: list[str] = []

    @property
    def name(self) -> str:
        return "fake"

    @property
    def dimension(self) -> int:
        return 4

    def _vector(self, text: str, salt: float) -> NDArray[np.float32]:
        vector = np.array([len(text), text.count("a"), salt, 1.0], dtype=np.float32)
        return np.asarray(vector / np.linalg.norm(vector), dtype=np.float32)

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.document_calls.append(list(texts))
        return np.stack([self._vector(t, 0.0) for t in texts]) if texts else np.zeros((0, 4), np.float32)

    def embed_query(self, text: str) -> NDArray[np.float32]:
        self.query_calls.append(text)
        return self._vector(text, 1.0)


def test_cached_embedder_wraps_any_embedder() -> None:
    inner = _CountingEmbedder()
    cached = CachedEmbedder(inner, maxsize=10)
    assert isinstance(cached, Embedder)
    assert (cached.name, cached.dimension, cached.inner) == ("fake", 4, inner)
    cached.embed_documents(["a", "bb", "a"])
    cached.embed_documents(["bb", "ccc"])
    assert inner.document_calls == [["a", "bb"], ["ccc"]]


def test_cached_embedder_keeps_queries_apart_unless_symmetric() -> None:
    inner = _CountingEmbedder()
    asymmetric = CachedEmbedder(inner)
    document = asymmetric.embed_documents(["banana"])[0]
    query = asymmetric.embed_query("banana")
    assert inner.query_calls == ["banana"]  # not served from the document entry
    assert not np.array_equal(document, query)

    inner = _CountingEmbedder()
    symmetric = CachedEmbedder(inner, symmetric=True)
    symmetric.embed_documents(["banana"])
    symmetric.embed_query("banana")
    assert inner.query_calls == []


def test_cached_embedder_evicts_least_recently_used() -> None:
    inner = _CountingEmbedder()
    cached = CachedEmbedder(inner, maxsize=2)
    cached.embed_documents(["a", "b"])
    cached.embed_documents(["a"])  # "a" is now the most recent
    cached.embed_documents(["c"])  # evicts "b"
    assert cached.cache_info().currsize == 2
    cached.embed_documents(["a", "b"])
    assert inner.document_calls[-1] == ["b"]


def test_cached_embedder_validates() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        CachedEmbedder(_CountingEmbedder(), maxsize=-1)

    class Broken(_CountingEmbedder):
        def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
            return np.zeros((len(texts) + 1, 4), dtype=np.float32)

    with pytest.raises(RuntimeError, match="shape"):
        CachedEmbedder(Broken()).embed_documents(["x"])
