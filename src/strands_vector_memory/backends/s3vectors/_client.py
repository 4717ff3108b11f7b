"""Building the boto3 ``s3vectors`` client with the defaults a memory service wants.

boto3 is an optional dependency (the ``aws`` extra), imported only here and only when
a client is built, so the embedded default never needs it.
"""

from __future__ import annotations

from typing import Any

from ..._aws import resolve_region, with_user_agent
from ...core import ValidationError

__all__ = ["default_config", "make_client", "supports_text_search"]


def _require_boto3() -> Any:
    try:
        import boto3
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError("the S3 Vectors backend needs boto3: pip install 'strands-vector-memory[aws]'") from exc
    return boto3


def default_config(config: Any = None) -> Any:
    """Adaptive retries, bounded timeouts and our user agent, with ``config`` merged over them."""
    from botocore.config import Config

    base = Config(
        retries={"mode": "adaptive", "max_attempts": 4},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=32,
    )
    return with_user_agent(base if config is None else base.merge(config))


def make_client(session: Any, region_name: str | None, endpoint_url: str | None, config: Any) -> Any:
    """An ``s3vectors`` client from ``session`` (or a new boto3 session)."""
    boto3 = _require_boto3()
    session = session if session is not None else boto3.session.Session()
    region = resolve_region(region_name) or session.region_name
    if not region:
        raise ValidationError(
            "no AWS region for S3 Vectors: set AWS_REGION, pass region_name= (CLI: --region), "
            "or configure one in the AWS profile",
            field="region",
        )
    return session.client("s3vectors", region_name=region, endpoint_url=endpoint_url, config=default_config(config))


def supports_text_search(client: Any) -> bool:
    """Whether this botocore knows ``queryTexts`` (full-text and hybrid QueryVectors)."""
    shape = client.meta.service_model.operation_model("QueryVectors").input_shape
    return "queryTexts" in shape.members
