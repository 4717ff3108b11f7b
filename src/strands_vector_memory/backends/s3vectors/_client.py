"""Building the boto3 ``s3vectors`` client with the defaults a memory service wants.

boto3 is an optional dependency (the ``aws`` extra), imported only here and only when
a client is built, so the embedded default never needs it.
"""

from __future__ import annotations

import os
from typing import Any

from ...core import ValidationError

__all__ = ["default_config", "make_client", "resolve_region", "supports_text_search", "user_agent"]


#: Environment variables that name the region, most specific first (AWS SDK convention).
REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION")


def _require_boto3() -> Any:
    try:
        import boto3
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError("the S3 Vectors backend needs boto3: pip install 'strands-vector-memory[aws]'") from exc
    return boto3


def user_agent() -> str:
    """The suffix every request's User-Agent carries, so AWS-side logs show who called."""
    from ... import __version__

    return f"strands-vector-memory/{__version__}"


def default_config(config: Any = None) -> Any:
    """Adaptive retries, bounded timeouts and our user agent, with ``config`` merged over them."""
    from botocore.config import Config

    agent = user_agent()
    base = Config(
        retries={"mode": "adaptive", "max_attempts": 4},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=32,
        user_agent_extra=agent,
    )
    if config is None:
        return base
    merged = base.merge(config)
    extra = getattr(config, "user_agent_extra", None)
    if extra and agent not in extra:
        merged = merged.merge(Config(user_agent_extra=f"{extra} {agent}"))
    return merged


def resolve_region(region_name: str | None) -> str | None:
    """``region_name``, else ``$AWS_REGION``, else ``$AWS_DEFAULT_REGION`` (else boto3's own lookup)."""
    if region_name:
        return region_name
    for name in REGION_ENV:
        value = os.environ.get(name)
        if value:
            return value
    return None


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
