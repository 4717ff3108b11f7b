"""Load LoCoMo-format conversation datasets into frozen, validated records.

LoCoMo (Maharana et al., ACL 2024) ships a JSON list of long two-person conversations
with questions whose ``evidence`` names the turns that answer them. Other datasets
reuse the format, so nothing here knows about the ten LoCoMo conversations: the
loader checks the structure it relies on, raises :class:`ValidationError` naming the
sample and the field when that structure is broken, and treats the optional parts
(observations, session summaries, image captions) as optional.

The published file has hand-typed evidence (``'D8:6; D9:17'``, ``'D:11:26'``,
``'D30:05'``, a bare ``'D'``, ids of turns that do not exist). Evidence is the ground
truth of a retrieval score, so it is normalised once here and every id that survives
names a real turn: a metric never has to guess what an id meant.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Final

from ..core import ValidationError
from ..memory._query import month_number

__all__ = [
    "CATEGORY_NAMES",
    "SCORED_CATEGORIES",
    "Conversation",
    "Observation",
    "Question",
    "Session",
    "Turn",
    "load_conversations",
    "normalise_evidence",
    "parse_session_date",
    "scored_questions",
]

SCORED_CATEGORIES: Final = (1, 2, 3, 4)
"""Categories memory benchmarks score; 5 (adversarial) has no answer in the conversation."""
CATEGORY_NAMES: Final[Mapping[int, str]] = MappingProxyType(
    {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
)

_SESSION_KEY: Final = re.compile(r"session_(\d+)")
_DATE_KEY: Final = re.compile(r"session_(\d+)_date_time")
_OBSERVATION_KEY: Final = re.compile(r"session_(\d+)_observation")
_SUMMARY_KEY: Final = re.compile(r"session_(\d+)_summary")
_DIA_ID: Final = re.compile(r"[Dd]:?(\d+):(\d+)")
"""``D3:7``, also ``d3:7`` and ``D:3:7``; leading zeros are dropped by ``int``."""
_ID_SEPARATORS: Final = re.compile(r"[;,\s]+")
_DATE: Final = re.compile(
    r"""\s*
    (?:(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*(?:(?P<ampm>[ap])\.?\s*m\.?)?\s+on\s+)?
    (?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?P<month>[a-z]+)\.?\s*,?\s*(?P<year>\d{4})
    \s*""",
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Turn:
    """One utterance; ``caption`` describes the image the speaker shared with it, if any."""

    dia_id: str
    session: int
    speaker: str
    text: str
    caption: str | None


@dataclass(frozen=True, slots=True)
class Session:
    """One sitting of the conversation; ``timestamp`` is ``None`` when ``date_text`` is not a date."""

    number: int
    date_text: str | None
    timestamp: float | None
    turns: tuple[Turn, ...]


@dataclass(frozen=True, slots=True)
class Question:
    """A question and the turns that answer it (normalised ids of existing turns only)."""

    text: str
    category: int
    evidence: tuple[str, ...]
    answer: str | None


@dataclass(frozen=True, slots=True)
class Observation:
    """A generated fact about one speaker, citing the turn it was drawn from."""

    session: int
    speaker: str
    text: str
    dia_id: str


@dataclass(frozen=True, slots=True)
class Conversation:
    """One sample: the sessions in order, every question, and the optional generated notes.

    ``questions`` is unfiltered (all categories, also those whose evidence dropped out)
    so a caller can count what it skips; :func:`scored_questions` is the usual filter.
    """

    sample_id: str
    speakers: tuple[str, ...]
    sessions: tuple[Session, ...]
    questions: tuple[Question, ...]
    observations: tuple[Observation, ...]
    summaries: Mapping[int, str]
    _session_by_turn: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {turn.dia_id: session.number for session in self.sessions for turn in session.turns}
        object.__setattr__(self, "_session_by_turn", MappingProxyType(index))

    def turns(self) -> Iterator[Turn]:
        """Every turn, session by session, in conversation order."""
        for session in self.sessions:
            yield from session.turns

    def session_of(self, dia_id: str) -> int:
        """The session number of turn ``dia_id`` (a normalised id); ``KeyError`` if there is no such turn."""
        try:
            return self._session_by_turn[dia_id]
        except KeyError:
            raise KeyError(f"{self.sample_id} has no turn {dia_id!r}") from None


def load_conversations(path: str | os.PathLike[str], *, limit: int | None = None) -> list[Conversation]:
    """Read a LoCoMo-format JSON file; ``limit`` keeps (and checks) only the first samples.

    Raises:
        ValidationError: The file is not JSON or breaks the format; the message names
            the sample and the field.
        OSError: The file cannot be read.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValidationError(f"limit must be a non-negative integer, got {limit!r}", field="limit", limit=">= 0")
    where = os.fspath(path)
    with open(path, encoding="utf-8") as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{where}: not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise ValidationError(f"{where}: expected a JSON list of samples, got {type(data).__name__}")
    samples = data if limit is None else data[:limit]
    return [_conversation(sample, f"{where}: sample {i}") for i, sample in enumerate(samples)]


def normalise_evidence(raw: object, known: Container[str]) -> tuple[str, ...]:
    """Canonical ids (``D3:7``) of the turns ``raw`` names, deduplicated, in order.

    ``raw`` is an evidence list, one entry, or (in observations) a list of entries;
    entries may hold several ids separated by ``;``, ``,`` or spaces. Anything that is
    not an id, and any id not in ``known``, is dropped.
    """
    out: list[str] = []
    for token in _tokens(raw):
        dia_id = _canonical_id(token)
        if dia_id is not None and dia_id in known and dia_id not in out:
            out.append(dia_id)
    return tuple(out)


def parse_session_date(text: str) -> float | None:
    """Epoch seconds (UTC) of a session date such as ``"1:56 pm on 8 May, 2023"``; ``None`` if it is not one.

    The dataset gives wall-clock times without a zone; reading them as UTC keeps the
    order and the gaps between sessions, which is all a recency signal needs.
    """
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    month = month_number(match["month"])
    if month is None:
        return None
    hour = int(match["hour"] or 0)
    minute = int(match["minute"] or 0)
    if match["ampm"] is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ampm"].lower() == "p" else 0)
    try:
        moment = datetime(int(match["year"]), month, int(match["day"]), hour, minute, tzinfo=timezone.utc)
    except ValueError:
        return None
    return moment.timestamp()


def scored_questions(conversation: Conversation) -> list[Question]:
    """The questions a retrieval score counts: categories 1-4 with at least one evidence turn."""
    return [q for q in conversation.questions if q.category in SCORED_CATEGORIES and q.evidence]


# --------------------------------------------------------------------------- evidence ids


def _tokens(raw: object) -> Iterator[str]:
    """The candidate ids in ``raw``, however it nests strings and lists."""
    if isinstance(raw, str):
        yield from (token for token in _ID_SEPARATORS.split(raw) if token)
    elif isinstance(raw, (list, tuple)):
        for item in raw:
            yield from _tokens(item)


def _canonical_id(token: str) -> str | None:
    """``D3:7`` for any spelling of it, ``None`` if ``token`` is not a turn id."""
    match = _DIA_ID.fullmatch(token)
    if match is None:
        return None
    return f"D{int(match[1])}:{int(match[2])}"


# --------------------------------------------------------------------------- parsing


def _conversation(sample: object, where: str) -> Conversation:
    sample = _as_dict(sample, where, "sample")
    sample_id = sample.get("sample_id")
    if isinstance(sample_id, bool) or not isinstance(sample_id, (str, int)):
        raise ValidationError(f"{where}: sample_id must be a string, got {sample_id!r}", field="sample_id")
    where = f"{where} ({sample_id})"
    if "conversation" not in sample:
        raise ValidationError(f"{where}: missing 'conversation'", field="conversation")
    body = _as_dict(sample["conversation"], where, "conversation")
    speakers = tuple(_string(body.get(key), where, f"conversation.{key}") for key in ("speaker_a", "speaker_b"))
    sessions = _sessions(body, where)
    known = {turn.dia_id: session.number for session in sessions for turn in session.turns}
    return Conversation(
        sample_id=str(sample_id),
        speakers=speakers,
        sessions=sessions,
        questions=_questions(sample.get("qa", []), known, where),
        observations=_observations(sample.get("observation", {}), known, where),
        summaries=_summaries(sample.get("session_summary", {}), {s.number for s in sessions}, where),
    )


def _sessions(body: dict[str, Any], where: str) -> tuple[Session, ...]:
    """Sessions with turns, in numeric order (``session_10`` after ``session_2``)."""
    dates = {int(m[1]): value for key, value in body.items() if (m := _DATE_KEY.fullmatch(key))}
    sessions: list[Session] = []
    seen: set[str] = set()
    for number, key in _numbered(body, _SESSION_KEY):
        raw_turns = body[key]
        if not isinstance(raw_turns, list):
            raise ValidationError(f"{where}: conversation.{key} must be a list of turns", field=f"conversation.{key}")
        turns = tuple(_turn(raw, number, seen, where, f"conversation.{key}[{i}]") for i, raw in enumerate(raw_turns))
        if not turns:
            continue
        date_text = dates.get(number)
        if date_text is not None:
            date_text = _string(date_text, where, f"conversation.session_{number}_date_time")
        timestamp = None if date_text is None else parse_session_date(date_text)
        sessions.append(Session(number=number, date_text=date_text, timestamp=timestamp, turns=turns))
    return tuple(sessions)


def _turn(raw: object, session: int, seen: set[str], where: str, name: str) -> Turn:
    turn = _as_dict(raw, where, name)
    raw_id = _string(turn.get("dia_id"), where, f"{name}.dia_id")
    dia_id = _canonical_id(raw_id.strip())
    if dia_id is None:
        raise ValidationError(f"{where}: {name}.dia_id {raw_id!r} is not a turn id like 'D3:7'", field=f"{name}.dia_id")
    if dia_id in seen:
        raise ValidationError(f"{where}: {name}.dia_id {dia_id!r} is used by an earlier turn", field=f"{name}.dia_id")
    seen.add(dia_id)
    caption = turn.get("blip_caption")
    return Turn(
        dia_id=dia_id,
        session=session,
        speaker=_string(turn.get("speaker"), where, f"{name}.speaker"),
        text=_string(turn.get("text"), where, f"{name}.text"),
        caption=None if caption is None else _string(caption, where, f"{name}.blip_caption"),
    )


def _questions(raw: object, known: Mapping[str, int], where: str) -> tuple[Question, ...]:
    if not isinstance(raw, list):
        raise ValidationError(f"{where}: qa must be a list of questions", field="qa")
    questions: list[Question] = []
    for i, item in enumerate(raw):
        name = f"qa[{i}]"
        qa = _as_dict(item, where, name)
        category = qa.get("category")
        if isinstance(category, bool) or not isinstance(category, int):
            raise ValidationError(f"{where}: {name}.category must be an integer, got {category!r}", field=name)
        evidence = qa.get("evidence", [])
        if not isinstance(evidence, (list, str)):
            raise ValidationError(f"{where}: {name}.evidence must be a list of turn ids", field=f"{name}.evidence")
        answer = qa.get("answer")
        questions.append(
            Question(
                text=_string(qa.get("question"), where, f"{name}.question"),
                category=category,
                evidence=normalise_evidence(evidence, known),
                answer=None if answer is None else str(answer),
            )
        )
    return tuple(questions)


def _observations(raw: object, known: Mapping[str, int], where: str) -> tuple[Observation, ...]:
    """Facts in session order; a fact citing several turns keeps the first that exists.

    ``Observation`` cites one turn, and a fact is one retrievable unit: splitting it
    into one copy per cited turn would index the same text several times.
    """
    sessions = _as_dict(raw, where, "observation")
    observations: list[Observation] = []
    for _, key in _numbered(sessions, _OBSERVATION_KEY):
        by_speaker = _as_dict(sessions[key], where, f"observation.{key}")
        for speaker, facts in by_speaker.items():
            name = f"observation.{key}.{speaker}"
            if not isinstance(facts, list):
                raise ValidationError(f"{where}: {name} must be a list of [fact, dia_id] pairs", field=name)
            for i, fact in enumerate(facts):
                if not isinstance(fact, list) or len(fact) < 2:
                    raise ValidationError(f"{where}: {name}[{i}] must be a [fact, dia_id] pair", field=f"{name}[{i}]")
                text = _string(fact[0], where, f"{name}[{i}][0]")
                cited = normalise_evidence(fact[1:], known)
                if cited:
                    observations.append(Observation(known[cited[0]], speaker, text, cited[0]))
    return tuple(observations)


def _summaries(raw: object, sessions: Container[int], where: str) -> Mapping[int, str]:
    """Summaries of sessions that have turns, by session number."""
    summaries = _as_dict(raw, where, "session_summary")
    return MappingProxyType(
        {
            number: _string(summaries[key], where, f"session_summary.{key}")
            for number, key in _numbered(summaries, _SUMMARY_KEY)
            if number in sessions
        }
    )


# --------------------------------------------------------------------------- helpers


def _numbered(mapping: Mapping[str, object], pattern: re.Pattern[str]) -> list[tuple[int, str]]:
    """``(N, key)`` for the keys matching ``pattern``, by N (numeric, not text, order)."""
    return sorted((int(m[1]), key) for key in mapping if (m := pattern.fullmatch(key)))


def _as_dict(value: object, where: str, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(f"{where}: {name} must be an object, got {type(value).__name__}", field=name)
    return value


def _string(value: object, where: str, name: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{where}: {name} must be a string, got {value!r}", field=name)
    return value
