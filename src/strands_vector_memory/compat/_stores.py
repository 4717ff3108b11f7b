"""``S3VectorMemory`` and ``MultiTenantS3VectorMemory``: the store API of the plugin we replace.

Thin on purpose: each is a ``VectorMemory`` (``.memory``) plus the old method names and
return shapes, so code written for the old package runs with only its import line
changed while every call goes through the one service. What changed underneath:
memories are validated instead of silently truncated, writes retry and are
acknowledged, tenant ids are mapped onto index-name rules, and multi-tenant calls
(embeddings included) run with the tenant's own STS credentials.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

from ..core import IsolationError, Memory, Scope, ValidationError
from ..embedders import Embedder, MiniLMEmbedder, NovaEmbedder, TitanEmbedder
from ..memory import SharedIndexLayout, VectorMemory
from ..tenancy import TenantIndexLayout
from ..tenancy._tvm import TokenVendingMachine

__all__ = ["DEFAULT_EMBEDDING_MODEL", "MultiTenantS3VectorMemory", "S3VectorMemory", "embedder_for_model"]

#: The old package's default embedding model (``$EMBEDDING_MODEL`` overrides it).
DEFAULT_EMBEDDING_MODEL: Final = "amazon.nova-2-multimodal-embeddings-v1:0"
EMBEDDING_MODEL_ENV: Final = "EMBEDDING_MODEL"
_LOCAL_NAMES: Final = frozenset({"local", "minilm", "all-minilm-l6-v2"})


def embedder_for_model(model: str | Embedder | None, region_name: str | None = None) -> Embedder:
    """The embedder an ``embedding_model`` argument names.

    ``None`` reads ``$EMBEDDING_MODEL``, then the old default (Nova 2, 1024 dimensions).
    A Titan or Nova model id gives the matching Bedrock embedder at 1024 dimensions;
    ``"local"`` the bundled offline model (no AWS, no network); an ``Embedder`` is used
    as it is.
    """
    if model is None:
        model = os.environ.get(EMBEDDING_MODEL_ENV) or DEFAULT_EMBEDDING_MODEL
    if isinstance(model, Embedder):
        return model
    if not isinstance(model, str) or not model.strip():
        raise ValidationError(
            f"embedding_model must be a model id or an Embedder, got {model!r}", field="embedding_model"
        )
    if model.lower() in _LOCAL_NAMES:
        return MiniLMEmbedder()
    if "titan-embed-text" in model:
        return TitanEmbedder(model_id=model, region_name=region_name)
    if "nova" in model and "embed" in model:
        return NovaEmbedder(model_id=model, region_name=region_name)
    raise ValidationError(
        f"unknown embedding_model {model!r}: use an Amazon Titan text or Nova embeddings model id, "
        f"'local' for the bundled offline model, or pass an Embedder",
        field="embedding_model",
    )


def _tenant_of(tenant_context: Mapping[str, Any] | None, *, required: bool) -> str | None:
    if tenant_context is None:
        if required:
            raise IsolationError(
                "MultiTenantS3VectorMemory needs tenant_context={'tenantId': ...} on every call: "
                "there is no shared fallback index"
            )
        return None
    if not isinstance(tenant_context, Mapping):
        raise ValidationError(
            f"tenant_context must be a dict with 'tenantId', got {tenant_context!r}", field="tenant_context"
        )
    tenant = tenant_context.get("tenantId")
    if not isinstance(tenant, str) or not tenant.strip():
        raise IsolationError(f"tenant_context must name a tenant: {{'tenantId': '...'}}, got {tenant_context!r}")
    return tenant


def _as_result(memory: Memory) -> dict[str, Any]:
    """The old result shape (``similarity`` = 1 - cosine distance / 2), plus our score."""
    distance = memory.distance
    return {
        "key": memory.key,
        "content": memory.content,
        "similarity": round(1.0 - distance / 2.0, 3) if distance is not None else None,
        "score": memory.score,
        "stored_at": memory.metadata.get("created_at_iso", ""),
        "agent_name": memory.metadata.get("agent_id"),
    }


class S3VectorMemory:
    """One shared index on S3 Vectors, with the application's own credentials.

    Args:
        bucket_name: The vector bucket (default ``$S3_VECTOR_BUCKET_NAME``).
        region_name: AWS region (default ``$AWS_REGION``).
        embedding_model: See :func:`embedder_for_model`.
        endpoint_url: Another S3 Vectors endpoint, e.g. ``strands-memory serve``
            (botocore also reads ``$AWS_ENDPOINT_URL_S3VECTORS``).
        index_name: The shared index.
        memory: Use this ``VectorMemory`` instead of building one.
    """

    def __init__(
        self,
        bucket_name: str | None = None,
        region_name: str | None = None,
        embedding_model: str | Embedder | None = None,
        *,
        endpoint_url: str | None = None,
        index_name: str = "memories",
        memory: VectorMemory | None = None,
    ) -> None:
        self.memory = memory or VectorMemory.from_s3_vectors(
            bucket_name,
            region=region_name,
            embedder=embedder_for_model(embedding_model, region_name),
            endpoint_url=endpoint_url,
            layout=SharedIndexLayout(index_name),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.memory!r})"

    def _scope(self, user_id: str, tenant_context: Mapping[str, Any] | None, agent_name: str | None) -> Scope:
        return Scope(tenant_id=_tenant_of(tenant_context, required=False), user_id=user_id, agent_id=agent_name)

    def store_memory(
        self,
        user_id: str,
        content: str,
        tenant_context: Mapping[str, Any] | None = None,
        agent_name: str | None = None,
    ) -> dict[str, Any]:
        """Store ``content`` for ``user_id``; returns ``{"status", "index_name", "key"}``."""
        scope = self._scope(user_id, tenant_context, agent_name)
        stored = self.memory.remember(content, scope=scope, memory_type="semantic")
        return {"status": "success", "index_name": self.memory.layout.index_for(scope), "key": stored.key}

    def retrieve_memories(
        self,
        user_id: str,
        query: str,
        top_k: int = 5,
        tenant_context: Mapping[str, Any] | None = None,
        agent_name: str | None = None,
    ) -> list[dict[str, Any]]:
        """The user's memories most relevant to ``query`` (only ``agent_name``'s, if given), best first."""
        if not isinstance(query, str) or not query.strip():
            return []  # as before: an empty query finds nothing
        scope = self._scope(user_id, tenant_context, agent_name)
        return [_as_result(m) for m in self.memory.recall(query, scope=scope, top_k=top_k)]

    def close(self) -> None:
        """Release clients and files."""
        self.memory.close()


class MultiTenantS3VectorMemory(S3VectorMemory):
    """One index per tenant (``memory-<tenant key>``), every call with the tenant's own credentials.

    Args:
        bucket_name: The vector bucket (default ``$S3_VECTOR_BUCKET_NAME``).
        region_name: AWS region (default ``$AWS_REGION``).
        embedding_model: See :func:`embedder_for_model`; a Bedrock model is called
            with the tenant's credentials too.
        tvm_role_arn: The role the Token Vending Machine assumes per tenant. Required:
            there is no fallback to the application's own credentials.
        endpoint_url: Another S3 Vectors endpoint (e.g. ``strands-memory serve``).
        tvm: A ready :class:`TokenVendingMachine` instead of ``tvm_role_arn``.

    Raises:
        ValidationError: (a ``ValueError``) without ``tvm_role_arn`` or ``tvm``.
    """

    def __init__(
        self,
        bucket_name: str | None = None,
        region_name: str | None = None,
        embedding_model: str | Embedder | None = None,
        tvm_role_arn: str | None = None,
        *,
        endpoint_url: str | None = None,
        tvm: TokenVendingMachine | None = None,
    ) -> None:
        if tvm is None:
            if not tvm_role_arn:
                raise ValidationError(
                    "MultiTenantS3VectorMemory needs tvm_role_arn (the Token Vending Machine role): without it "
                    "every tenant would run with the application's own credentials and IAM could not keep "
                    "tenants apart; create one with `strands-memory tenancy setup`",
                    field="tvm_role_arn",
                )
            tvm = TokenVendingMachine(tvm_role_arn, region_name)
        self.tvm = tvm
        memory = VectorMemory.from_s3_vectors(
            bucket_name,
            region=region_name,
            embedder=embedder_for_model(embedding_model, region_name),
            endpoint_url=endpoint_url,
            layout=TenantIndexLayout(),
            tvm=tvm,
        )
        super().__init__(memory=memory)

    def _scope(self, user_id: str, tenant_context: Mapping[str, Any] | None, agent_name: str | None) -> Scope:
        return Scope(tenant_id=_tenant_of(tenant_context, required=True), user_id=user_id, agent_id=agent_name)
