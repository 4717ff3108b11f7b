"""Run a LoCoMo-format evaluation through the public ``VectorMemory`` API.

Each conversation goes into its own fresh store (one index per conversation, as in
the published baselines), written with ``remember_many`` and queried with ``recall``
exactly as an application would: no shortcut around the service, the embedder or the
engine. Nothing about the questions (not their answers, not their evidence) is
looked at while storing.

How a conversation becomes memories (``units``):

* ``turns``: one memory per turn, ``"[<session date>] <speaker>: <text>"`` plus the
  caption of a shared image, with the neighbouring turns of the same session as
  ``context`` (``neighbours`` each side; indexed, never returned). A turn covers
  exactly its own id, whatever context was indexed with it.
* ``observations``: LoCoMo's generated facts, each covering the turn it cites.
* ``summaries``: one memory per session summary, covering every turn of its session.

Each session is stored as its own ``conversation_id`` (a session is one conversation
of the agent) with the session time as ``event_time``, so the conversational signals
of :class:`~strands_vector_memory.memory.Ranking` see what a live agent would.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..backends import EmbeddedBackend
from ..core import Field, Scope, ValidationError, WriteOutcome
from ..embedders import Embedder
from ..memory import Guardrails, MemoryPolicy, NewMemory, Ranking, VectorMemory
from ._locomo import Conversation, Session, Turn, load_conversations, scored_questions
from ._metrics import DEFAULT_KS, QuestionScore, RankedUnit, report, score_question

__all__ = ["RETRIEVERS", "UNITS", "EvalConfig", "ranking_for", "run_locomo", "turn_text"]

Units = Literal["turns", "observations", "summaries"]
UNITS: tuple[Units, ...] = ("turns", "observations", "summaries")

#: Named retrieval strategies: the default, and the plain baselines without signals.
RETRIEVERS: Mapping[str, Callable[[], Ranking]] = {
    "default": Ranking,
    "dense": lambda: Ranking.plain("dense"),
    "bm25": lambda: Ranking.plain("text"),
    "rrf": lambda: Ranking.plain("hybrid", "rrf"),
    "weighted": lambda: Ranking.plain("hybrid", "weighted"),
}

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class EvalConfig:
    """What to evaluate.

    Attributes:
        units: turns, observations or summaries.
        retriever: A name from :data:`RETRIEVERS`.
        ks: The cut-offs to score (the largest is the recall depth, at most 100).
        limit: Only the first N conversations (quick runs).
        neighbours: Turns of context on each side of a turn (0 = none); turns only.
        options: Ranking knobs to override, e.g. ``{"conversation_boost": 0}``.
        lifecycle: Store through the default write policy (dedup, conflict checks,
            default lifetimes) and guardrails, as an application would; off stores every
            unit exactly as given, the baseline that shows what hygiene costs recall.
    """

    units: Units = "turns"
    retriever: str = "default"
    ks: tuple[int, ...] = DEFAULT_KS
    limit: int | None = None
    neighbours: int = 2
    options: Mapping[str, Any] = field(default_factory=dict)
    lifecycle: bool = True

    def __post_init__(self) -> None:
        if self.units not in UNITS:
            raise ValidationError(f"units must be one of {', '.join(UNITS)}, got {self.units!r}", field="units")
        if self.retriever not in RETRIEVERS:
            allowed = ", ".join(RETRIEVERS)
            raise ValidationError(f"retriever must be one of {allowed}, got {self.retriever!r}", field="retriever")
        if not self.ks or any(isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100 for k in self.ks):
            raise ValidationError(f"ks must be integers in 1..100, got {self.ks!r}", field="ks")
        if self.limit is not None and (isinstance(self.limit, bool) or self.limit < 1):
            raise ValidationError(f"limit must be a positive integer, got {self.limit!r}", field="limit")
        if isinstance(self.neighbours, bool) or not 0 <= self.neighbours <= 4:
            raise ValidationError(f"neighbours must be in 0..4, got {self.neighbours!r}", field="neighbours")
        ranking_for(self)  # validate the options now, not after the ingest


def ranking_for(config: EvalConfig) -> Ranking:
    """The ranking a configuration asks for."""
    return RETRIEVERS[config.retriever]().with_(**dict(config.options))


def turn_text(turn: Turn, date_text: str | None) -> str:
    """How a turn is stored: its date, speaker, words and any image it shared."""
    text = f"{turn.speaker}: {turn.text}"
    if turn.caption:
        text += f" [shared image: {turn.caption}]"
    return _dated(text, date_text)


def _dated(text: str, date_text: str | None) -> str:
    return f"[{date_text}] {text}" if date_text else text


def _in_session(session: Session, content: str, key: str, **fields: Any) -> NewMemory:
    """A memory of ``session``: its own conversation, stamped with the session's time."""
    return NewMemory(
        content,
        scope=Scope(conversation_id=f"session-{session.number}"),
        event_time=session.timestamp,
        created_at=session.timestamp,
        key=key,
        **fields,
    )


def _turn_units(conversation: Conversation, neighbours: int) -> list[tuple[NewMemory, RankedUnit]]:
    units = []
    for session in conversation.sessions:
        texts = [turn_text(t, session.date_text) for t in session.turns]
        for i, turn in enumerate(session.turns):
            context = texts[max(0, i - neighbours) : i] + texts[i + 1 : i + 1 + neighbours]
            item = _in_session(
                session,
                texts[i],
                f"turn-{session.number}-{i}",
                metadata={"speaker": turn.speaker, "dia_id": turn.dia_id},
                context=context or None,
            )
            units.append((item, RankedUnit(frozenset({turn.dia_id}), session.number)))
    return units


