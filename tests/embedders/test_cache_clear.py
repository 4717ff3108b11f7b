"""``CachedEmbedder.clear``: erasing a user empties the text-keyed cache, also against racing embeds."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from strands_vector_memory.embedders import CachedEmbedder, CacheInfo


class Recording:
    """A tiny deterministic embedder that records every text it is asked to embed."""

    name = "recording"
    dimension = 4

    def __init__(self) -> None:
        self.seen: list[str] = []

    def _vector(self, text: str) -> NDArray[np.float32]:
        return np.array([len(text), text.count("a"), text.count("e"), 1.0], dtype=np.float32)

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.seen.extend(texts)
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, 4), np.float32)

    def embed_query(self, text: str) -> NDArray[np.float32]:
        self.seen.append(text)
        return self._vector(text)


class Gated(Recording):
    """Blocks inside the model call until released, to stage an embed racing a clear()."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.entered.set()
        assert self.release.wait(10)
        return super().embed_documents(texts)

    def embed_query(self, text: str) -> NDArray[np.float32]:
        self.entered.set()
        assert self.release.wait(10)
        return super().embed_query(text)


def test_clear_drops_every_cached_vector_and_keeps_the_counters() -> None:
    inner = Recording()
    cached = CachedEmbedder(inner, maxsize=10)
    cached.embed_documents(["alice's secret", "bob's note"])
    cached.embed_query("what is alice's secret")
    cached.embed_documents(["alice's secret"])
    assert cached.cache_info() == CacheInfo(hits=1, misses=3, maxsize=10, currsize=3)

    cached.clear()

    assert cached.cache_info() == CacheInfo(hits=1, misses=3, maxsize=10, currsize=0)
    assert cached._entries == {}  # no key, i.e. no text, is left anywhere in the cache
    inner.seen.clear()
    vectors = cached.embed_documents(["alice's secret"])
    assert inner.seen == ["alice's secret"]  # embedded afresh: nothing was served from before
    np.testing.assert_array_equal(vectors[0], inner._vector("alice's secret"))


def test_cache_clear_still_resets_the_counters_too() -> None:
    cached = CachedEmbedder(Recording(), maxsize=10)
    cached.embed_documents(["a", "a"])
    cached.cache_clear()
    assert cached.cache_info() == CacheInfo(hits=0, misses=0, maxsize=10, currsize=0)


def test_a_document_embed_in_flight_during_clear_does_not_put_its_text_back() -> None:
    inner = Gated()
    cached = CachedEmbedder(inner, maxsize=10)
    result: list[NDArray[np.float32]] = []
    thread = threading.Thread(target=lambda: result.append(cached.embed_documents(["alice's secret"])))
    thread.start()
    assert inner.entered.wait(10)  # the model is running on the text now

    cached.clear()  # the erasure happens meanwhile
    inner.release.set()
    thread.join(10)

    assert not thread.is_alive()
    np.testing.assert_array_equal(result[0][0], inner._vector("alice's secret"))  # the caller still gets its vector
    assert cached.cache_info().currsize == 0  # but the text is not cached after the clear


def test_a_query_embed_in_flight_during_clear_does_not_put_its_text_back() -> None:
    inner = Gated()
    cached = CachedEmbedder(inner, maxsize=10, symmetric=True)
    thread = threading.Thread(target=lambda: cached.embed_query("alice's secret"))
    thread.start()
    assert inner.entered.wait(10)
    cached.clear()
    inner.release.set()
    thread.join(10)
    assert not thread.is_alive()
    assert cached.cache_info().currsize == 0


def test_embeds_after_a_clear_are_cached_again() -> None:
    inner = Recording()
    cached = CachedEmbedder(inner, maxsize=10)
    cached.clear()
    cached.embed_documents(["later text"])
    cached.embed_documents(["later text"])
    assert inner.seen == ["later text"]
    assert cached.cache_info().currsize == 1
