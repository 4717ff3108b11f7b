"""Turning free text into an FTS5 query for the embedded engine's BM25 search.

Questions are mostly glue words ("what did she say about ..."); OR-ing those into a
BM25 query matches every row and drowns the rare words that carry the meaning, so they
are dropped here. Stemming is FTS5's job (the ``porter`` tokenizer on the table), so
"painted" in a question finds "painting" in a memory.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["STOPWORDS", "fts_query", "query_terms"]

#: English function words and question words (the classic IR list, plus contractions).
_STOPWORD_TEXT: Final = """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can cannot could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just let me
    more most my myself no nor not now of off on once only or other ought our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they this
    those through to too under until up very was we were what when where which while who whom why will
    with would you your yours yourself yourselves s t d ll m re ve don didn doesn isn aren wasn weren
    hasn haven hadn won wouldn shan shouldn couldn mustn
"""
STOPWORDS: Final = frozenset(_STOPWORD_TEXT.split())

_WORD = re.compile(r"[^\W_]+")
_MAX_TERMS: Final = 64


def query_terms(text: str) -> list[str]:
    """The distinct searchable words of ``text``, lowercased, in order of appearance."""
    terms = dict.fromkeys(w for w in _WORD.findall(text.lower()) if w not in STOPWORDS)
    return list(terms)[:_MAX_TERMS]


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression OR-ing the terms of ``text`` (``None`` if it has none).

    Each term is a quoted run of letters and digits, so no user text is ever parsed as
    FTS5 syntax.
    """
    terms = query_terms(text)
    return " OR ".join(f'"{term}"' for term in terms) if terms else None
