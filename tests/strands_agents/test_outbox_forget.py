"""Erasure in the durable outbox: forget a user (or a tenant) and no file keeps a byte of them.

Turns are committed through the real ``Outbox`` API onto a real SQLite file, each user
saying a distinctive marker; after ``forget`` the outbox file and its ``-wal``/``-shm``
are read byte by byte. Jobs in every state are covered (pending, backing off, leased,
parked), and so is a job a worker holds while it is forgotten: ``forget`` waits for
that worker, and the worker's ``complete``/``fail``/``release`` bring nothing back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

import strands_vector_memory
from strands_vector_memory import BackendUnavailableError, ValidationError
from strands_vector_memory.strands_agents import Identity, Outbox
from strands_vector_memory.strands_agents._outbox import TranscriptMessage

SRC = Path(strands_vector_memory.__file__).resolve().parents[1]


class SettableClock(Protocol):
    now: float

    def __call__(self) -> float: ...


class Person:
    """A user (or one tenant's user) whose every message carries a word nobody else says."""

    def __init__(self, user_id: str, tenant_id: str | None = None) -> None:
        self.user_id = user_id
        self.tenant_id = tenant_id
        self.word = f"zqxjvortex{uuid.uuid4().hex}"
        self.sentence = f"{user_id} confides that the vault code is {uuid.uuid4().hex[:12]}"

    def identity(self, conversation: str = "conv-1") -> Identity:
        return Identity(user_id=self.user_id, conversation_id=conversation, tenant_id=self.tenant_id, agent_id="helper")

    def turn(self, n: int, at: float = 1_750_000_000.0) -> list[TranscriptMessage]:
        return [
            TranscriptMessage("user", f"question {n}: {self.sentence} ({self.word})", at),
            TranscriptMessage("assistant", f"answer {n} for {self.word}", at + 1),
        ]

    def needles(self) -> list[bytes]:
        return [self.word.encode(), self.word[10:34].encode(), self.sentence.encode()]


def found_in(directory: Path, person: Person) -> dict[str, list[int]]:
    """Per file holding any of ``person``'s needles, how often each occurs."""
    hits = {}
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        data = path.read_bytes()
        counts = [data.count(needle) for needle in person.needles()]
        if any(counts):
            hits[path.name] = counts
    return hits


@pytest.fixture
def outbox(tmp_path: Path, clock: SettableClock) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox" / "outbox.sqlite3", clock=clock)
    yield box
    box.close()


def fill(box: Outbox, person: Person, *, conversations: int = 3, turns: int = 4, close_first: bool = True) -> None:
    """Conversations with buffered transcripts and turn jobs; the first one closed (a summary job)."""
    for c in range(conversations):
        who = person.identity(f"conv-{c}")
        for n in range(turns):
            end = close_first and c == 0 and n == turns - 1
            box.commit_turn(who, person.turn(n), agent_name="helper", end_session=end)


def every_state(box: Outbox, person: Person, clock: SettableClock) -> None:
    """Leave ``person`` with a parked job, a job backing off and a plain pending one."""
    mine = box.claim(due_only=False, limit=100, user=(person.tenant_id, person.user_id))
    assert len(mine) >= 3
    box.fail(mine[0], RuntimeError(f"boom while storing {person.word}"), permanent=True)  # parked
    box.fail(mine[1], RuntimeError("throttled"))  # backing off
    for job in mine[2:]:
        box.release(job)


BOB = Person("bob")


def test_forget_removes_every_byte_of_the_user_and_keeps_everyone_else(outbox: Outbox, clock: SettableClock) -> None:
    alice, bob = Person("alice"), Person("bob")
    fill(outbox, alice)
    fill(outbox, bob)
    every_state(outbox, alice, clock)
    directory = outbox.path.parent
    assert found_in(directory, alice), "control: Alice's words must be findable before the forget"
    assert found_in(directory, bob)
    bob_before = outbox.export(user_id="bob")

    removed = outbox.forget(user_id="alice")

    # 3 conversations; 16 buffered messages (conv-0's 8 went to its summary); 12 turn jobs + 1 summary job.
    assert removed == 3 + 16 + 13
    assert found_in(directory, alice) == {}
    assert found_in(directory, bob)
    wal = directory / "outbox.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    assert outbox.export(user_id="alice") == []
    assert outbox.transcript(alice.identity("conv-1")) == []
    assert outbox.failed() == []
    assert outbox.export(user_id="bob") == bob_before
    jobs = outbox.claim(due_only=False, limit=1000)
    assert jobs and {job.identity.user_id for job in jobs} == {"bob"}


def test_forget_returns_zero_and_changes_nothing_for_an_unknown_user(outbox: Outbox) -> None:
    fill(outbox, BOB, conversations=1)
    before = outbox.export(user_id="bob")
    assert outbox.forget(user_id="nobody") == 0
    assert outbox.export(user_id="bob") == before


def test_tenant_is_part_of_who_a_user_is(outbox: Outbox) -> None:
    plain, acme, globex = Person("alice"), Person("alice", "acme"), Person("alice", "globex")
    for person in (plain, acme, globex):
        fill(outbox, person, conversations=1)
    directory = outbox.path.parent

    assert outbox.forget(user_id="alice", tenant_id="acme") > 0
    assert found_in(directory, acme) == {}
    assert found_in(directory, plain) and found_in(directory, globex)

    assert outbox.forget(user_id="alice") > 0  # tenant None: only the identities without a tenant
    assert found_in(directory, plain) == {}
    assert found_in(directory, globex)
    assert [item["identity"]["tenant_id"] for item in outbox.export(user_id="alice", tenant_id="globex")][:1] == [
        "globex"
    ]


def test_forget_tenant_removes_every_user_of_the_tenant(outbox: Outbox, clock: SettableClock) -> None:
    ann, ben, other, untenanted = Person("ann", "acme"), Person("ben", "acme"), Person("ann", "globex"), Person("ann")
    for person in (ann, ben, other, untenanted):
        fill(outbox, person, conversations=2)
    every_state(outbox, ben, clock)
    directory = outbox.path.parent

    # Per user: 2 conversations, 8 buffered messages (conv-0's went to its summary), 8 turn jobs + 1 summary job.
    assert outbox.forget_tenant("acme") == 2 * (2 + 8 + 9)
    assert found_in(directory, ann) == found_in(directory, ben) == {}
    assert found_in(directory, other) and found_in(directory, untenanted)
    assert {job.identity.tenant_id for job in outbox.claim(due_only=False, limit=1000)} == {"globex", None}


@pytest.mark.parametrize("call", ["forget", "forget_tenant", "export"])
@pytest.mark.parametrize("bad", ["", None, 7])
def test_ids_must_be_non_empty_strings(outbox: Outbox, call: str, bad: object) -> None:
    with pytest.raises(ValidationError):
        if call == "forget":
            outbox.forget(user_id=bad)  # type: ignore[arg-type]
        elif call == "forget_tenant":
            outbox.forget_tenant(bad)  # type: ignore[arg-type]
        else:
            outbox.export(user_id="alice", tenant_id=bad if bad is not None else "")  # type: ignore[arg-type]


# -- export --------------------------------------------------------------------------


def test_export_lists_buffered_messages_and_owed_texts_as_json(outbox: Outbox, clock: SettableClock) -> None:
    alice = Person("alice")
    fill(outbox, alice, conversations=2, turns=2)
    fill(outbox, BOB, conversations=1)
    jobs = outbox.claim(due_only=False, limit=100, user=(None, "alice"))
    parked = next(job for job in jobs if job.kind == "turns")
    outbox.fail(parked, ValueError("rejected"), permanent=True)
    for job in jobs:
        if job is not parked:
            outbox.release(job)

    items = outbox.export(user_id="alice")

    assert json.loads(json.dumps(items)) == items  # JSON-ready as it stands
    assert all(item["identity"]["user_id"] == "alice" for item in items)
    by_source: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_source.setdefault(str(item["source"]), []).append(item)
    # conv-0 was closed (its transcript became a summary job); conv-1's 4 messages are buffered.
    assert [m["text"] for m in by_source["transcript"]] == [m.text for n in range(2) for m in alice.turn(n)]
    assert len(by_source["turn"]) == 8  # 2 conversations x 2 turns x (user + assistant)
    assert {t["state"] for t in by_source["turn"]} == {"pending", "failed"}
    assert all(alice.word in str(t["text"]) for t in by_source["turn"])
    [summary] = by_source["summary"]
    assert (summary["state"], summary["part"]) == ("pending", 0)
    assert [m["text"] for m in summary["transcript"]] == [m.text for n in range(2) for m in alice.turn(n)]
    assert BOB.word not in json.dumps(items)


def test_export_of_an_unknown_user_is_empty(outbox: Outbox) -> None:
    fill(outbox, BOB, conversations=1)
    assert outbox.export(user_id="alice") == []
    assert outbox.export(user_id="bob", tenant_id="acme") == []


# -- a job in flight while its user is forgotten -------------------------------------


def forget_in_background(box: Outbox, **kwargs: object) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []

    def run() -> None:
        try:
            result.append(box.forget(**kwargs))  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the test
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@pytest.mark.parametrize("finish", ["complete", "fail", "fail_permanent", "release"])
def test_forget_waits_for_a_leased_job_and_its_worker_brings_nothing_back(
    outbox: Outbox, clock: SettableClock, finish: str
) -> None:
    alice = Person("alice")
    fill(outbox, alice, conversations=1, turns=1, close_first=False)
    fill(outbox, BOB, conversations=1, turns=1, close_first=False)
    [job] = outbox.claim(user=(None, "alice"))  # the worker is storing this one right now

    thread, result = forget_in_background(outbox, user_id="alice", timeout=30)
    thread.join(0.3)
    assert thread.is_alive(), "forget must wait while a worker holds one of the user's jobs"
    assert found_in(outbox.path.parent, alice)  # only the WAL may still hold them before the compaction...
    assert outbox.export(user_id="alice") == []  # ...the rows themselves are already gone

    if finish == "complete":
        outbox.complete(job)
    elif finish == "fail":
        assert outbox.fail(job, RuntimeError(f"store down while writing {alice.word}")) is None
    elif finish == "fail_permanent":
        assert outbox.fail(job, ValidationError("bad"), permanent=True) is None
    else:
        outbox.release(job)
    thread.join(10)
    assert not thread.is_alive()
    assert result == [4]  # the conversation, its 2 messages and the in-flight job
    assert found_in(outbox.path.parent, alice) == {}
    assert outbox.failed() == []
    assert [j.identity.user_id for j in outbox.claim(due_only=False, limit=100)] == ["bob"]
    clock.now += 10_000
    outbox.requeue_failed()
    assert outbox.pending() == 1  # Bob's job (claimed above); nothing of Alice's came back


def test_a_worker_that_does_not_finish_in_time_makes_forget_fail_loudly(outbox: Outbox) -> None:
    alice = Person("alice")
    fill(outbox, alice, conversations=1, turns=1, close_first=False)
    [job] = outbox.claim()
    with pytest.raises(BackendUnavailableError, match="call forget again"):
        outbox.forget(user_id="alice", timeout=0.1)
    # The user's texts are gone from the files all the same: only a content-free marker waits.
    assert found_in(outbox.path.parent, alice) == {}
    outbox.complete(job)
    assert outbox.forget(user_id="alice", timeout=1) == 0  # the retry waits for the marker, which is gone


def test_a_lease_that_ran_out_is_not_waited_for(outbox: Outbox, clock: SettableClock) -> None:
    alice = Person("alice")
    fill(outbox, alice, conversations=1, turns=1, close_first=False)
    [job] = outbox.claim()
    clock.now += outbox.lease_seconds + 1
    started = time.monotonic()
    assert outbox.forget(user_id="alice", timeout=30) == 4
    assert time.monotonic() - started < 5
    outbox.complete(job)  # the late worker finds nothing to complete
    assert outbox.pending() == 0


_WORKER = """
import sys
from strands_vector_memory.strands_agents import Outbox
box = Outbox(sys.argv[1])
[job] = box.claim(due_only=False)
print(job.id, flush=True)
if sys.stdin.readline().strip() == "complete":
    box.complete(job)
    print("completed", flush=True)
"""


def test_forget_waits_for_a_worker_in_another_process(tmp_path: Path) -> None:
    """A worker process sharing the file holds Alice's job: forget waits until it completes or dies."""
    alice = Person("alice")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)}
    env["PYTHONWARNINGS"] = "error"
    box = Outbox(tmp_path / "outbox.sqlite3")  # the real clock: the child's lease is in real time
    try:
        for ending in ("complete", "dies"):
            fill(box, alice, conversations=1, turns=1, close_first=False)
            worker = subprocess.Popen(
                [sys.executable, "-c", _WORKER, str(box.path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            try:
                assert worker.stdin is not None and worker.stdout is not None
                assert worker.stdout.readline().startswith("turns:"), worker.stderr.read() if worker.stderr else ""
                thread, result = forget_in_background(box, user_id="alice", timeout=60)
                thread.join(0.5)
                assert thread.is_alive(), "forget must wait for the other process's worker"
                if ending == "complete":
                    worker.stdin.write("complete\n")
                    worker.stdin.flush()
                    assert worker.stdout.readline() == "completed\n"
                else:
                    worker.kill()  # a dead worker's lease is not waited out
                    worker.wait(timeout=30)
                thread.join(30)
                assert not thread.is_alive()
                assert result == [4]
                assert found_in(tmp_path, alice) == {}
            finally:
                if worker.poll() is None:
                    worker.kill()
                worker.communicate(timeout=30)
        assert box.pending() == 0
    finally:
        box.close()


def test_complete_of_a_job_forgotten_while_unleased_is_harmless(outbox: Outbox) -> None:
    """A worker's stale Job object (e.g. claimed, released, then its user forgotten) resurrects nothing."""
    alice = Person("alice")
    fill(outbox, alice, conversations=1, turns=1, close_first=False)
    [job] = outbox.claim()
    outbox.release(job)
    assert outbox.forget(user_id="alice") == 4
    outbox.complete(job)
    outbox.release(job)
    outbox.fail(job, RuntimeError(f"late, about {alice.word}"))
    outbox.fail(job, RuntimeError(f"late, about {alice.word}"), permanent=True)
    assert outbox.pending() == 0 and outbox.failed() == []  # no row exists for it
    assert found_in(outbox.path.parent, alice) == {}


def test_new_turns_after_a_forget_are_kept(outbox: Outbox) -> None:
    """Forget is a point in time: what the user says afterwards is new data (stop it first if unwanted)."""
    alice = Person("alice")
    fill(outbox, alice, conversations=1, turns=1, close_first=False)
    outbox.forget(user_id="alice")
    outbox.commit_turn(alice.identity(), alice.turn(9))
    assert [m.text for m in outbox.transcript(alice.identity())] == [m.text for m in alice.turn(9)]
    assert outbox.pending() == 1


def test_every_connection_zeroes_deleted_rows(outbox: Outbox) -> None:
    assert outbox._db.execute("PRAGMA secure_delete").fetchone() == (1,)
