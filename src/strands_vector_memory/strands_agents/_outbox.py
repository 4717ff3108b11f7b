"""A durable outbox: conversation transcripts and the memory writes they owe.

The plugin we replace kept conversations in memory and summarised them in a thread
pool, so a crash, a restart or a forgotten ``end_session`` lost them. Here every
completed turn is committed to a small SQLite file before the hook returns: its
messages join the conversation's transcript and, in the same transaction, the writes
it owes become jobs (store these turns; summarise this conversation). A worker turns
jobs into memories later and deletes them only once stored, so a job survives
``kill -9`` and is resumed by the next process. Every job's memory key is
deterministic, so a job that runs twice overwrites rather than duplicates.

Transcripts are bounded: past ``max_transcript_chars`` the oldest part is handed to a
summary job of its own and dropped from the buffer, so nothing is lost and nothing
grows without limit.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from ..core import BackendUnavailableError
from ._checks import check_number
from ._identity import Identity

__all__ = ["Job", "JobKind", "Outbox", "TranscriptMessage"]

JobKind = Literal["turns", "summary"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS conversations (
    conv_key TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    agent_name TEXT,
    next_seq INTEGER NOT NULL DEFAULT 0,
    part INTEGER NOT NULL DEFAULT 0,
    chars INTEGER NOT NULL DEFAULT 0,
    open INTEGER NOT NULL DEFAULT 0,
    last_active REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS transcript (
    conv_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (conv_key, seq)
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    identity TEXT NOT NULL,
    agent_name TEXT,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    owner TEXT,
    lease_until REAL,
    state TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, next_at);
"""

#: How much of each neighbouring message a stored turn keeps as retrieval context.
_CONTEXT_CHARS: Final = 1200
_CONTEXT_NEIGHBOURS: Final = 2


@dataclass(frozen=True, slots=True)
class TranscriptMessage:
    """One message of a conversation as the memory layer keeps it.

    ``role`` is ``user``, ``assistant`` or ``tool``; ``name`` is the agent that spoke
    (team conversations interleave several).
    """

    role: str
    text: str
    at: float
    name: str | None = None

    def label(self) -> str:
        """How the transcript shows the speaker."""
        if self.role == "assistant" and self.name:
            return f"assistant ({self.name})"
        return self.role


@dataclass(frozen=True, slots=True)
class Job:
    """A memory write owed by a conversation, claimed by one worker at a time."""

    id: str
    kind: JobKind
    identity: Identity
    agent_name: str | None
    payload: dict[str, Any]
    attempts: int


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()[:40]


def turn_key(identity: Identity, seq: int) -> str:
    """The memory key of turn ``seq`` of ``identity``'s conversation."""
    return "turn-" + _digest(identity.conversation_key, seq)


def summary_key(identity: Identity, part: int) -> str:
    """The memory key of summary ``part`` of ``identity``'s conversation."""
    return "summary-" + _digest(identity.conversation_key, part)


#: Owners of the outboxes open in this process: a lease held by one of them is live
#: even though its pid is ours (two plugins can share one file).
_LIVE_OWNERS: set[str] = set()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


