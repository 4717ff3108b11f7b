"""The LoCoMo loader on small synthetic files: ordering, evidence repair, optional parts, errors."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from strands_vector_memory.core import ValidationError
from strands_vector_memory.evals import (
    CATEGORY_NAMES,
    SCORED_CATEGORIES,
    Conversation,
    Observation,
    Question,
    Turn,
    load_conversations,
    normalise_evidence,
    parse_session_date,
    scored_questions,
)


def turns(session: int, count: int, speakers: tuple[str, str] = ("Ann", "Bob")) -> list[dict[str, Any]]:
    return [
        {"speaker": speakers[(i - 1) % 2], "dia_id": f"D{session}:{i}", "text": f"s{session} t{i}"}
        for i in range(1, count + 1)
    ]


def sample() -> dict[str, Any]:
    """Sessions 1, 2, 8, 9, 10, 11 and 30; a date for session 12, which has no turns."""
    session_2 = turns(2, 3)
    session_2[1]["blip_caption"] = "a photo of a dog on a beach"
    session_2[1]["img_url"] = ["https://example.invalid/dog.jpg"]
    conversation: dict[str, Any] = {
        "speaker_a": "Ann",
        "speaker_b": "Bob",
        "session_10_date_time": "10:37 am on 27 June, 2023",
        "session_10": turns(10, 2),
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": turns(1, 2),
        "session_2_date_time": "not a date",
        "session_2": session_2,
        "session_8": turns(8, 6),
        "session_9": turns(9, 17),
        "session_11": turns(11, 26),
        "session_30": turns(30, 5),
        "session_12_date_time": "9:00 am on 1 July, 2023",
    }
    qa = [
        {"question": "q-multi", "answer": "sunset", "evidence": ["D8:6; D9:17"], "category": 1},
        {"question": "q-colon", "answer": 2022, "evidence": ["D:11:26", "D1:1"], "category": 2},
        {"question": "q-zeros", "answer": "November 2023", "evidence": ["D30:05", "d1:2"], "category": 2},
        {"question": "q-bare", "answer": "x", "evidence": ["D1:1", "D", "D2:1"], "category": 4},
        {"question": "q-spaces", "answer": "y", "evidence": ["D2:1 D2:3 D1:1", "D2:1"], "category": 1},
        {"question": "q-unknown", "answer": "z", "evidence": ["D10:19", "D2:2"], "category": 4},
        {"question": "q-dropped", "answer": "w", "evidence": ["D4:36", "D", "junk"], "category": 3},
        {"question": "q-empty", "answer": "v", "evidence": [], "category": 3},
        {"question": "q-adversarial", "adversarial_answer": "never", "evidence": ["D1:2"], "category": 5},
    ]
    observation = {
        "session_2_observation": {
            "Ann": [["Ann has a dog.", "D2:2"], ["Ann likes beaches.", [["D2:3", "D2:1"]]]],
            "Bob": [["Bob cites several turns.", "D2:3, D2:1"], ["Bob cites nothing real.", "D7:7"]],
        },
        "session_1_observation": {"Ann": [["Ann says hello.", "d1:01"]], "Bob": [["Bob is garbled.", "D"]]},
    }
    session_summary = {
        "session_10_summary": "Ten.",
        "session_1_summary": "One.",
        "session_12_summary": "A session without turns.",
    }
    return {
        "sample_id": "conv-x",
        "conversation": conversation,
        "qa": qa,
        "event_summary": {"events_session_1": {}},
        "observation": observation,
        "session_summary": session_summary,
    }


def minimal_sample(sample_id: str = "conv-min") -> dict[str, Any]:
    """Only the required parts: no observation, no summaries, no captions, no dates."""
    return {
        "sample_id": sample_id,
        "conversation": {"speaker_a": "Ann", "speaker_b": "Bob", "session_1": turns(1, 2)},
        "qa": [{"question": "q", "answer": "a", "evidence": ["D1:1"], "category": 4}],
    }


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def conversation(tmp_path: Path) -> Conversation:
    (loaded,) = load_conversations(write(tmp_path, [sample()]))
    return loaded


def question(conversation: Conversation, text: str) -> Question:
    return next(q for q in conversation.questions if q.text == text)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=timezone.utc).timestamp()


# --------------------------------------------------------------------------- structure


def test_sessions_sort_numerically_and_dateless_keys_are_ignored(conversation: Conversation) -> None:
    assert [s.number for s in conversation.sessions] == [1, 2, 8, 9, 10, 11, 30]
    assert conversation.sample_id == "conv-x"
    assert conversation.speakers == ("Ann", "Bob")


def test_turns_come_in_conversation_order_with_their_session(conversation: Conversation) -> None:
    all_turns = list(conversation.turns())
    assert len(all_turns) == 2 + 3 + 6 + 17 + 2 + 26 + 5
    assert [t.dia_id for t in all_turns[:5]] == ["D1:1", "D1:2", "D2:1", "D2:2", "D2:3"]
    assert all_turns[-1] == Turn(dia_id="D30:5", session=30, speaker="Ann", text="s30 t5", caption=None)
    assert conversation.session_of("D11:26") == 11
    assert conversation.session_of("D30:5") == 30
    with pytest.raises(KeyError, match="D12:1"):
        conversation.session_of("D12:1")


def test_captions_are_kept(conversation: Conversation) -> None:
    shared = conversation.sessions[1].turns[1]
    assert shared.dia_id == "D2:2"
    assert shared.caption == "a photo of a dog on a beach"
    assert sum(t.caption is not None for t in conversation.turns()) == 1


def test_session_dates_are_parsed_or_none(conversation: Conversation) -> None:
    by_number = {s.number: s for s in conversation.sessions}
    assert by_number[1].date_text == "1:56 pm on 8 May, 2023"
    assert by_number[1].timestamp == utc(2023, 5, 8, 13, 56)
    assert by_number[10].timestamp == utc(2023, 6, 27, 10, 37)
    assert by_number[2].date_text == "not a date"
    assert by_number[2].timestamp is None
    assert by_number[8].date_text is None
    assert by_number[8].timestamp is None


# --------------------------------------------------------------------------- questions and evidence


@pytest.mark.parametrize(
    ("text", "evidence"),
    [
        ("q-multi", ("D8:6", "D9:17")),
        ("q-colon", ("D11:26", "D1:1")),
        ("q-zeros", ("D30:5", "D1:2")),
        ("q-bare", ("D1:1", "D2:1")),
        ("q-spaces", ("D2:1", "D2:3", "D1:1")),
        ("q-unknown", ("D2:2",)),
        ("q-dropped", ()),
        ("q-empty", ()),
        ("q-adversarial", ("D1:2",)),
    ],
)
def test_evidence_is_normalised_deduplicated_and_checked(
    conversation: Conversation, text: str, evidence: tuple[str, ...]
) -> None:
    assert question(conversation, text).evidence == evidence


def test_all_questions_are_kept_and_answers_are_strings(conversation: Conversation) -> None:
    assert len(conversation.questions) == 9
    assert question(conversation, "q-colon").answer == "2022"
    assert question(conversation, "q-adversarial") == Question(
        text="q-adversarial", category=5, evidence=("D1:2",), answer=None
    )


def test_scored_questions_skip_category_5_and_questions_without_evidence(conversation: Conversation) -> None:
    scored = [q.text for q in scored_questions(conversation)]
    assert scored == ["q-multi", "q-colon", "q-zeros", "q-bare", "q-spaces", "q-unknown"]


def test_normalise_evidence_directly() -> None:
    known = {"D1:1", "D3:7", "D11:26", "D30:5"}
    assert normalise_evidence(["D3:7"], known) == ("D3:7",)
    assert normalise_evidence("D3:07,D1:1;d30:005  D:11:26", known) == ("D3:7", "D1:1", "D30:5", "D11:26")
    assert normalise_evidence([["D1:1", ["D3:7"]], "D1:1"], known) == ("D1:1", "D3:7")
    assert normalise_evidence(["D", "D3", "3:7", "D3:7x", "X3:7", "", " ", "D9:9"], known) == ()
    assert normalise_evidence([7, None, {"D3:7": 1}], known) == ()
    assert normalise_evidence(None, known) == ()


# --------------------------------------------------------------------------- observations and summaries


def test_observations_normalise_their_citation_and_drop_unknown_ones(conversation: Conversation) -> None:
    assert conversation.observations == (
        Observation(session=1, speaker="Ann", text="Ann says hello.", dia_id="D1:1"),
        Observation(session=2, speaker="Ann", text="Ann has a dog.", dia_id="D2:2"),
        Observation(session=2, speaker="Ann", text="Ann likes beaches.", dia_id="D2:3"),
        Observation(session=2, speaker="Bob", text="Bob cites several turns.", dia_id="D2:3"),
    )


def test_summaries_by_session_number_only_for_sessions_with_turns(conversation: Conversation) -> None:
    assert dict(conversation.summaries) == {1: "One.", 10: "Ten."}


def test_optional_parts_may_be_missing(tmp_path: Path) -> None:
    (loaded,) = load_conversations(write(tmp_path, [minimal_sample()]))
    assert loaded.observations == ()
    assert dict(loaded.summaries) == {}
    assert loaded.sessions[0].date_text is None
    assert [t.caption for t in loaded.turns()] == [None, None]
    assert [q.evidence for q in scored_questions(loaded)] == [("D1:1",)]


def test_limit_keeps_the_first_samples(tmp_path: Path) -> None:
    path = write(tmp_path, [minimal_sample("a"), minimal_sample("b"), {"broken": True}])
    assert [c.sample_id for c in load_conversations(path, limit=2)] == ["a", "b"]
    assert load_conversations(path, limit=0) == []
    with pytest.raises(ValidationError, match="limit"):
        load_conversations(path, limit=-1)


def test_constants() -> None:
    assert SCORED_CATEGORIES == (1, 2, 3, 4)
    assert CATEGORY_NAMES[1] == "multi-hop"
    assert CATEGORY_NAMES[5] == "adversarial"


# --------------------------------------------------------------------------- malformed files


def broken(mutate: Any) -> list[dict[str, Any]]:
    data = sample()
    mutate(data)
    return [minimal_sample(), data]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sample_id": "x"}, "expected a JSON list of samples, got dict"),
        (["conv"], r"sample 0: sample must be an object, got str"),
        ([minimal_sample(), {"sample_id": "conv-y", "qa": []}], r"sample 1 \(conv-y\): missing 'conversation'"),
        (broken(lambda d: d.pop("sample_id")), r"sample 1: sample_id must be a string"),
        (broken(lambda d: d["conversation"].pop("speaker_b")), r"conversation\.speaker_b must be a string"),
        (broken(lambda d: d["conversation"].update(session_3="x")), r"conversation\.session_3 must be a list"),
        (
            broken(lambda d: d["conversation"]["session_8"][2].update(dia_id="turn-3")),
            r"conv-x\): conversation\.session_8\[2\]\.dia_id 'turn-3' is not a turn id",
        ),
        (
            broken(lambda d: d["conversation"]["session_8"][3].update(dia_id="D8:1")),
            r"session_8\[3\]\.dia_id 'D8:1' is used by an earlier turn",
        ),
        (broken(lambda d: d["conversation"]["session_1"][0].pop("text")), r"session_1\[0\]\.text must be a string"),
        (broken(lambda d: d["qa"][2].update(category="2")), r"qa\[2\]\.category must be an integer"),
        (broken(lambda d: d["qa"][2].pop("question")), r"qa\[2\]\.question must be a string"),
        (broken(lambda d: d["qa"][0].update(evidence=7)), r"qa\[0\]\.evidence must be a list"),
        (broken(lambda d: d.update(qa={})), r"qa must be a list"),
        (
            broken(lambda d: d["observation"]["session_1_observation"].update(Ann="x")),
            r"observation\.session_1_observation\.Ann must be a list",
        ),
        (
            broken(lambda d: d["observation"]["session_1_observation"]["Ann"].append(["lonely fact"])),
            r"observation\.session_1_observation\.Ann\[1\] must be a \[fact, dia_id\] pair",
        ),
        (broken(lambda d: d["session_summary"].update(session_1_summary=None)), r"session_1_summary must be a string"),
    ],
)
def test_malformed_files_raise_validation_errors_that_say_where(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        load_conversations(write(tmp_path, data))


def test_invalid_json_is_a_validation_error(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text("[{", encoding="utf-8")
    with pytest.raises(ValidationError, match="not valid JSON"):
        load_conversations(path)


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_conversations(tmp_path / "absent.json")


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1:56 pm on 8 May, 2023", utc(2023, 5, 8, 13, 56)),
        ("10:37 am on 27 June, 2023", utc(2023, 6, 27, 10, 37)),
        ("12:00 am on 1 January, 2024", utc(2024, 1, 1, 0, 0)),
        ("12:30 pm on 1 January, 2024", utc(2024, 1, 1, 12, 30)),
        ("1:56 pm on 8 May 2023", utc(2023, 5, 8, 13, 56)),
        ("1:56 PM on 8 Sep, 2023", utc(2023, 9, 8, 13, 56)),
        ("1:56 p.m. on 8 Sept. 2023", utc(2023, 9, 8, 13, 56)),
        ("  7:05pm on 21st October, 2022 ", utc(2022, 10, 21, 19, 5)),
        ("18:05 on 3 Feb, 2023", utc(2023, 2, 3, 18, 5)),
        ("8 May, 2023", utc(2023, 5, 8)),
    ],
)
def test_parse_session_date(text: str, expected: float) -> None:
    assert parse_session_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a date",
        "1:56 pm on 8 Mayo, 2023",
        "1:56 pm on 31 February, 2023",
        "13:56 pm on 8 May, 2023",
        "0:56 am on 8 May, 2023",
        "1:61 pm on 8 May, 2023",
        "25:00 on 8 May, 2023",
        "1:56 pm on 8 May, 2023 and more",
    ],
)
def test_unparseable_dates_are_none(text: str) -> None:
    assert parse_session_date(text) is None
