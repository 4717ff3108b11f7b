"""The embedder contract: text in, unit float32 vectors out.

Why documents and queries are separate: asymmetric models (e.g. Amazon Nova
embeddings, with an index and a retrieval purpose, or instruction-tuned models) embed
the two differently. Symmetric
models such as all-MiniLM-L6-v2 simply run the same path for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ..core import Scope

__all__ = ["Embedder", "RoutedEmbedder"]


@runtime_checkable
class Embedder(Protocol):
    """Turns text into vectors of a fixed dimension.

    Lifecycle: construct once and share; implementations must be thread-safe and may
    load models lazily on first use. Outputs are float32 arrays; rows are finite.
    """

    @property
    def name(self) -> str:
        """Stable identifier stored with an index so mixed embedders are detected."""
        ...

    @property
    def dimension(self) -> int:
        """Length of every vector this embedder returns."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed texts to be stored; returns shape ``(len(texts), dimension)``.

        Takes any number of texts: batching to what the model or service accepts is
        the implementation's job, so callers never chunk for it.
        """
        ...

    def embed_query(self, text: str) -> NDArray[np.float32]:
        """Embed one search query; returns shape ``(dimension,)``."""
        ...


@runtime_checkable
class RoutedEmbedder(Embedder, Protocol):
    """An embedder that acts as a different principal per scope, e.g. as each tenant.

    ``VectorMemory`` asks :meth:`for_scope` for the embedder acting for the caller's
    scope, so per-tenant credentials reach the embedding call too.
    """

    def for_scope(self, scope: Scope) -> Embedder:
        """The embedder to use for texts written or searched on behalf of ``scope``."""
        ...
