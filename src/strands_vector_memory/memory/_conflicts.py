"""Do two memories on the same subject disagree?

A sentence embedding places "the deploy window is Tuesday" and "... Thursday" closer
together (cosine distance 0.05 with the bundled model) than most paraphrases, so a
distance threshold alone would merge contradictions as duplicates. The checker looks
at the words: same frame, different value (a number, a day, a name) or one side
negated is a disagreement. It is a cheap heuristic by design; a model-backed checker
(``strands_agents.ModelConflictChecker``) can replace it.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Final, Protocol, runtime_checkable

__all__ = ["ConflictChecker", "HeuristicChecker", "adds_detail"]


@runtime_checkable
class ConflictChecker(Protocol):
    """Decides whether a new memory disagrees with an existing one on the same subject."""

    def disagrees(self, new: str, existing: str) -> bool:
        """True when both cannot hold at once."""
        ...


_WORD: Final = re.compile(r"[a-z0-9]+(?:[.,:/'][a-z0-9]+)*")
_NUMBER: Final = re.compile(r"\d+(?:[.,:]\d+)*")
_NEGATIONS: Final = frozenset(
    {"not", "no", "never", "none", "nobody", "nothing", "cannot", "without", "neither", "nor", "longer"}
)
_NEGATED_CONTRACTION: Final = re.compile(r"\b\w+n't\b")
_STOPWORDS: Final = frozenset(
    {
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "having",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "and",
        "or",
        "but",
        "if",
        "then",
        "than",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "it's",
        "they",
        "them",
        "their",
        "there",
        "here",
        "we",
        "us",
        "our",
        "you",
        "your",
        "he",
        "him",
        "his",
        "she",
        "her",
        "i",
        "me",
        "my",
        "mine",
        "so",
        "too",
        "very",
        "just",
        "also",
        "only",
        "all",
        "any",
        "some",
        "each",
        "will",
        "would",
        "shall",
        "should",
        "can",
        "could",
        "may",
        "might",
        "must",
        "about",
        "into",
        "over",
        "under",
        "again",
        "now",
    }
)


def _stem(word: str) -> str:
    """Plural and tense endings off, so "peanuts" meets "peanut" (crude on purpose)."""
    for suffix in ("ies", "es", "s", "ed", "ing"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix) and not word[-len(suffix) - 1].isdigit():
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _same_word(a: str, b: str) -> bool:
    """Word forms of one word ("allergic", "allergy"); numbers only ever equal themselves."""
    if any(ch.isdigit() for ch in a + b):
        return a == b
    prefix = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        prefix += 1
    return prefix >= 5 or (prefix >= 4 and prefix == min(len(a), len(b)))


def _numbers(text: str) -> Counter[str]:
    """The numbers a text states, with repeats ("user-1 ... number 1" holds two 1s)."""
    return Counter(_NUMBER.findall(text))


def _terms(text: str) -> tuple[frozenset[str], bool]:
    """The content words of ``text`` (stemmed) and whether it is negated."""
    lowered = text.lower().replace("\u2019", "'")
    negated = bool(_NEGATED_CONTRACTION.search(lowered))
    words = _WORD.findall(lowered)
    negated = negated or any(word in _NEGATIONS for word in words)
    content = frozenset(_stem(w) for w in words if w not in _STOPWORDS and w not in _NEGATIONS)
    return content, negated


class HeuristicChecker:
    """Same frame, different value; or the same claim with one side negated.

    Two texts disagree when they share most of their content words and one is negated
    and the other is not, or they state different numbers, or each has at most
    ``max_changed`` words the other lacks (a changed value: "Thursday" for "Tuesday"). Texts with
    little in common are not compared: they are about different things.

    Args:
        max_changed: Most words per side that may differ for a changed value.
        min_shared: Share of the longer text's content words the other must have too (0..1).
    """

    def __init__(self, *, max_changed: int = 2, min_shared: float = 0.5) -> None:
        self.max_changed = max_changed
        self.min_shared = min_shared

    def __repr__(self) -> str:
        return f"HeuristicChecker(max_changed={self.max_changed}, min_shared={self.min_shared})"

    def disagrees(self, new: str, existing: str) -> bool:
        """True when the two look like the same claim with a different value or polarity."""
        a, a_negated = _terms(new)
        b, b_negated = _terms(existing)
        if not a or not b:
            return False
        shared = len(a & b) / max(len(a), len(b))
        if shared < self.min_shared:
            return False
        if a_negated != b_negated or _numbers(new) != _numbers(existing):
            return True
        only_a = {w for w in a - b if not any(_same_word(w, v) for v in b - a)}
        only_b = {w for w in b - a if not any(_same_word(w, v) for v in a - b)}
        return bool(only_a) and bool(only_b) and len(only_a) <= self.max_changed and len(only_b) <= self.max_changed


def adds_detail(new: str, existing: str) -> bool:
    """Whether ``new`` says something ``existing`` does not (a content word it lacks).

    A near-duplicate that adds a detail ("... peanuts and shellfish") is not a
    duplicate: reinforcing the old memory instead would drop the detail.
    """
    a, _ = _terms(new)
    b, _ = _terms(existing)
    return any(not any(_same_word(word, other) for other in b) for word in a - b)
