"""Cutting text to what a memory can hold, measured the way the limits count it.

Shared by the ``MemoryStore`` and the plugin's worker: a conversation turn can be any
size, and a turn the service rejects would be a lost write, so turns are cut to fit
before they are stored (the transcript the summary is made from keeps more).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core._limits import json_size
from ..memory._inputs import MAX_CONTEXT_BYTES, MAX_CONTEXT_ITEMS

__all__ = ["fit_context", "fit_text"]


def _fits(text: str, limit: int) -> bool:
    # Both the raw UTF-8 size (what the service checks) and the JSON size without the
    # quotes (what the 40 KB metadata budget counts; escapes make it larger).
    return len(text.encode("utf-8")) <= limit and json_size(text) - 2 <= limit


def fit_text(text: str, limit: int) -> str:
    """The longest prefix of ``text`` within ``limit`` bytes, cut between characters.

    Cutting a ``str`` by characters never splits a UTF-8 sequence. Lone surrogates
    (which UTF-8 cannot encode) become ``?`` so a stray one cannot fail a whole batch.
    """
    text = text.encode("utf-8", "replace").decode("utf-8")
    if _fits(text, limit):
        return text
    low, high = 0, min(len(text), limit)
    while low < high:
        middle = (low + high + 1) // 2
        if _fits(text[:middle], limit):
            low = middle
        else:
            high = middle - 1
    return text[:low]


def fit_context(texts: Sequence[str]) -> tuple[str, ...] | None:
    """Neighbouring turns cut so that together they stay within the context limits."""
    texts = list(texts)[:MAX_CONTEXT_ITEMS]
    if not texts:
        return None
    # Each separator is one byte raw and two in JSON (``\\n``); share the rest evenly.
    share = (MAX_CONTEXT_BYTES - 2 * (len(texts) - 1)) // len(texts)
    fitted = tuple(cut for cut in (fit_text(t, share) for t in texts) if cut.strip())
    return fitted or None
