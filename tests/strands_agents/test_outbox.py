"""The durable outbox on a real SQLite file: transcripts, owed jobs, leases and backoff."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from strands_vector_memory import ValidationError
from strands_vector_memory.strands_agents import Identity, Outbox
from strands_vector_memory.strands_agents._outbox import Job, TranscriptMessage, summary_key, turn_key


class SettableClock(Protocol):
    now: float

    def __call__(self) -> float: ...


ALICE = Identity(user_id="alice", conversation_id="conv-1", agent_id="helper")


@pytest.fixture
def outbox(tmp_path: Path, clock: SettableClock) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.sqlite3", clock=clock)
    yield box
    box.close()


def _msg(role: str, text: str, at: float = 1_750_000_000.0, name: str | None = None) -> TranscriptMessage:
    return TranscriptMessage(role=role, text=text, at=at, name=name)


def _turn(n: int, at: float = 1_750_000_000.0) -> list[TranscriptMessage]:
    return [_msg("user", f"question {n}", at), _msg("assistant", f"answer {n}", at + 1)]


def _claim_all(box: Outbox, kind: str | None = None) -> list[Job]:
    jobs = box.claim(due_only=False, limit=10_000)
    return [j for j in jobs if kind is None or j.kind == kind]


def _job_row(path: Path, job_id: str) -> dict[str, Any]:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    assert row is not None, job_id
    return dict(row)


def _texts(messages: list[TranscriptMessage]) -> list[str]:
    return [m.text for m in messages]


# -- commit_turn --------------------------------------------------------------------


def test_commit_turn_records_transcript_and_a_turns_job(outbox: Outbox) -> None:
    outbox.commit_turn(ALICE, _turn(0), agent_name="helper")
    assert [(m.role, m.text) for m in outbox.transcript(ALICE)] == [("user", "question 0"), ("assistant", "answer 0")]
    assert outbox.open_conversations() == 1
    assert outbox.pending() == 1
    assert outbox.pending(kinds=("summary",)) == 0
    [job] = _claim_all(outbox)
    assert job.kind == "turns"
    assert job.identity == ALICE
    assert job.agent_name == "helper"
    assert job.attempts == 0
    assert job.id == f"turns:{ALICE.conversation_key}:0"
    turns = job.payload["turns"]
    assert [(t["seq"], t["role"], t["text"]) for t in turns] == [
        (0, "user", "question 0"),
        (1, "assistant", "answer 0"),
    ]
    assert [t["key"] for t in turns] == [turn_key(ALICE, 0), turn_key(ALICE, 1)]
    assert [t["at"] for t in turns] == [1_750_000_000.0, 1_750_000_001.0]


def test_turn_keys_are_deterministic_across_files_and_distinct_across_users(tmp_path: Path) -> None:
    keys = []
    for name, identity in (("a", ALICE), ("b", ALICE), ("c", Identity(user_id="bob", conversation_id="conv-1"))):
        box = Outbox(tmp_path / f"{name}.sqlite3")
        box.commit_turn(identity, _turn(0))
        [job] = _claim_all(box)
        keys.append([t["key"] for t in job.payload["turns"]])
        box.close()
    assert keys[0] == keys[1]
    assert not set(keys[0]) & set(keys[2])
    assert turn_key(ALICE, 0) != turn_key(ALICE, 1)
    assert turn_key(ALICE, 0).startswith("turn-")
    assert summary_key(ALICE, 0).startswith("summary-")
    assert summary_key(ALICE, 0) != summary_key(ALICE, 1)


def test_turns_carry_their_neighbours_as_context(outbox: Outbox) -> None:
    outbox.commit_turn(ALICE, _turn(1))
    outbox.commit_turn(ALICE, [_msg("user", "q2"), _msg("tool", "tool output"), _msg("assistant", "a2")])
    jobs = {j.id: j for j in _claim_all(outbox)}
    first = jobs[f"turns:{ALICE.conversation_key}:0"].payload["turns"]
    assert [t["context"] for t in first] == [["answer 1"], ["question 1"]]
    second = jobs[f"turns:{ALICE.conversation_key}:2"].payload["turns"]
    # The tool message is in the transcript but is neither a turn nor context.
    assert [(t["seq"], t["text"]) for t in second] == [(2, "q2"), (4, "a2")]
    assert second[0]["context"] == ["question 1", "answer 1", "a2"]
    assert second[1]["context"] == ["answer 1", "q2"]
    assert _texts(outbox.transcript(ALICE)) == ["question 1", "answer 1", "q2", "tool output", "a2"]


def test_neighbour_context_is_clipped_to_1200_chars(outbox: Outbox) -> None:
    long = "x" * 5000
    outbox.commit_turn(ALICE, [_msg("user", long), _msg("assistant", "short")])
    [job] = _claim_all(outbox)
    assert job.payload["turns"][1]["context"] == ["x" * 1200]
    assert job.payload["turns"][0]["text"] == long  # the turn itself is kept whole


def test_blank_and_tool_messages_owe_no_turns(outbox: Outbox) -> None:
    outbox.commit_turn(ALICE, [_msg("user", "   "), _msg("tool", "result")])
    assert outbox.pending() == 0
    assert _texts(outbox.transcript(ALICE)) == ["   ", "result"]


def test_named_assistants_are_labelled_in_the_transcript(outbox: Outbox) -> None:
    outbox.commit_turn(ALICE, [_msg("user", "hi"), _msg("assistant", "hello", name="planner")])
    assert [m.role for m in outbox.transcript(ALICE)] == ["user", "assistant (planner)"]
    [job] = _claim_all(outbox)
    assert [(t["role"], t["name"]) for t in job.payload["turns"]] == [("user", None), ("assistant", "planner")]


def test_store_turns_false_keeps_the_transcript_but_owes_nothing(outbox: Outbox) -> None:
    outbox.commit_turn(ALICE, _turn(0), store_turns=False)
    assert outbox.pending() == 0
    assert _texts(outbox.transcript(ALICE)) == ["question 0", "answer 0"]
    outbox.commit_turn(ALICE, _turn(1), store_turns=False, end_session=True)
    [job] = _claim_all(outbox)
    assert job.kind == "summary"
    assert [m["text"] for m in job.payload["transcript"]] == ["question 0", "answer 0", "question 1", "answer 1"]


def test_conversations_of_different_users_do_not_mix(outbox: Outbox) -> None:
    bob = Identity(user_id="bob", conversation_id="conv-1")
    outbox.commit_turn(ALICE, _turn(0))
    outbox.commit_turn(bob, _turn(7))
    assert _texts(outbox.transcript(ALICE)) == ["question 0", "answer 0"]
    assert _texts(outbox.transcript(bob)) == ["question 7", "answer 7"]
    assert outbox.open_conversations() == 2


# -- closing ---------------------------------------------------------------------------


def test_end_session_owes_a_summary_and_drops_the_transcript(outbox: Outbox) -> None:
    outbox.commit_turn(ALICE, _turn(0))
    outbox.commit_turn(ALICE, _turn(1, at=1_750_000_100.0), end_session=True)
    assert outbox.transcript(ALICE) == []
    assert outbox.open_conversations() == 0
    [summary] = _claim_all(outbox, "summary")
    assert summary.id == f"summary:{ALICE.conversation_key}:0"
    assert summary.payload["key"] == summary_key(ALICE, 0)
    assert summary.payload["part"] == 0
    assert summary.payload["transcript"] == [
        {"role": "user", "text": "question 0", "at": 1_750_000_000.0},
        {"role": "assistant", "text": "answer 0", "at": 1_750_000_001.0},
        {"role": "user", "text": "question 1", "at": 1_750_000_100.0},
        {"role": "assistant", "text": "answer 1", "at": 1_750_000_101.0},
    ]


def test_later_turns_after_end_session_get_a_new_part_and_new_seqs(outbox: Outbox) -> None:
    outbox.commit_turn(ALICE, _turn(0), end_session=True)
    outbox.commit_turn(ALICE, _turn(1), end_session=True)
    outbox.commit_turn(ALICE, _turn(2))
    jobs = _claim_all(outbox)
    turns = [t for j in jobs if j.kind == "turns" for t in j.payload["turns"]]
    assert [t["seq"] for t in turns] == [0, 1, 2, 3, 4, 5]
    assert len({t["key"] for t in turns}) == 6
    summaries = sorted((j for j in jobs if j.kind == "summary"), key=lambda j: j.payload["part"])
    assert [s.payload["part"] for s in summaries] == [0, 1]
    assert [s.payload["key"] for s in summaries] == [summary_key(ALICE, 0), summary_key(ALICE, 1)]
    assert [[m["text"] for m in s.payload["transcript"]] for s in summaries] == [
        ["question 0", "answer 0"],
        ["question 1", "answer 1"],
    ]
    # The third turn has no summary yet: it sits in the reopened transcript.
    assert _texts(outbox.transcript(ALICE)) == ["question 2", "answer 2"]
    assert outbox.open_conversations() == 1


def test_summarise_false_drops_the_transcript_without_a_summary(outbox: Outbox) -> None:
    outbox.commit_turn(ALICE, _turn(0), summarise=False, end_session=True)
    assert [j.kind for j in _claim_all(outbox)] == ["turns"]
    assert outbox.transcript(ALICE) == []
    assert outbox.open_conversations() == 0


def test_end_session_of_an_empty_turn_owes_nothing(outbox: Outbox) -> None:
    outbox.commit_turn(ALICE, [], end_session=True)
    assert outbox.pending() == 0
    outbox.commit_turn(ALICE, _turn(0), end_session=True)
    [summary] = _claim_all(outbox, "summary")
    assert summary.payload["part"] == 0  # the empty close used no part number


def test_close_conversation_closes_only_that_conversation(outbox: Outbox) -> None:
    bob = Identity(user_id="bob", conversation_id="conv-1")
    outbox.commit_turn(ALICE, _turn(0))
    outbox.commit_turn(bob, _turn(1))
    outbox.close_conversation(ALICE)
    outbox.close_conversation(ALICE)  # already closed: nothing more owed
    [summary] = _claim_all(outbox, "summary")
    assert summary.identity == ALICE
    assert _texts(outbox.transcript(bob)) == ["question 1", "answer 1"]
    assert outbox.open_conversations() == 1


def test_close_idle_follows_the_clock(outbox: Outbox, clock: SettableClock) -> None:
    bob = Identity(user_id="bob", conversation_id="conv-9")
    outbox.commit_turn(ALICE, _turn(0))
    clock.now += 100
    outbox.commit_turn(bob, _turn(1))
    clock.now += 10
    assert outbox.close_idle(120) == 0  # alice quiet for 110 s, bob for 10 s
    clock.now += 30  # alice quiet for 140 s, bob for 40 s
    assert outbox.close_idle(120) == 1
    assert [j.identity for j in _claim_all(outbox, "summary")] == [ALICE]
    assert outbox.transcript(ALICE) == []
    assert _texts(outbox.transcript(bob)) == ["question 1", "answer 1"]
    clock.now += 1000
    assert outbox.close_idle(120, summarise=False) == 1
    assert outbox.open_conversations() == 0
    assert outbox.pending(kinds=("summary",)) == 1  # bob's transcript was dropped unsummarised
    assert outbox.close_idle(120) == 0


# -- rollover ---------------------------------------------------------------------------


def test_rollover_bounds_the_buffer_and_loses_no_message(tmp_path: Path, clock: SettableClock) -> None:
    box = Outbox(tmp_path / "o.sqlite3", max_transcript_chars=1000, clock=clock)
    committed: list[str] = []
    for n in range(40):
        turn = [_msg("user", f"question {n} " + "q" * (n * 7 % 90)), _msg("assistant", f"answer {n} " + "a" * 60)]
        box.commit_turn(ALICE, turn)
        committed.extend(m.text for m in turn)
        assert sum(len(t) for t in _texts(box.transcript(ALICE))) <= 1000
    summaries = sorted(_claim_all(box, "summary"), key=lambda j: j.payload["part"])
    assert len(summaries) >= 2
    parts = [s.payload["part"] for s in summaries]
    assert parts == list(range(len(summaries)))
    assert len({s.payload["key"] for s in summaries}) == len(summaries)
    summarised = [m["text"] for s in summaries for m in s.payload["transcript"]]
    assert summarised + _texts(box.transcript(ALICE)) == committed
    assert box.open_conversations() == 1  # rolling over does not end the conversation
    box.commit_turn(ALICE, [], end_session=True)
    final = [j for j in _claim_all(box, "summary") if j.payload["part"] == len(summaries)]
    assert summarised + [m["text"] for m in final[0].payload["transcript"]] == committed
    box.close()


def test_rollover_of_one_huge_message_summarises_everything(tmp_path: Path, clock: SettableClock) -> None:
    box = Outbox(tmp_path / "o.sqlite3", max_transcript_chars=1000, clock=clock)
    box.commit_turn(ALICE, [_msg("user", "hello")])
    box.commit_turn(ALICE, [_msg("user", "z" * 3000)])
    [summary] = _claim_all(box, "summary")
    assert [m["text"] for m in summary.payload["transcript"]] == ["hello", "z" * 3000]
    assert box.transcript(ALICE) == []
    assert box.open_conversations() == 1
    box.close()


def test_rollover_without_summaries_drops_the_oldest_part(tmp_path: Path, clock: SettableClock) -> None:
    box = Outbox(tmp_path / "o.sqlite3", max_transcript_chars=1000, clock=clock)
    for n in range(20):
        box.commit_turn(ALICE, [_msg("user", f"{n:02d}" + "m" * 98)], summarise=False)
    assert box.pending(kinds=("summary",)) == 0
    kept = _texts(box.transcript(ALICE))
    assert 0 < sum(len(t) for t in kept) <= 1000
    assert kept[-1].startswith("19")  # the newest messages are the ones kept
    box.close()


# -- claim / complete / release ---------------------------------------------------------


def test_claim_leases_and_complete_deletes(outbox: Outbox, clock: SettableClock) -> None:
    outbox.commit_turn(ALICE, _turn(0))
    [job] = outbox.claim()
    row = _job_row(outbox.path, job.id)
    assert row["owner"] is not None and row["owner"].split(":")[0] == str(os.getpid())
    assert row["lease_until"] == clock.now + outbox.lease_seconds
    assert row["state"] == "pending"
    outbox.complete(job)
    assert outbox.pending() == 0
    assert outbox.claim(due_only=False) == []


def test_claim_respects_kinds_and_limit(outbox: Outbox) -> None:
    for n in range(5):
        outbox.commit_turn(Identity(user_id=f"u{n}", conversation_id="c"), _turn(n), end_session=True)
    assert outbox.claim(kinds=()) == []
    summaries = outbox.claim(kinds=("summary",), limit=3)
    assert [j.kind for j in summaries] == ["summary"] * 3
    for job in summaries:
        outbox.complete(job)
    rest = outbox.claim(limit=100)
    assert sorted(j.kind for j in rest) == ["summary"] * 2 + ["turns"] * 5


def test_release_hands_the_job_back_untouched(outbox: Outbox) -> None:
    outbox.commit_turn(ALICE, _turn(0))
    [job] = outbox.claim()
    outbox.release(job)
    row = _job_row(outbox.path, job.id)
    assert (row["owner"], row["lease_until"], row["attempts"], row["state"]) == (None, None, 0, "pending")
    [again] = outbox.claim()
    assert again.id == job.id
    assert again.attempts == 0


def test_only_due_jobs_are_claimed(outbox: Outbox, clock: SettableClock) -> None:
    outbox.commit_turn(ALICE, _turn(0))
    clock.now -= 10  # the job was enqueued in what is now the future
    assert outbox.claim() == []
    assert len(outbox.claim(due_only=False)) == 1


def test_next_due_reports_the_earliest_pending_job(outbox: Outbox, clock: SettableClock) -> None:
    assert outbox.next_due() is None
    start = clock.now
    outbox.commit_turn(ALICE, _turn(0))
    clock.now += 5
    outbox.commit_turn(ALICE, _turn(1))
    assert outbox.next_due() == start


# -- failures and backoff ---------------------------------------------------------------


def test_backoff_grows_exponentially_within_jitter_bounds(tmp_path: Path, clock: SettableClock) -> None:
    box = Outbox(tmp_path / "o.sqlite3", base_delay=2.0, max_delay=40.0, max_attempts=8, clock=clock)
    box.commit_turn(ALICE, _turn(0))
    for attempt in range(1, 8):
        [job] = box.claim()
        assert job.attempts == attempt - 1
        delay = box.fail(job, RuntimeError(f"boom {attempt}"))
        assert delay is not None
        nominal = min(40.0, 2.0 * 2 ** (attempt - 1))
        assert 0.5 * nominal <= delay <= nominal, (attempt, delay)
        row = _job_row(box.path, job.id)
        assert row["attempts"] == attempt
        assert row["state"] == "pending"
        assert row["owner"] is None
        assert row["last_error"] == f"RuntimeError: boom {attempt}"
        assert math.isclose(row["next_at"], clock.now + delay)
        clock.now += delay * 0.99
        assert box.claim() == []  # still backing off
        clock.now += delay * 0.02
    [job] = box.claim()
    assert box.fail(job, RuntimeError("last straw")) is None  # attempt 8 of 8: parked
    assert box.pending() == 0
    assert box.failed() == [(job.id, "RuntimeError: last straw")]
    clock.now += 10_000
    assert box.claim(due_only=False) == []
    box.close()


def test_permanent_failure_parks_at_once_and_requeue_restores(outbox: Outbox, clock: SettableClock) -> None:
    outbox.commit_turn(ALICE, _turn(0))
    [job] = outbox.claim()
    assert outbox.fail(job, ValidationError("bad data"), permanent=True) is None
    row = _job_row(outbox.path, job.id)
    assert (row["state"], row["attempts"]) == ("failed", 1)
    assert outbox.failed() == [(job.id, "ValidationError: bad data")]
    assert outbox.pending() == 0
    assert outbox.claim(due_only=False) == []
    clock.now += 60
    assert outbox.requeue_failed() == 1
    assert outbox.requeue_failed() == 0
    assert outbox.failed() == []
    [again] = outbox.claim()
    assert again.id == job.id
    assert again.attempts == 0
    assert again.payload == job.payload


def test_max_attempts_one_parks_on_the_first_failure(tmp_path: Path, clock: SettableClock) -> None:
    box = Outbox(tmp_path / "o.sqlite3", max_attempts=1, clock=clock)
    box.commit_turn(ALICE, _turn(0))
    [job] = box.claim()
    assert box.fail(job, OSError("disk")) is None
    assert [i for i, _ in box.failed()] == [job.id]
    box.close()


def test_long_errors_are_truncated(outbox: Outbox) -> None:
    outbox.commit_turn(ALICE, _turn(0))
    [job] = outbox.claim()
    outbox.fail(job, RuntimeError("e" * 10_000))
    assert len(_job_row(outbox.path, job.id)["last_error"]) == 2000


# -- durability and leases ---------------------------------------------------------------


def test_jobs_and_transcripts_survive_reopening_the_file(tmp_path: Path, clock: SettableClock) -> None:
    path = tmp_path / "nested" / "dir" / "outbox.sqlite3"
    first = Outbox(path, clock=clock)
    first.commit_turn(ALICE, _turn(0))
    first.commit_turn(ALICE, _turn(1), end_session=True)
    first.commit_turn(ALICE, _turn(2))
    [leased, *_] = first.claim(limit=1)  # a job in flight when the process stopped
    first.close()

    second = Outbox(path, clock=clock)
    assert second.pending() == 4
    assert _texts(second.transcript(ALICE)) == ["question 2", "answer 2"]
    jobs = second.claim()
    assert leased.id in {j.id for j in jobs}
    assert sorted(j.id for j in jobs) == sorted(
        [
            f"turns:{ALICE.conversation_key}:0",
            f"turns:{ALICE.conversation_key}:2",
            f"turns:{ALICE.conversation_key}:4",
            f"summary:{ALICE.conversation_key}:0",
        ]
    )
    # Numbering continues where the first process stopped.
    second.commit_turn(ALICE, _turn(3), end_session=True)
    new = [j for j in second.claim() if j.id not in {k.id for k in jobs}]
    assert sorted(j.id for j in new) == sorted(
        [f"turns:{ALICE.conversation_key}:6", f"summary:{ALICE.conversation_key}:1"]
    )
    second.close()


def _forge_lease(path: Path, job_id: str, pid: int, lease_until: float) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE jobs SET owner = ?, lease_until = ? WHERE id = ?", (f"{pid}:x", lease_until, job_id))
    sqlite3.connect(path).close()


def test_a_job_leased_by_a_dead_process_is_taken_over(outbox: Outbox, clock: SettableClock) -> None:
    outbox.commit_turn(ALICE, _turn(0))
    [job] = outbox.claim()
    outbox.release(job)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    _forge_lease(outbox.path, job.id, pid, clock.now + 3600)
    [taken] = outbox.claim()
    assert taken.id == job.id
    assert _job_row(outbox.path, job.id)["owner"] != f"{pid}:x"


def test_a_job_leased_by_a_live_process_is_left_alone_until_its_lease_ends(
    outbox: Outbox, clock: SettableClock
) -> None:
    outbox.commit_turn(ALICE, _turn(0))
    [job] = outbox.claim()
    outbox.release(job)
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        _forge_lease(outbox.path, job.id, sleeper.pid, clock.now + 3600)
        assert outbox.claim() == []
        assert outbox.claim(due_only=False) == []
        assert outbox.pending() == 1
        assert _job_row(outbox.path, job.id)["owner"] == f"{sleeper.pid}:x"
        clock.now += 3601  # the live owner's lease ran out
        [taken] = outbox.claim()
        assert taken.id == job.id
    finally:
        sleeper.kill()
        sleeper.wait()


def test_two_outboxes_on_one_file_share_the_jobs(tmp_path: Path, clock: SettableClock) -> None:
    path = tmp_path / "o.sqlite3"
    a, b = Outbox(path, clock=clock), Outbox(path, clock=clock)
    a.commit_turn(ALICE, _turn(0))
    assert b.pending() == 1
    [job] = b.claim()
    b.complete(job)
    assert a.pending() == 0
    a.close()
    b.close()


def test_complete_by_a_non_owner_keeps_the_job(tmp_path: Path, clock: SettableClock) -> None:
    path = tmp_path / "o.sqlite3"
    a, b = Outbox(path, clock=clock), Outbox(path, clock=clock)
    a.commit_turn(ALICE, _turn(0))
    [job] = a.claim()
    b.complete(job)  # b never leased it
    assert a.pending() == 1
    a.complete(job)
    assert a.pending() == 0
    a.close()
    b.close()


def test_payload_round_trips_non_ascii_text(outbox: Outbox) -> None:
    text = "caf\u00e9 \u4f1a\u8bdd \U0001f600"
    outbox.commit_turn(ALICE, [_msg("user", text)], end_session=True)
    jobs = {j.kind: j for j in _claim_all(outbox)}
    assert jobs["turns"].payload["turns"][0]["text"] == text
    assert jobs["summary"].payload["transcript"][0]["text"] == text
    raw = _job_row(outbox.path, jobs["summary"].id)["payload"]
    assert json.loads(raw)["transcript"][0]["text"] == text


# -- construction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_transcript_chars", 999),
        ("max_transcript_chars", 1000.0),
        ("max_transcript_chars", True),
        ("max_attempts", 0),
        ("max_attempts", "3"),
        ("base_delay", -1),
        ("base_delay", "2"),
        ("max_delay", -0.5),
        ("lease_seconds", False),
        ("lease_seconds", -1),
        ("base_delay", float("nan")),
        ("lease_seconds", float("nan")),
    ],
)
def test_constructor_rejects_bad_options(tmp_path: Path, option: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        Outbox(tmp_path / "o.sqlite3", **{option: value})  # type: ignore[arg-type]
    assert info.value.field == option


def test_constructor_accepts_the_smallest_valid_options(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3", max_transcript_chars=1000, max_attempts=1, base_delay=0, max_delay=0)
    assert (box.max_transcript_chars, box.max_attempts, box.base_delay, box.max_delay) == (1000, 1, 0.0, 0.0)
    assert repr(box) == f"Outbox({str(tmp_path / 'o.sqlite3')!r})"
    box.close()


def test_an_unopenable_path_raises_backend_unavailable(tmp_path: Path) -> None:
    from strands_vector_memory import BackendUnavailableError

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(BackendUnavailableError):
        Outbox(blocker / "outbox.sqlite3")


def test_a_live_lease_of_another_outbox_in_this_process_is_respected(tmp_path: Path, clock: SettableClock) -> None:
    path = tmp_path / "o.sqlite3"
    a, b = Outbox(path, clock=clock), Outbox(path, clock=clock)
    a.commit_turn(ALICE, _turn(0))
    [job] = a.claim()
    assert b.claim() == []  # a holds it and a is open: same pid, but a live owner
    b.fail(job, RuntimeError("not mine"))  # a non-owner cannot reschedule it either
    assert _job_row(path, job.id)["attempts"] == 0
    a.close()
    [taken] = b.claim()  # a closed: its lease is no longer live
    assert taken.id == job.id
    b.close()


def test_a_lone_surrogate_is_stored_as_a_question_mark(outbox: Outbox) -> None:
    outbox.commit_turn(ALICE, [_msg("user", "hi \udc80 there")])
    assert _texts(outbox.transcript(ALICE)) == ["hi ? there"]
