"""Temporary credentials the endpoint's STS issued: kept in memory, checked on every request.

Why in memory: a session lives an hour or so and a restart is a fine reason to assume
the role again, as an application does when its credentials expire. Every session
token carries a fixed marker, so a token from an earlier run of the endpoint (lost on
restart) is recognised and refused with "expired" instead of being mistaken for an
unknown static key, which would have full access. Credentials from real AWS (an SSO
session, say) carry no marker and keep working as static identities.
"""

from __future__ import annotations

import base64
import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["TOKEN_MARKER", "Clock", "Session", "SessionStore", "issued_token"]

Clock = Callable[[], float]

#: Every session token this endpoint issues starts with this.
TOKEN_MARKER: Final = "SVMLocal"
_KEY_ALPHABET: Final = string.ascii_uppercase + string.digits
#: Expired sessions are remembered this long (to answer "expired" rather than "invalid").
_KEEP_EXPIRED_SECONDS: Final = 24 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    """One set of temporary credentials and who they stand for.

    Attributes:
        access_key_id: ``ASIA`` and 16 upper-case letters or digits.
        secret_access_key: The secret the client signs with (signatures are not checked here).
        session_token: What the client sends as ``X-Amz-Security-Token``.
        issued: When it was issued (epoch seconds of the endpoint's clock).
        expiration: When it stops working (epoch seconds).
        role_arn: The role assumed.
        role_id: The role's unique id at the time (a role deleted and re-created has another).
        session_name: The ``RoleSessionName``.
        tags: Session tags, in request order, including transitive ones inherited.
        transitive_keys: Lower-cased keys of the tags that pass on when this session assumes a role.
        source_identity: The ``SourceIdentity`` set, if any.
        chained: Whether this session came from another session (role chaining).
    """

    access_key_id: str
    secret_access_key: str
    session_token: str
    issued: float
    expiration: float
    role_arn: str
    role_id: str
    session_name: str
    tags: tuple[tuple[str, str], ...] = ()
    transitive_keys: frozenset[str] = frozenset()
    source_identity: str | None = None
    chained: bool = False

    @property
    def role_name(self) -> str:
        """The role's name (the last part of its ARN)."""
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def arn(self) -> str:
        """The session's principal ARN: ``arn:aws:sts::<acct>:assumed-role/<role>/<session>``."""
        account = self.role_arn.split(":")[4]
        return f"arn:aws:sts::{account}:assumed-role/{self.role_name}/{self.session_name}"

    @property
    def assumed_role_id(self) -> str:
        """``<role id>:<session name>``, as AWS reports it (``aws:userid``)."""
        return f"{self.role_id}:{self.session_name}"


def issued_token(token: str | None) -> bool:
    """Whether ``token`` looks like one this endpoint (this run or an earlier one) issued."""
    return token is not None and token.startswith(TOKEN_MARKER)


class SessionStore:
    """The sessions issued so far; thread-safe.

    Args:
        clock: Epoch seconds now; injected so tests can move time forward.
    """

    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def issue(
        self,
        *,
        role_arn: str,
        role_id: str,
        session_name: str,
        duration: int,
        tags: Sequence[tuple[str, str]] = (),
        transitive_keys: frozenset[str] = frozenset(),
        source_identity: str | None = None,
        chained: bool = False,
    ) -> Session:
        """New credentials valid for ``duration`` seconds from now."""
        now = self.clock()
        session = Session(
            access_key_id="ASIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16)),
            secret_access_key=base64.b64encode(secrets.token_bytes(30)).decode("ascii"),
            session_token=TOKEN_MARKER + base64.b64encode(secrets.token_bytes(96)).decode("ascii"),
            issued=now,
            expiration=float(int(now) + duration),  # whole seconds, as the wire shows them
            role_arn=role_arn,
            role_id=role_id,
            session_name=session_name,
            tags=tuple(tags),
            transitive_keys=transitive_keys,
            source_identity=source_identity,
            chained=chained,
        )
        with self._lock:
            self._forget_old(now)
            self._sessions[session.access_key_id] = session
        return session

    def get(self, access_key_id: str) -> Session | None:
        """The session of ``access_key_id``, expired or not; ``None`` if this run never issued it."""
        with self._lock:
            return self._sessions.get(access_key_id)

    def expired(self, session: Session) -> bool:
        """Whether ``session`` has expired by the store's clock."""
        return self.clock() >= session.expiration

    def _forget_old(self, now: float) -> None:
        stale = [key for key, s in self._sessions.items() if s.expiration + _KEEP_EXPIRED_SECONDS < now]
        for key in stale:
            del self._sessions[key]

    def snapshot(self) -> Mapping[str, Session]:
        """A copy of every remembered session by access key id (for inspection in tests)."""
        with self._lock:
            return dict(self._sessions)
