"""Page tokens for ``VectorMemory.list``: resume exactly, even in the middle of a backend page.

The service filters backend pages by scope, so a page of the service can end inside a
backend page. The token therefore carries the backend token of that page and the
position inside it, which is what makes paging exact (no memory skipped or repeated).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from ..core import Memory, ValidationError

__all__ = ["MemoryPage", "decode_page_token", "encode_page_token"]


@dataclass(frozen=True, slots=True)
class MemoryPage:
    """One page of ``list``; pass ``next_token`` back for the next page."""

    memories: list[Memory]
    next_token: str | None


def encode_page_token(backend_token: str | None, position: int) -> str:
    """Where the next service page starts: a backend page and a position in it."""
    raw = json.dumps({"t": backend_token, "p": position}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_page_token(token: str | None) -> tuple[str | None, int]:
    """The backend token and position a service token stands for (``None``: the start)."""
    if token is None:
        return None, 0
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
        backend_token, position = payload["t"], int(payload["p"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ValidationError("next_token is not a token this store issued", field="next_token") from exc
    if backend_token is not None and not isinstance(backend_token, str):
        raise ValidationError("next_token is not a token this store issued", field="next_token")
    return backend_token, position