def _observation_units(conversation: Conversation) -> list[tuple[NewMemory, RankedUnit]]:
    sessions = {s.number: s for s in conversation.sessions}
    units = []
    for i, observation in enumerate(conversation.observations):
        session = sessions[observation.session]
        item = _in_session(
            session,
            _dated(observation.text, session.date_text),
            f"observation-{i}",
            metadata={"speaker": observation.speaker, "dia_id": observation.dia_id},
        )
        units.append((item, RankedUnit(frozenset({observation.dia_id}), session.number)))
    return units


def _summary_units(conversation: Conversation) -> list[tuple[NewMemory, RankedUnit]]:
    units = []
    for session in conversation.sessions:
        summary = conversation.summaries.get(session.number)
        if summary:
            item = _in_session(
                session, _dated(summary, session.date_text), f"summary-{session.number}", memory_type="summary"
            )
            units.append((item, RankedUnit(frozenset(t.dia_id for t in session.turns), session.number)))
    return units


def _units(conversation: Conversation, config: EvalConfig) -> list[tuple[NewMemory, RankedUnit]]:
    if config.units == "observations":
        return _observation_units(conversation)
    if config.units == "summaries":
        return _summary_units(conversation)
    return _turn_units(conversation, config.neighbours)


def run_locomo(
    path: str | os.PathLike[str],
    config: EvalConfig | None = None,
    *,
    embedder: Embedder | None = None,
    workdir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Ingest, ask and score; returns the report (``overall``, ``by_category``, timings).

    Args:
        path: A LoCoMo-format JSON file.
        config: What to evaluate (defaults: turns, the default ranking).
        embedder: Defaults to the bundled offline model.
        workdir: Where the temporary stores go (a fresh temporary directory by default;
            removed afterwards either way).
        progress: Called as ``progress(stage, done, total)`` with stages "ingest" and "query".
    """
    config = config or EvalConfig()
    ranking = ranking_for(config)
    conversations = load_conversations(path, limit=config.limit)
    if embedder is None:
        from ..embedders import MiniLMEmbedder

        embedder = MiniLMEmbedder()
    plans = [(c, _units(c, config), scored_questions(c)) for c in conversations]
    total_units = sum(len(units) for _, units, _ in plans)
    total_questions = sum(len(questions) for *_, questions in plans)
    depth = max(config.ks)
    scores: list[QuestionScore] = []
    ingest_seconds = 0.0
    latencies: list[float] = []
    stored = asked = deduplicated = redacted = 0
    with tempfile.TemporaryDirectory(prefix="strands-memory-eval-", dir=workdir) as tmp:
        for number, (conversation, units, questions) in enumerate(plans):
            store = Path(tmp) / f"conversation-{number}"
            hygiene: dict[str, Any] = (
                {} if config.lifecycle else {"policy": MemoryPolicy.keep_everything(), "guardrails": Guardrails.none()}
            )
            with VectorMemory(EmbeddedBackend(store), embedder, ranking=ranking, **hygiene) as memory:
                user = Scope(user_id=conversation.sample_id or f"conversation-{number}")
                covers = {item.key: unit for item, unit in units}
                started = time.perf_counter()
                for start in range(0, len(units), 500):
                    batch = [item for item, _ in units[start : start + 500]]
                    written = memory.remember_many(batch, scope=user)
                    deduplicated += sum(m.outcome is WriteOutcome.REINFORCED for m in written)
                    redacted += sum(bool(m.metadata.get(Field.REDACTIONS)) for m in written)
                    stored += len(batch)
                    if progress:
                        progress("ingest", stored, total_units)
                ingest_seconds += time.perf_counter() - started
                for question in questions:
                    started = time.perf_counter()
                    found = memory.recall(question.text, scope=user, top_k=depth)
                    latencies.append(time.perf_counter() - started)
                    ranked = [covers[m.key] for m in found if m.key in covers]
                    sessions = {conversation.session_of(e) for e in question.evidence}
                    scores.append(score_question(ranked, question.evidence, sessions, question.category, config.ks))
                    asked += 1
                    if progress:
                        progress("query", asked, total_questions)
    result = report(scores)
    return {
        "dataset": Path(path).name,
        "units": config.units,
        "retriever": config.retriever,
        "neighbours": config.neighbours if config.units == "turns" else 0,
        "embedder": embedder.name,
        "ranking": _describe(ranking),
        "conversations": len(conversations),
        "memories": total_units,
        "lifecycle": config.lifecycle,
        "deduplicated": deduplicated,
        "redacted": redacted,
        **result,
        "timing": {
            "ingest_seconds": round(ingest_seconds, 3),
            "query_seconds": round(sum(latencies), 3),
            "query_p50_ms": round(1000 * statistics.median(latencies), 3) if latencies else None,
            "query_p95_ms": round(1000 * _percentile(latencies, 0.95), 3) if latencies else None,
        },
    }


def _describe(ranking: Ranking) -> dict[str, Any]:
    described = asdict(ranking)
    described["mode"] = ranking.mode.value
    described["fusion"] = ranking.fusion.value
    described["name_fields"] = list(ranking.name_fields)
    return described


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
