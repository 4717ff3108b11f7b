"""Who is calling, and may they: the identity model shared by the S3 Vectors, STS and IAM faces.

Requests are SigV4-signed; the access key id is in the credential scope of the
``Authorization`` header (or ``X-Amz-Credential`` of a presigned URL). Signatures are
not verified: this is a development endpoint on loopback, and the question it answers
is "would AWS's policies let these credentials do this", not "are they forged".

* A key the endpoint's STS issued is a session of a role: it must come with its own
  ``X-Amz-Security-Token`` and be unexpired, and every action is checked against the
  role's inline policies (as currently stored, so a policy change applies at once).
* Any other key is a static identity of account 123456789012
  (``arn:aws:iam::123456789012:user/<key>``) with full access, as before sessions existed.
* An unsigned request has no caller (the S3 Vectors face serves it, unchecked, as it always has).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ..core import AccessDeniedError
from ._buckets import ACCOUNT_ID
from ._iam import IamStore, iso_time
from ._policy import ContextValue, Decision, Request, evaluate
from ._sessions import Session, SessionStore, issued_token

__all__ = ["Authority", "Caller", "Credential", "TokenError", "request_credential"]

_SCOPE: Final = re.compile(r"Credential=([^/,\s]+)/([^/,\s]*)/([^/,\s]*)/([^/,\s]*)/aws4_request")


@dataclass(frozen=True, slots=True)
class Credential:
    """The access key id and credential scope of a signed request."""

    access_key_id: str
    region: str | None = None
    service: str | None = None


def request_credential(headers: Mapping[str, str], query: Mapping[str, str] | None = None) -> Credential | None:
    """The credential a request was signed with, or ``None`` if it is unsigned.

    ``headers`` may use any case of the header names (Starlette's are case-insensitive).
    """
    found = _SCOPE.search(headers.get("authorization") or headers.get("Authorization") or "")
    if found is None and query:
        found = _SCOPE.search("Credential=" + (query.get("X-Amz-Credential") or ""))
    if found is None:
        return None
    return Credential(found.group(1), found.group(3) or None, found.group(4) or None)


class TokenError(AccessDeniedError):
    """The session token is wrong (``expired=False``) or no longer valid (``expired=True``)."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True, slots=True)
class Caller:
    """The identity behind a request: a static key or a session of a role."""

    access_key_id: str
    session: Session | None = None

    @property
    def account(self) -> str:
        """Always the endpoint's account."""
        return ACCOUNT_ID

    @property
    def arn(self) -> str:
        """The principal ARN: the IAM user of a static key, or the assumed-role session."""
        if self.session is not None:
            return self.session.arn
        return f"arn:aws:iam::{ACCOUNT_ID}:user/{self.access_key_id}"

    @property
    def user_id(self) -> str:
        """``aws:userid``: ``<role id>:<session>`` for a session, a stable ``AIDA...`` id for a key."""
        if self.session is not None:
            return self.session.assumed_role_id
        digest = base64.b32encode(hashlib.sha256(self.access_key_id.encode()).digest()).decode()
        return "AIDA" + digest[:17]

    @property
    def principal_arns(self) -> tuple[str, ...]:
        """The ARNs a trust policy's ``Principal`` may name to mean this caller."""
        return (self.arn, self.session.role_arn) if self.session is not None else (self.arn,)

    def context(self, now: float, region: str | None) -> dict[str, ContextValue]:
        """The global condition keys of a request by this caller."""
        keys: dict[str, ContextValue] = {
            "aws:CurrentTime": iso_time(now),
            "aws:EpochTime": str(int(now)),
            "aws:SecureTransport": "false",
            "aws:PrincipalAccount": ACCOUNT_ID,
            "aws:userid": self.user_id,
        }
        if region:
            keys["aws:RequestedRegion"] = region
        if self.session is None:
            keys.update({"aws:PrincipalArn": self.arn, "aws:PrincipalType": "User", "aws:username": self.access_key_id})
            return keys
        session = self.session
        keys.update({"aws:PrincipalArn": session.role_arn, "aws:PrincipalType": "AssumedRole"})
        keys["aws:TokenIssueTime"] = iso_time(session.issued)
        for key, value in session.tags:
            keys[f"aws:PrincipalTag/{key}"] = value
        if session.source_identity is not None:
            keys["aws:SourceIdentity"] = session.source_identity
        return keys


class Authority:
    """Resolves callers and decides their requests; thread-safe (its stores are).

    Args:
        iam: The roles, whose inline policies bind their sessions.
        sessions: The credentials issued by the endpoint's STS.
    """

    def __init__(self, iam: IamStore, sessions: SessionStore) -> None:
        self.iam = iam
        self.sessions = sessions

    def caller(self, headers: Mapping[str, str], query: Mapping[str, str] | None = None) -> Caller | None:
        """The caller of a request, ``None`` if unsigned.

        Raises:
            TokenError: An issued key with a missing or wrong session token, an expired
                session, or a token of this endpoint it no longer knows (issued before a restart).
        """
        credential = request_credential(headers, query)
        if credential is None:
            return None
        token = headers.get("x-amz-security-token") or (query or {}).get("X-Amz-Security-Token")
        session = self.sessions.get(credential.access_key_id)
        if session is None:
            if issued_token(token):
                raise TokenError(
                    "The security token included in the request is expired (the endpoint was restarted and "
                    "keeps sessions in memory: assume the role again)",
                    expired=True,
                )
            return Caller(credential.access_key_id)
        if token is None or not secrets.compare_digest(token.encode(), session.session_token.encode()):
            raise TokenError("The security token included in the request is invalid.", expired=False)
        if self.sessions.expired(session):
            raise TokenError("The security token included in the request is expired", expired=True)
        return Caller(credential.access_key_id, session)

    def decide(
        self,
        caller: Caller,
        action: str,
        resource: str,
        *,
        region: str | None = None,
        context: Mapping[str, ContextValue] | None = None,
    ) -> Decision:
        """What the caller's identity policies say about ``action`` on ``resource``.

        Static keys are allowed everything; a session gets its role's inline policies,
        none if the role was deleted (or deleted and re-created) since it was issued.
        """
        session = caller.session
        if session is None:
            return Decision.ALLOW
        role = self.iam.role_for_arn(session.role_arn)
        policies = role.permissions() if role is not None and role.role_id == session.role_id else []
        keys = {**caller.context(self.sessions.clock(), region), **(context or {})}
        return evaluate(policies, Request(action, resource, keys))

    def authorize(
        self,
        caller: Caller | None,
        action: str,
        resource: str,
        *,
        region: str | None = None,
        context: Mapping[str, ContextValue] | None = None,
    ) -> None:
        """Raise ``AccessDeniedError`` (worded as AWS words it) unless the caller may do ``action``."""
        if caller is None:
            return
        decision = self.decide(caller, action, resource, region=region, context=context)
        if decision.allowed:
            return
        why = (
            "with an explicit deny in an identity-based policy"
            if decision is Decision.EXPLICIT_DENY
            else f"because no identity-based policy allows the {action} action"
        )
        raise AccessDeniedError(
            f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource} {why}"
        )
