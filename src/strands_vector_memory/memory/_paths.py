"""Where the embedded store lives when nobody says."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["STORE_ENV", "default_store_path"]

STORE_ENV = "STRANDS_MEMORY_STORE"


def default_store_path() -> Path:
    """``$STRANDS_MEMORY_STORE``, else the per-user data directory (e.g. ~/.local/share)."""
    configured = os.environ.get(STORE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("strands-vector-memory", appauthor=False)) / "store"
