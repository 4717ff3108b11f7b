"""Retrieval evaluation on LoCoMo-format datasets: a validating loader and the scores.

The loader turns a LoCoMo-format JSON file into frozen records with clean evidence
ids; the metrics score a ranked list of retrieved units against that evidence. Neither
runs a retriever, so any memory system can be scored by mapping its results to
:class:`RankedUnit`.
"""

from ._locomo import (
    CATEGORY_NAMES,
    SCORED_CATEGORIES,
    Conversation,
    Observation,
    Question,
    Session,
    Turn,
    load_conversations,
    normalise_evidence,
    parse_session_date,
    scored_questions,
)
from ._metrics import DEFAULT_KS, QuestionScore, RankedUnit, aggregate, report, score_question
from ._runner import RETRIEVERS, UNITS, EvalConfig, ranking_for, run_locomo, turn_text

__all__ = [
    "RETRIEVERS",
    "UNITS",
    "EvalConfig",
    "ranking_for",
    "run_locomo",
    "turn_text",
    "CATEGORY_NAMES",
    "DEFAULT_KS",
    "SCORED_CATEGORIES",
    "Conversation",
    "Observation",
    "Question",
    "QuestionScore",
    "RankedUnit",
    "Session",
    "Turn",
    "aggregate",
    "load_conversations",
    "normalise_evidence",
    "parse_session_date",
    "report",
    "scored_questions",
    "score_question",
]