class Outbox:
    """The SQLite file behind the plugin's durability.

    Args:
        path: The outbox file (created with its directory).
        max_transcript_chars: Transcript size at which the oldest part is summarised
            on its own and dropped from the buffer.
        max_attempts: After this many failures a job is parked as ``failed`` (kept for
            inspection and :meth:`requeue_failed`, never deleted silently).
        base_delay: First retry delay in seconds; doubles per attempt, with jitter.
        max_delay: Longest retry delay.
        lease_seconds: How long a claimed job stays claimed by a live process.
        clock: Epoch seconds now (injectable for tests).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_transcript_chars: int = 60_000,
        max_attempts: int = 8,
        base_delay: float = 2.0,
        max_delay: float = 300.0,
        lease_seconds: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_number("max_transcript_chars", max_transcript_chars, least=1000, integer=True)
        check_number("max_attempts", max_attempts, least=1, integer=True)
        for name, seconds in (("base_delay", base_delay), ("max_delay", max_delay), ("lease_seconds", lease_seconds)):
            check_number(name, seconds, least=0)
        self.path = Path(path)
        self.max_transcript_chars = max_transcript_chars
        self.max_attempts = max_attempts
        self.base_delay = float(base_delay)
        self.max_delay = float(max_delay)
        self.lease_seconds = float(lease_seconds)
        self._clock = clock
        self._owner = f"{os.getpid()}:{uuid.uuid4().hex[:12]}"
        _LIVE_OWNERS.add(self._owner)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # an acknowledged turn survives power loss too
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise BackendUnavailableError(f"cannot open the memory outbox at {self.path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"Outbox({str(self.path)!r})"

    def close(self) -> None:
        """Close the file (pending jobs stay in it for the next process)."""
        _LIVE_OWNERS.discard(self._owner)
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise BackendUnavailableError(f"memory outbox {self.path} failed: {exc}") from exc

    # -- conversations -------------------------------------------------------------

    def commit_turn(
        self,
        identity: Identity,
        messages: Sequence[TranscriptMessage],
        *,
        agent_name: str | None = None,
        store_turns: bool = True,
        turn_roles: Sequence[str] = ("user", "assistant"),
        summarise: bool = True,
        end_session: bool = False,
    ) -> None:
        """Record a completed turn and the writes it owes, atomically.

        ``store_turns`` owes one memory per message with text whose role is in
        ``turn_roles``; ``end_session`` closes the conversation (its summary is owed and
        its transcript dropped).
        """
        now = self._clock()
        key = identity.conversation_key
        # A lone surrogate cannot be stored as UTF-8: it becomes "?" rather than failing the turn.
        messages = [
            TranscriptMessage(m.role, m.text.encode("utf-8", "replace").decode("utf-8"), m.at, m.name) for m in messages
        ]
        with self._transaction() as db:
            row = db.execute("SELECT next_seq, chars FROM conversations WHERE conv_key = ?", (key,)).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO conversations (conv_key, identity, agent_name, last_active) VALUES (?, ?, ?, ?)",
                    (key, identity.to_json(), agent_name, now),
                )
                next_seq, chars = 0, 0
            else:
                next_seq, chars = int(row[0]), int(row[1])
            first_seq = next_seq
            for message in messages:
                db.execute(
                    "INSERT INTO transcript (conv_key, seq, role, text, at) VALUES (?, ?, ?, ?, ?)",
                    (key, next_seq, message.label(), message.text, message.at),
                )
                next_seq += 1
                chars += len(message.text)
            db.execute(
                "UPDATE conversations SET identity = ?, agent_name = ?, next_seq = ?, chars = ?, open = 1,"
                " last_active = ? WHERE conv_key = ?",
                (identity.to_json(), agent_name, next_seq, chars, now, key),
            )
            if store_turns and messages:
                self._owe_turns(db, identity, agent_name, first_seq, messages, now, turn_roles)
            if end_session:
                self._close(db, key, identity, agent_name, now, summarise=summarise)
            elif chars > self.max_transcript_chars:
                self._roll_over(db, key, identity, agent_name, chars, now, summarise=summarise)

    def _owe_turns(
        self,
        db: sqlite3.Connection,
        identity: Identity,
        agent_name: str | None,
        first_seq: int,
        messages: Sequence[TranscriptMessage],
        now: float,
        roles: Sequence[str],
    ) -> None:
        """A job storing each message of ``roles`` with text, with its neighbours as context."""
        earlier = db.execute(
            "SELECT text FROM transcript WHERE conv_key = ? AND seq < ? AND role != 'tool' ORDER BY seq DESC LIMIT ?",
            (identity.conversation_key, first_seq, _CONTEXT_NEIGHBOURS),
        ).fetchall()
        texts = [str(r[0]) for r in reversed(earlier)]
        spoken = [(first_seq + i, m) for i, m in enumerate(messages) if m.role != "tool" and m.text.strip()]
        window = texts + [m.text for _, m in spoken]
        offset = len(texts)
        turns = []
        for i, (seq, message) in enumerate(spoken):
            if message.role not in roles:
                continue
            position = offset + i
            around = window[max(0, position - _CONTEXT_NEIGHBOURS) : position] + window[position + 1 : position + 2]
            turns.append(
                {
                    "key": turn_key(identity, seq),
                    "seq": seq,
                    "role": message.role,
                    "name": message.name,
                    "text": message.text,
                    "at": message.at,
                    "context": [t[:_CONTEXT_CHARS] for t in around if t.strip()],
                }
            )
        if turns:
            job_id = f"turns:{identity.conversation_key}:{first_seq}"
            self._enqueue(db, job_id, "turns", identity, agent_name, {"turns": turns}, now)

    def _roll_over(
        self,
        db: sqlite3.Connection,
        key: str,
        identity: Identity,
        agent_name: str | None,
        chars: int,
        now: float,
        *,
        summarise: bool,
    ) -> None:
        """Hand the oldest messages (down to half the limit) to a summary job of their own."""
        rows = db.execute("SELECT seq, text FROM transcript WHERE conv_key = ? ORDER BY seq", (key,)).fetchall()
        keep_from, remaining = None, chars
        for seq, text in rows:
            if remaining <= self.max_transcript_chars // 2:
                keep_from = int(seq)
                break
            remaining -= len(str(text))
        if keep_from is None:  # one huge message: summarise everything
            self._close(db, key, identity, agent_name, now, summarise=summarise, keep_open=True)
            return
        self._close(db, key, identity, agent_name, now, summarise=summarise, keep_open=True, before_seq=keep_from)

    def _close(
        self,
        db: sqlite3.Connection,
        key: str,
        identity: Identity,
        agent_name: str | None,
        now: float,
        *,
        summarise: bool,
        keep_open: bool = False,
        before_seq: int | None = None,
    ) -> None:
        """Owe a summary of the buffered transcript (or its part before ``before_seq``) and drop it."""
        bound = "" if before_seq is None else " AND seq < ?"
        args: tuple[Any, ...] = (key,) if before_seq is None else (key, before_seq)
        rows = db.execute(f"SELECT role, text, at FROM transcript WHERE conv_key = ?{bound} ORDER BY seq", args)
        transcript = [{"role": r, "text": t, "at": a} for r, t, a in rows.fetchall()]
        part = int(db.execute("SELECT part FROM conversations WHERE conv_key = ?", (key,)).fetchone()[0])
        if summarise and transcript:
            payload = {"key": summary_key(identity, part), "part": part, "transcript": transcript}
            self._enqueue(db, f"summary:{key}:{part}", "summary", identity, agent_name, payload, now)
        db.execute(f"DELETE FROM transcript WHERE conv_key = ?{bound}", args)
        chars = db.execute("SELECT COALESCE(SUM(LENGTH(text)), 0) FROM transcript WHERE conv_key = ?", (key,))
        db.execute(
            "UPDATE conversations SET part = part + ?, chars = ?, open = ? WHERE conv_key = ?",
            (1 if transcript else 0, int(chars.fetchone()[0]), 1 if keep_open else 0, key),
        )

    def close_conversation(self, identity: Identity, *, summarise: bool = True) -> None:
        """Close ``identity``'s conversation now (as ``end_session`` does)."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT agent_name FROM conversations WHERE conv_key = ? AND open = 1", (identity.conversation_key,)
            ).fetchone()
            if row is not None:
                self._close(db, identity.conversation_key, identity, row[0], self._clock(), summarise=summarise)

    def close_idle(self, idle_seconds: float, *, summarise: bool = True) -> int:
        """Close every conversation quiet for ``idle_seconds``; returns how many."""
        now = self._clock()
        with self._transaction() as db:
            rows = db.execute(
                "SELECT conv_key, identity, agent_name FROM conversations WHERE open = 1 AND last_active <= ?",
                (now - idle_seconds,),
            ).fetchall()
            for key, identity, agent_name in rows:
                self._close(db, key, Identity.from_json(identity), agent_name, now, summarise=summarise)
        return len(rows)

    def transcript(self, identity: Identity) -> list[TranscriptMessage]:
        """The buffered (not yet summarised) messages of ``identity``'s conversation."""
        with self._lock:
            rows = self._db.execute(
                "SELECT role, text, at FROM transcript WHERE conv_key = ? ORDER BY seq", (identity.conversation_key,)
            ).fetchall()
        return [TranscriptMessage(role=r, text=t, at=a) for r, t, a in rows]

    def open_conversations(self) -> int:
        """How many conversations have buffered turns and no summary yet."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM conversations WHERE open = 1").fetchone()[0])

    # -- jobs ---------------------------------------------------------------------

    def _enqueue(
        self,
        db: sqlite3.Connection,
        job_id: str,
        kind: JobKind,
        identity: Identity,
        agent_name: str | None,
        payload: dict[str, Any],
        now: float,
    ) -> None:
        db.execute(
            "INSERT OR REPLACE INTO jobs (id, kind, identity, agent_name, payload, next_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (job_id, kind, identity.to_json(), agent_name, json.dumps(payload, ensure_ascii=False), now, now),
        )

    def claim(
        self,
        *,
        kinds: Sequence[JobKind] = ("turns", "summary"),
        limit: int = 16,
        due_only: bool = True,
        exclude: Collection[str] = (),
        user: tuple[str | None, str] | None = None,
    ) -> list[Job]:
        """Lease up to ``limit`` pending jobs to this process, oldest first.

        A job leased by a process that has died (or whose lease ran out) is taken over,
        which is how a restart resumes the work a crash interrupted. Jobs whose ids are
        in ``exclude`` are left alone (``flush`` tries each job once); with ``user``
        (tenant id, user id) only that user's jobs are taken.
        """
        if not kinds:
            return []
        now = self._clock()
        marks = ",".join("?" for _ in kinds)
        due = " AND next_at <= ?" if due_only else ""
        args: tuple[Any, ...] = (*kinds, now) if due_only else tuple(kinds)
        claimed: list[Job] = []
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT id, kind, identity, agent_name, payload, attempts, owner, lease_until FROM jobs"
                f" WHERE state = 'pending' AND kind IN ({marks}){due} ORDER BY created_at, id",
                args,
            ).fetchall()
            for job_id, kind, identity, agent_name, payload, attempts, owner, lease_until in rows:
                if len(claimed) >= limit:
                    break
                if job_id in exclude:
                    continue
                who = Identity.from_json(identity)
                if user is not None and (who.tenant_id, who.user_id) != user:
                    continue
                if owner is not None and owner != self._owner and lease_until is not None and lease_until > now:
                    pid = int(str(owner).split(":", 1)[0])
                    alive = owner in _LIVE_OWNERS if pid == os.getpid() else _pid_alive(pid)
                    if alive:
                        continue
                db.execute(
                    "UPDATE jobs SET owner = ?, lease_until = ? WHERE id = ?",
                    (self._owner, now + self.lease_seconds, job_id),
                )
                claimed.append(Job(job_id, kind, who, agent_name, json.loads(payload), int(attempts)))
        return claimed

    def complete(self, job: Job) -> None:
        """The job's memories are stored: forget the job."""
        with self._transaction() as db:
            db.execute("DELETE FROM jobs WHERE id = ? AND owner = ?", (job.id, self._owner))

    def release(self, job: Job) -> None:
        """Give a claimed job back untouched (e.g. no model to summarise it with yet)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE jobs SET owner = NULL, lease_until = NULL WHERE id = ? AND owner = ?", (job.id, self._owner)
            )

    def fail(self, job: Job, error: BaseException, *, permanent: bool = False) -> float | None:
        """Schedule a retry with jittered exponential backoff; park it after ``max_attempts``.

        ``permanent`` parks it at once (its data was rejected, so retrying cannot help).
        Returns the delay before the retry, or ``None`` once the job is parked.
        """
        attempts = job.attempts + 1
        message = f"{type(error).__name__}: {error}"[:2000]
        with self._transaction() as db:
            if permanent or attempts >= self.max_attempts:
                db.execute(
                    "UPDATE jobs SET attempts = ?, state = 'failed', owner = NULL, last_error = ?"
                    " WHERE id = ? AND owner = ?",
                    (attempts, message, job.id, self._owner),
                )
                return None
            delay = float(min(self.max_delay, self.base_delay * 2.0 ** (attempts - 1)) * random.uniform(0.5, 1.0))
            db.execute(
                "UPDATE jobs SET attempts = ?, next_at = ?, owner = NULL, lease_until = NULL, last_error = ?"
                " WHERE id = ? AND owner = ?",
                (attempts, self._clock() + delay, message, job.id, self._owner),
            )
        return delay

    def requeue_failed(self) -> int:
        """Give every parked job a fresh set of attempts; returns how many."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET state = 'pending', attempts = 0, next_at = ? WHERE state = 'failed'", (self._clock(),)
            )
            return int(cursor.rowcount)

    def pending(self, *, kinds: Sequence[JobKind] = ("turns", "summary")) -> int:
        """How many jobs are waiting (including ones backing off)."""
        marks = ",".join("?" for _ in kinds)
        with self._lock:
            row = self._db.execute(
                f"SELECT COUNT(*) FROM jobs WHERE state = 'pending' AND kind IN ({marks})", tuple(kinds)
            ).fetchone()
        return int(row[0])

    def due_for(self, user: tuple[str | None, str], *, kinds: Sequence[JobKind] = ("turns",)) -> int:
        """How many due jobs belong to ``user`` (tenant id, user id); a plain read, no write lock."""
        marks = ",".join("?" for _ in kinds)
        with self._lock:
            rows = self._db.execute(
                f"SELECT identity FROM jobs WHERE state = 'pending' AND kind IN ({marks}) AND next_at <= ?",
                (*kinds, self._clock()),
            ).fetchall()
        owners = (Identity.from_json(identity) for (identity,) in rows)
        return sum(1 for who in owners if (who.tenant_id, who.user_id) == user)

    def failed(self) -> list[tuple[str, str]]:
        """Parked jobs as (id, last error)."""
        with self._lock:
            rows = self._db.execute("SELECT id, last_error FROM jobs WHERE state = 'failed' ORDER BY id").fetchall()
        return [(str(i), str(e)) for i, e in rows]

    def next_due(self) -> float | None:
        """When the earliest pending job is due (epoch seconds), if any."""
        with self._lock:
            row = self._db.execute("SELECT MIN(next_at) FROM jobs WHERE state = 'pending'").fetchone()
        value = row[0]
        return None if value is None else float(value)
