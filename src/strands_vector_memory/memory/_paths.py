"""Where the store lives when nobody says: a local directory, or an S3 vector bucket."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from ..core import ValidationError

__all__ = ["BUCKET_ENV", "STORE_ENV", "default_bucket", "default_store_path"]

STORE_ENV = "STRANDS_MEMORY_STORE"

#: The variable S3 Vectors users already set for their bucket (AWS samples use it too).
BUCKET_ENV = "S3_VECTOR_BUCKET_NAME"


def default_store_path() -> Path:
    """``$STRANDS_MEMORY_STORE``, else the per-user data directory (e.g. ~/.local/share)."""
    configured = os.environ.get(STORE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("strands-vector-memory", appauthor=False)) / "store"


def default_bucket(bucket: str | None = None) -> str:
    """``bucket``, else ``$S3_VECTOR_BUCKET_NAME``; a clear error when neither is set."""
    bucket = bucket or os.environ.get(BUCKET_ENV)
    if not bucket:
        raise ValidationError(
            f"no S3 vector bucket named: pass bucket= (CLI: --bucket) or set {BUCKET_ENV}", field="bucket"
        )
    return bucket
