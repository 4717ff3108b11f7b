"""Exact token counts with the bundled tokenizer, for budgeting prompt text.

Why the embedder's tokenizer: it ships with the package, so counting needs no
network and no extra dependency, and it is the tokenizer the memories were embedded
with. It is not the LLM's tokenizer, so a count is a faithful *relative* size (a
WordPiece count is usually within a small factor of a BPE count), and budgets
should keep some headroom for that.

The embedder truncates to 256 tokens and adds ``[CLS]``/``[SEP]``; neither makes
sense when measuring text, so this class loads its own ``Tokenizer`` from the same
file with truncation and padding disabled and never counts special tokens.
"""

from __future__ import annotations

import importlib.resources
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ._minilm import _MODEL_DIR, _PACKAGE, TOKENIZER_FILE

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

__all__ = ["TokenCounter"]


def _resolve(path: str | os.PathLike[str]) -> Path:
    """Accept ``tokenizer.json`` itself or a directory holding it."""
    candidate = Path(path)
    file = candidate / TOKENIZER_FILE if candidate.is_dir() else candidate
    if not file.is_file():
        raise FileNotFoundError(f"tokenizer path {str(path)!r}: {str(file)!r} not found")
    return file


def _check_text(text: object, what: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be str, got {type(text).__name__}")
    return text


class TokenCounter:
    r"""Counts WordPiece tokens of text, exactly and without truncation.

    Construction is cheap; the tokenizer (about 0.7 MB of JSON) is parsed on the
    first call. One instance is safe to share across threads: loading happens once
    under a lock and encoding only reads the tokenizer.

    Counts are additive over whitespace: the tokenizer splits on whitespace before
    anything else, so ``count(a + "\n" + b) == count(a) + count(b)``. Callers that
    assemble text from parts can therefore count each part once.

    Args:
        path: Use this ``tokenizer.json`` (or a directory containing one) instead of
            the bundled file.

    Raises:
        FileNotFoundError: If ``path`` does not lead to a file.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = None if path is None else _resolve(path)  # fail now, not on first count
        self._lock = threading.Lock()
        self._tokenizer: Tokenizer | None = None

    @property
    def source(self) -> str:
        """Where the tokenizer is (or will be) loaded from."""
        return f"package:{_PACKAGE}/{_MODEL_DIR}/{TOKENIZER_FILE}" if self._path is None else str(self._path)

    def _get(self) -> Tokenizer:
        """Load the tokenizer on first use; safe to call from many threads at once."""
        tokenizer = self._tokenizer
        if tokenizer is None:
            with self._lock:
                tokenizer = self._tokenizer
                if tokenizer is None:
                    tokenizer = self._load()
                    self._tokenizer = tokenizer
        return tokenizer

    def _load(self) -> Tokenizer:
        # Imported here so importing the package stays fast.
        from tokenizers import Tokenizer

        if self._path is None:
            folder = importlib.resources.files(_PACKAGE) / _MODEL_DIR
            text = (folder / TOKENIZER_FILE).read_text(encoding="utf-8")
        else:
            text = self._path.read_text(encoding="utf-8")
        tokenizer = Tokenizer.from_str(text)
        # The file enables truncation at 256 for the embedder; a count must see it all.
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def _encode(self, text: str) -> Encoding:
        return self._get().encode(text, add_special_tokens=False)

    def count(self, text: str) -> int:
        """Number of tokens in ``text`` (``0`` for the empty string).

        Raises:
            TypeError: If ``text`` is not a string.
        """
        return len(self._encode(_check_text(text, "text")).ids)

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Token counts of many texts in one batched (parallel) call, in input order.

        Raises:
            TypeError: If ``texts`` is a single string or holds a non-string.
        """
        if isinstance(texts, str | bytes):
            raise TypeError("texts must be a sequence of str, not a single string; wrap it in a list")
        items = [_check_text(text, f"texts[{i}]") for i, text in enumerate(texts)]
        if not items:
            return []
        return [len(e.ids) for e in self._get().encode_batch(items, add_special_tokens=False)]

    def truncate(self, text: str, max_tokens: int) -> tuple[str, bool]:
        """Cut ``text`` after its first ``max_tokens`` tokens, at a token boundary.

        The cut falls where the last kept token ends in the original text (the
        tokenizer's character offsets), so the kept prefix is verbatim input,
        never a normalised (lower-cased, accent-stripped) copy, and counts at most
        ``max_tokens``. A cut may fall inside a word, between word pieces.

        Returns:
            The kept text and whether anything was cut.

        Raises:
            TypeError: If ``text`` is not a string.
            ValueError: If ``max_tokens`` is not an int >= 0.
        """
        _check_text(text, "text")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
            raise ValueError(f"max_tokens must be an int >= 0, got {max_tokens!r}")
        offsets = self._encode(text).offsets
        if len(offsets) <= max_tokens:
            return text, False
        end = offsets[max_tokens - 1][1] if max_tokens else 0
        return text[:end], True

    def __repr__(self) -> str:
        return f"TokenCounter({self.source!r})"
