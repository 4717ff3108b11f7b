"""Embeddings fetched with the tenant's own credentials.

The plugin we replace embedded every tenant's text with the application's ambient
role, so Bedrock saw (and billed, and logged) all tenants' text under one identity.
Here a Bedrock embedder is cloned per tenant onto a ``bedrock-runtime`` client whose
credentials come from the Token Vending Machine, and ``VectorMemory`` picks the clone
by the caller's scope (:meth:`for_scope`), exactly as the routed backend picks the
tenant's S3 Vectors client. The role's permissions policy
must then allow ``bedrock:InvokeModel`` on the model
(``strands-memory tenancy policy --bedrock-model <id>``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..core import IsolationError, Scope
from ..embedders import Embedder
from ..embedders._bedrock import BedrockEmbedder
from ._cache import TenantCache
from ._layouts import require_tenant
from ._naming import tenant_key

__all__ = ["TenantScopedEmbedder"]


class TenantScopedEmbedder:
    """One embedder per tenant, each calling Bedrock with that tenant's credentials.

    Args:
        template: The embedder to clone (model, dimension, retries); its own client is
            never used for tenant text.
        client_for: The ``bedrock-runtime`` client acting as a tenant, given its key
            (``lambda key: tvm.client_for_key(key, "bedrock-runtime")``).
        max_cached: Most per-tenant embedders kept.
    """

    def __init__(
        self,
        template: BedrockEmbedder,
        client_for: Callable[[str], Any],
        *,
        max_cached: int = 1024,
    ) -> None:
        self.template = template
        self._client_for = client_for
        self._by_key: TenantCache[Embedder] = TenantCache(max_cached)

    def __repr__(self) -> str:
        return f"TenantScopedEmbedder({self.template.name!r})"

    @property
    def name(self) -> str:
        """The template's name: every tenant's vectors come from the same model."""
        return self.template.name

    @property
    def dimension(self) -> int:
        """The template's dimension."""
        return self.template.dimension

    def for_scope(self, scope: Scope) -> Embedder:
        """The embedder acting as ``scope``'s tenant; ``IsolationError`` without a tenant."""
        return self._by_key.get_or_build(
            tenant_key(require_tenant(scope)), lambda key: self.template.with_client(self._client_for(key))
        )

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Refused: without an index there is no tenant to embed as."""
        raise IsolationError("a tenant-scoped embedder needs a tenant: VectorMemory calls for_scope(scope) first")

    def embed_query(self, text: str) -> NDArray[np.float32]:
        """Refused: without an index there is no tenant to embed as."""
        raise IsolationError("a tenant-scoped embedder needs a tenant: VectorMemory calls for_scope(scope) first")
