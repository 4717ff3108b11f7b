"""An LRU cache in front of any embedder.

Why: agents re-embed the same strings constantly (the same query every turn, the
same memory re-saved, duplicate facts in one batch). Embedding is the dominant
cost of a write or a search, while a cached 384-d vector costs 1.5 KiB. The cache
is keyed by the exact text, so it never changes what a caller gets back, only how
fast.

Being keyed by the text, the cache holds what users said (in memory only; it is never
written to disk): :meth:`CachedEmbedder.clear` drops it when a user is forgotten.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._protocol import Embedder

__all__ = ["CacheInfo", "CachedEmbedder"]

_DOCUMENT = "d"
_QUERY = "q"


class CacheInfo(NamedTuple):
    """Cache statistics, shaped like :func:`functools.lru_cache`'s ``cache_info()``.

    Attributes:
        hits: Vectors served without running the model, including repeats of a
            text inside one ``embed_documents`` call.
        misses: Distinct texts the wrapped embedder had to embed.
        maxsize: Maximum number of cached vectors (0 disables caching).
        currsize: Number of vectors cached now.
    """

    hits: int
    misses: int
    maxsize: int
    currsize: int


def _check_text(text: object, where: str) -> str:
    """Reject non-strings early: a ``bytes`` or ``None`` would otherwise reach the tokenizer."""
    if not isinstance(text, str):
        raise TypeError(f"{where} must be str, got {type(text).__name__}")
    return text


def check_texts(texts: Sequence[str]) -> list[str]:
    """Validate the argument of ``embed_documents`` and return it as a list.

    A bare ``str`` is a ``Sequence[str]`` too, and embedding it character by
    character is a classic silent bug, so it is rejected explicitly.
    """
    if isinstance(texts, str | bytes):
        raise TypeError("texts must be a sequence of str, not a single string; wrap it in a list")
    return [_check_text(text, f"texts[{i}]") for i, text in enumerate(texts)]


class CachedEmbedder:
    """Wraps an :class:`Embedder` with a thread-safe least-recently-used cache.

    Documents and queries are cached separately, because asymmetric models embed
    them differently; pass ``symmetric=True`` for models (such as
    all-MiniLM-L6-v2) where they are the same function, so a stored memory's
    vector is reused when the same text is later searched for.

    The lock is held only for dictionary operations, never while the wrapped
    model runs, so concurrent callers embed in parallel. Two threads missing on
    the same text at the same moment may both embed it; the result is identical,
    so that costs time only once and is harmless.

    Args:
        inner: The embedder doing the real work; must itself be thread-safe.
        maxsize: Maximum number of vectors kept (``0`` disables caching but still
            counts misses).
        symmetric: Whether documents and queries share cache entries.

    Raises:
        ValueError: If ``maxsize`` is negative or not an int.
    """

    def __init__(self, inner: Embedder, *, maxsize: int = 4096, symmetric: bool = False) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 0:
            raise ValueError(f"maxsize must be an int >= 0, got {maxsize!r}")
        self._inner = inner
        self._maxsize = maxsize
        self._symmetric = symmetric
        self._dimension = inner.dimension
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], NDArray[np.float32]] = OrderedDict()
        self._hits = 0
        self._misses = 0
        # Bumped by clear(): a vector computed before a clear() is not cached after it,
        # so an embed in flight during an erasure cannot put the erased text back.
        self._generation = 0

    @property
    def inner(self) -> Embedder:
        """The wrapped embedder."""
        return self._inner

    @property
    def name(self) -> str:
        """The wrapped embedder's name: caching does not change the vectors."""
        return self._inner.name

    @property
    def dimension(self) -> int:
        """The wrapped embedder's dimension."""
        return self._dimension

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed texts to be stored, running the model only for unseen texts.

        Args:
            texts: The texts, in any number; duplicates are embedded once.

        Returns:
            A new float32 array of shape ``(len(texts), dimension)``, rows in the
            order of ``texts``.

        Raises:
            TypeError: If ``texts`` is a single string or holds a non-string.
        """
        items = check_texts(texts)
        out = np.empty((len(items), self._dimension), dtype=np.float32)
        pending: dict[str, list[int]] = {}
        with self._lock:
            generation = self._generation
            for row, text in enumerate(items):
                cached = self._get_locked((_DOCUMENT, text))
                if cached is not None:
                    out[row] = cached
                    self._hits += 1
                elif text in pending:
                    pending[text].append(row)
                    self._hits += 1
                else:
                    pending[text] = [row]
                    self._misses += 1
        if pending:
            unique = list(pending)
            vectors = self._inner.embed_documents(unique)
            self._check_shape(vectors, len(unique))
            with self._lock:
                for text, vector in zip(unique, vectors, strict=True):
                    out[pending[text]] = vector
                    self._put_locked((_DOCUMENT, text), vector, generation)
        return out

    def embed_query(self, text: str) -> NDArray[np.float32]:
        """Embed one search query, from the cache when the text was seen before.

        Args:
            text: The query.

        Returns:
            A new float32 array of shape ``(dimension,)``.

        Raises:
            TypeError: If ``text`` is not a string.
        """
        key = (_DOCUMENT if self._symmetric else _QUERY, _check_text(text, "text"))
        with self._lock:
            cached = self._get_locked(key)
            if cached is not None:
                self._hits += 1
                hit: NDArray[np.float32] = cached.copy()
                return hit
            self._misses += 1
            generation = self._generation
        vector = np.asarray(self._inner.embed_query(text), dtype=np.float32)
        if vector.shape != (self._dimension,):
            raise RuntimeError(
                f"{self.name} returned a query vector of shape {vector.shape}, expected ({self._dimension},)"
            )
        with self._lock:
            self._put_locked(key, vector, generation)
        result: NDArray[np.float32] = vector.copy()
        return result

    def cache_info(self) -> CacheInfo:
        """Return hit/miss counters and the current size."""
        with self._lock:
            return CacheInfo(self._hits, self._misses, self._maxsize, len(self._entries))

    def clear(self) -> None:
        """Drop every cached vector; the hit and miss counters are kept.

        The cache's keys are the texts users wrote, so erasing a user ("forget") must
        clear it; it cannot drop only that user's entries, because a text carries no
        owner (two users may embed the same sentence). Everyone's next embedding of a
        text runs the model again, once. A call embedding right now keeps its result
        out of the cache, so a text being erased is not put back by a racing embed.
        """
        with self._lock:
            self._entries.clear()
            self._generation += 1

    def cache_clear(self) -> None:
        """Drop every cached vector (as :meth:`clear`) and reset the counters."""
        with self._lock:
            self._entries.clear()
            self._generation += 1
            self._hits = 0
            self._misses = 0

    def __repr__(self) -> str:
        return f"CachedEmbedder({self._inner!r}, maxsize={self._maxsize}, symmetric={self._symmetric})"

    def _get_locked(self, key: tuple[str, str]) -> NDArray[np.float32] | None:
        vector = self._entries.get(key)
        if vector is not None:
            self._entries.move_to_end(key)
        return vector

    def _put_locked(self, key: tuple[str, str], vector: NDArray[np.float32], generation: int) -> None:
        if self._maxsize == 0 or generation != self._generation:
            return
        # A private read-only copy: callers get fresh arrays and cannot corrupt it.
        stored = np.array(vector, dtype=np.float32, copy=True)
        stored.flags.writeable = False
        self._entries[key] = stored
        self._entries.move_to_end(key)
        while len(self._entries) > self._maxsize:
            self._entries.popitem(last=False)

    def _check_shape(self, vectors: NDArray[np.float32], count: int) -> None:
        if vectors.shape != (count, self._dimension):
            raise RuntimeError(f"{self.name} returned shape {vectors.shape}, expected ({count}, {self._dimension})")
