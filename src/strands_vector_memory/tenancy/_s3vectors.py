"""Multi-tenant memory on S3 Vectors: the parts ``VectorMemory.from_s3_vectors(tvm=...)`` assembles.

Every tenant gets an ``S3VectorsBackend`` on a client carrying its Token Vending
Machine credentials (clients are cached by the TVM and outlive credential refreshes),
and, for Bedrock embedders, its own embedder on a tenant-credentialed
``bedrock-runtime`` client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backends import S3VectorsBackend, VectorBackend
from ..core import ValidationError
from ..embedders import Embedder
from ..embedders._bedrock import BedrockEmbedder
from ._embedding import TenantScopedEmbedder
from ._layouts import TenantIndexLayout
from ._routing import TenantRoutedBackend

if TYPE_CHECKING:
    from ._tvm import TokenVendingMachine

__all__ = ["tenant_memory_parts"]


def tenant_memory_parts(
    bucket: str,
    tvm: TokenVendingMachine,
    *,
    embedder: Embedder,
    layout: Any = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    config: Any = None,
    tenant_embeddings: bool = True,
) -> tuple[TenantRoutedBackend, Embedder, TenantIndexLayout]:
    """(backend, embedder, layout) of a multi-tenant memory on ``bucket``.

    Raises:
        ValidationError: If ``layout`` is not one index per tenant: credentials scoped
            to one tenant's index cannot share an index with other tenants.
    """
    if layout is None:
        layout = TenantIndexLayout()
    if not isinstance(layout, TenantIndexLayout):
        raise ValidationError(
            f"a Token Vending Machine scopes credentials to one index per tenant; layout must be a "
            f"TenantIndexLayout, got {layout!r} (for a shared index use TenantFilterLayout without tvm=)",
            field="layout",
        )

    def backend_for(key: str) -> VectorBackend:
        client = tvm.client_for_key(key, "s3vectors", endpoint_url=endpoint_url, region_name=region, config=config)
        return S3VectorsBackend(bucket, client=client)

    backend = TenantRoutedBackend(backend_for, layout=layout, bucket=bucket, endpoint_url=endpoint_url)
    if tenant_embeddings and isinstance(embedder, BedrockEmbedder):
        embedder = TenantScopedEmbedder(
            embedder, lambda key: tvm.client_for_key(key, "bedrock-runtime", region_name=region)
        )
    return backend, embedder, layout
