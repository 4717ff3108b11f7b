"""A subset of AWS IAM: roles with a trust policy and inline permissions policies.

Why only this: a Token Vending Machine needs one role (who may assume it, and what its
sessions may do) and nothing else, so that is what the endpoint keeps. Roles live in
``<root>/.iam/roles.json`` (a dot directory is never a bucket, since bucket names cannot
start with '.'), rewritten atomically after every change, so they survive restarts.
Every document is checked as IAM checks it (``MalformedPolicyDocument`` otherwise) and
kept as the JSON text it was sent as; answers carry it URL-encoded, as IAM's do, which
botocore decodes back into a dict.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, unquote

from ..core import BackendUnavailableError
from ._buckets import ACCOUNT_ID, _read_json, _write_json
from ._form import Params, invalid, query_error
from ._policy import PolicyError, PolicyKind, load_policy

__all__ = [
    "DEFAULT_MAX_SESSION_DURATION",
    "IAM_ACTIONS",
    "IamStore",
    "Role",
    "iso_time",
    "parse_role_arn",
    "policy_text",
]

DEFAULT_MAX_SESSION_DURATION: Final = 3600
#: IAM's quotas: trust policy length, and all inline policies of a role together (non-blank characters).
MAX_TRUST_POLICY_CHARS: Final = 2048
MAX_INLINE_POLICY_CHARS: Final = 10_240
_NAME: Final = re.compile(r"[\w+=,.@-]+", re.ASCII)
_PATH: Final = re.compile(r"/|/[\x21-\x7e]+/")
_ROLE_ARN: Final = re.compile(r"arn:aws:iam::([0-9]{12}):role(/(?:[\x21-\x7e]*/)?)([\w+=,.@-]+)", re.ASCII)
_ID_ALPHABET: Final = string.ascii_uppercase + string.digits
_FILE_VERSION: Final = 1


def iso_time(epoch: float) -> str:
    """``2025-01-31T12:00:00Z``: how the query protocol writes timestamps."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def policy_text(document: str) -> str:
    """A stored document as IAM answers it: URL-encoded JSON."""
    return quote(document, safe="")


def parse_role_arn(arn: str) -> tuple[str, str, str] | None:
    """(account, path, name) of a role ARN, or ``None`` if ``arn`` is not one."""
    match = _ROLE_ARN.fullmatch(arn)
    return None if match is None else (match.group(1), match.group(2), match.group(3))


@functools.lru_cache(maxsize=1024)
def _parsed(document: str, kind: PolicyKind) -> dict[str, Any]:
    return load_policy(document, kind)


@dataclass(frozen=True, slots=True)
class Role:
    """One role, as stored and as ``GetRole`` describes it (``policies``: inline, by name)."""

    name: str
    path: str
    role_id: str
    created: float
    trust_policy: str
    description: str | None = None
    max_session_duration: int = DEFAULT_MAX_SESSION_DURATION
    tags: tuple[tuple[str, str], ...] = ()
    policies: Mapping[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        """``arn:aws:iam::123456789012:role<path><name>``."""
        return f"arn:aws:iam::{ACCOUNT_ID}:role{self.path}{self.name}"

    def trust(self) -> dict[str, Any]:
        """The parsed trust policy."""
        return _parsed(self.trust_policy, "trust")

    def permissions(self) -> list[dict[str, Any]]:
        """The parsed inline permissions policies."""
        return [_parsed(text, "identity") for text in self.policies.values()]

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "RoleName": self.name,
            "Path": self.path,
            "RoleId": self.role_id,
            "CreateDate": self.created,
            "AssumeRolePolicyDocument": self.trust_policy,
            "Description": self.description,
            "MaxSessionDuration": self.max_session_duration,
            "Tags": [list(tag) for tag in self.tags],
            "Policies": dict(self.policies),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Role:
        """From the stored form."""
        return cls(
            name=str(data["RoleName"]),
            path=str(data.get("Path") or "/"),
            role_id=str(data["RoleId"]),
            created=float(data.get("CreateDate") or 0.0),
            trust_policy=str(data["AssumeRolePolicyDocument"]),
            description=data.get("Description"),
            max_session_duration=int(data.get("MaxSessionDuration") or DEFAULT_MAX_SESSION_DURATION),
            tags=tuple((str(k), str(v)) for k, v in data.get("Tags") or ()),
            policies={str(k): str(v) for k, v in (data.get("Policies") or {}).items()},
        )

    def wire(self, *, listing: bool = False) -> dict[str, Any]:
        """The ``Role`` structure of IAM's answers (``ListRoles`` leaves tags out, as IAM does)."""
        shape: dict[str, Any] = {
            "Path": self.path,
            "RoleName": self.name,
            "RoleId": self.role_id,
            "Arn": self.arn,
            "CreateDate": iso_time(self.created),
            "AssumeRolePolicyDocument": policy_text(self.trust_policy),
            "Description": self.description,
            "MaxSessionDuration": self.max_session_duration,
        }
        if self.tags and not listing:
            shape["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags]
        if not listing:
            shape["RoleLastUsed"] = {}
        return shape


def _check_document(document: str, kind: PolicyKind, field_name: str) -> str:
    """The JSON text of a document sent plain or URL-encoded, checked; ``MalformedPolicyDocument`` if bad."""
    if not document.strip():
        raise invalid(field_name, document, "Member must have length greater than or equal to 1")
    try:
        json.loads(document)
        text = document
    except ValueError:
        text = unquote(document)  # URL-encoded, as IAM itself hands documents out
    try:
        load_policy(text, kind)
    except PolicyError as exc:
        raise query_error("MalformedPolicyDocument", str(exc)) from None
    return text


def _size(document: str) -> int:
    return sum(1 for char in document if not char.isspace())


def _name(value: str, field_name: str, limit: int) -> str:
    if len(value) > limit:
        raise invalid(field_name, value, f"Member must have length less than or equal to {limit}")
    if not _NAME.fullmatch(value):
        raise invalid(field_name, value, r"Member must satisfy regular expression pattern: [\w+=,.@-]+")
    return value


class IamStore:
    """The roles under ``<root>/.iam``; thread-safe.

    Args:
        root: The endpoint root (the directory of buckets).
        clock: Epoch seconds now (role creation dates).
    """

    def __init__(self, root: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(root) / ".iam" / "roles.json"
        self.clock = clock
        self._lock = threading.RLock()
        document = _read_json(self.path) or {}
        self._roles: dict[str, Role] = {}
        for entry in document.get("roles") or ():
            role = Role.from_json(entry)
            self._roles[role.name.lower()] = role

    def _commit(self, roles: dict[str, Role]) -> None:
        """Write ``roles`` to disk, then make them current (a failed write changes nothing)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendUnavailableError(f"cannot create {self.path.parent}: {exc}") from exc
        _write_json(self.path, {"version": _FILE_VERSION, "roles": [r.to_json() for r in roles.values()]})
        self._roles = roles

    def _role(self, name: str) -> Role:
        role = self._roles.get(name.lower())
        if role is None:
            raise query_error("NoSuchEntity", f"The role with name {name} cannot be found.")
        return role

    def get_role(self, name: str) -> Role:
        """The role ``name`` (IAM names are case-insensitive); ``NoSuchEntity`` if absent."""
        with self._lock:
            return self._role(name)

    def role_for_arn(self, arn: str) -> Role | None:
        """The role an ARN names in this account, if it exists (same path, any case of the name)."""
        parsed = parse_role_arn(arn)
        if parsed is None or parsed[0] != ACCOUNT_ID:
            return None
        with self._lock:
            role = self._roles.get(parsed[2].lower())
        return role if role is not None and role.path == parsed[1] else None

    def list_roles(self, path_prefix: str = "/") -> list[Role]:
        """Roles whose path starts with ``path_prefix``, by name."""
        with self._lock:
            roles = [r for r in self._roles.values() if r.path.startswith(path_prefix)]
        return sorted(roles, key=lambda r: r.name.lower())

    def create_role(
        self,
        name: str,
        trust_policy: str,
        *,
        path: str = "/",
        description: str | None = None,
        max_session_duration: int | None = None,
        tags: Sequence[tuple[str, str]] = (),
    ) -> Role:
        """A new role; ``EntityAlreadyExists`` if the name is taken (in any case)."""
        _name(name, "roleName", 64)
        if len(path) > 512 or not _PATH.fullmatch(path):
            raise invalid("path", path, "Member must be '/' or start and end with '/' (at most 512 characters)")
        if description is not None and len(description) > 1000:
            raise invalid("description", description, "Member must have length less than or equal to 1000")
        duration = DEFAULT_MAX_SESSION_DURATION if max_session_duration is None else max_session_duration
        if not 3600 <= duration <= 43200:
            raise invalid("maxSessionDuration", duration, "Member must be between 3600 and 43200 seconds")
        text = _check_document(trust_policy, "trust", "assumeRolePolicyDocument")
        if _size(text) > MAX_TRUST_POLICY_CHARS:
            raise query_error("LimitExceeded", f"Cannot exceed quota for ACLSizePerRole: {MAX_TRUST_POLICY_CHARS}")
        with self._lock:
            if name.lower() in self._roles:
                raise query_error("EntityAlreadyExists", f"Role with name {name} already exists.")
            role = Role(
                name=name,
                path=path,
                role_id="AROA" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17)),
                created=self.clock(),
                trust_policy=text,
                description=description,
                max_session_duration=duration,
                tags=tuple(tags),
            )
            self._commit({**self._roles, name.lower(): role})
            return role

    def update_trust_policy(self, name: str, trust_policy: str) -> Role:
        """Replace a role's trust policy."""
        text = _check_document(trust_policy, "trust", "policyDocument")
        if _size(text) > MAX_TRUST_POLICY_CHARS:
            raise query_error("LimitExceeded", f"Cannot exceed quota for ACLSizePerRole: {MAX_TRUST_POLICY_CHARS}")
        return self._change(name, lambda role: dataclasses.replace(role, trust_policy=text))

    def put_role_policy(self, name: str, policy_name: str, document: str) -> Role:
        """Add or replace an inline permissions policy."""
        _name(policy_name, "policyName", 128)
        text = _check_document(document, "identity", "policyDocument")

        def change(role: Role) -> Role:
            policies = {**role.policies, policy_name: text}
            if sum(_size(doc) for doc in policies.values()) > MAX_INLINE_POLICY_CHARS:
                raise query_error(
                    "LimitExceeded", f"Maximum policy size of {MAX_INLINE_POLICY_CHARS} bytes exceeded for role {name}"
                )
            return dataclasses.replace(role, policies=policies)

        return self._change(name, change)

    def role_policy(self, name: str, policy_name: str) -> str:
        """The text of one inline policy; ``NoSuchEntity`` if the role or the policy is absent."""
        with self._lock:
            document = self._role(name).policies.get(policy_name)
        if document is None:
            raise query_error("NoSuchEntity", f"The role policy with name {policy_name} cannot be found.")
        return document

    def delete_role_policy(self, name: str, policy_name: str) -> Role:
        """Remove an inline policy."""

        def change(role: Role) -> Role:
            if policy_name not in role.policies:
                raise query_error("NoSuchEntity", f"The role policy with name {policy_name} cannot be found.")
            return dataclasses.replace(role, policies={k: v for k, v in role.policies.items() if k != policy_name})

        return self._change(name, change)

    def delete_role(self, name: str) -> None:
        """Delete a role with no inline policies left (``DeleteConflict`` otherwise, as on IAM)."""
        with self._lock:
            role = self._role(name)
            if role.policies:
                raise query_error(
                    "DeleteConflict",
                    f"Cannot delete entity, must delete policies first (role {role.name} has inline policies: "
                    f"{', '.join(sorted(role.policies))}).",
                )
            self._commit({k: v for k, v in self._roles.items() if k != name.lower()})

    def _change(self, name: str, change: Callable[[Role], Role]) -> Role:
        with self._lock:
            role = change(self._role(name))
            self._commit({**self._roles, role.name.lower(): role})
            return role


# -- the wire ------------------------------------------------------------------------------------


def _page(names: Sequence[str], params: Params) -> tuple[Sequence[str], str | None]:
    """One page of ``MaxItems`` (1-1000, default 100) after ``Marker`` (the last name given)."""
    size = params.integer("MaxItems")
    size = 100 if size is None else size
    if not 1 <= size <= 1000:
        raise invalid("maxItems", size, "Member must be between 1 and 1000")
    marker = params.text("Marker")
    start = 0 if marker is None else next((i for i, n in enumerate(names) if n.lower() > marker.lower()), len(names))
    chunk = names[start : start + size]
    return chunk, chunk[-1] if start + size < len(names) and chunk else None


def _listing(key: str, items: list[Any], marker: str | None) -> dict[str, Any]:
    return {key: items, "IsTruncated": marker is not None, **({"Marker": marker} if marker else {})}


def create_role(store: IamStore, params: Params) -> dict[str, Any]:
    """``CreateRole`` (``PermissionsBoundary`` is not supported)."""
    if params.has("PermissionsBoundary"):
        raise query_error("NotImplemented", "PermissionsBoundary is not supported by the local IAM endpoint")
    role = store.create_role(
        params.need("RoleName"),
        params.need("AssumeRolePolicyDocument"),
        path=params.text("Path") or "/",
        description=params.text("Description"),
        max_session_duration=params.integer("MaxSessionDuration"),
        tags=params.tags(),
    )
    return {"Role": role.wire()}


def get_role(store: IamStore, params: Params) -> dict[str, Any]:
    """``GetRole``."""
    return {"Role": store.get_role(params.need("RoleName")).wire()}


def list_roles(store: IamStore, params: Params) -> dict[str, Any]:
    """``ListRoles``: by name, ``PathPrefix``, ``MaxItems``/``Marker`` paging."""
    roles = {r.name: r for r in store.list_roles(params.text("PathPrefix") or "/")}
    names, marker = _page(list(roles), params)
    return _listing("Roles", [roles[n].wire(listing=True) for n in names], marker)


def update_assume_role_policy(store: IamStore, params: Params) -> None:
    """``UpdateAssumeRolePolicy``."""
    store.update_trust_policy(params.need("RoleName"), params.need("PolicyDocument"))


def put_role_policy(store: IamStore, params: Params) -> None:
    """``PutRolePolicy``."""
    store.put_role_policy(params.need("RoleName"), params.need("PolicyName"), params.need("PolicyDocument"))


def get_role_policy(store: IamStore, params: Params) -> dict[str, Any]:
    """``GetRolePolicy``: the document URL-encoded, as IAM sends it."""
    role = store.get_role(params.need("RoleName"))
    name = params.need("PolicyName")
    return {
        "RoleName": role.name,
        "PolicyName": name,
        "PolicyDocument": policy_text(store.role_policy(role.name, name)),
    }


def list_role_policies(store: IamStore, params: Params) -> dict[str, Any]:
    """``ListRolePolicies``: inline policy names, sorted."""
    names, marker = _page(sorted(store.get_role(params.need("RoleName")).policies), params)
    return _listing("PolicyNames", list(names), marker)


def delete_role_policy(store: IamStore, params: Params) -> None:
    """``DeleteRolePolicy``."""
    store.delete_role_policy(params.need("RoleName"), params.need("PolicyName"))


def delete_role(store: IamStore, params: Params) -> None:
    """``DeleteRole``."""
    store.delete_role(params.need("RoleName"))


IamAction = Callable[[IamStore, Params], "dict[str, Any] | None"]

#: The IAM actions answered, by wire name.
IAM_ACTIONS: Final[dict[str, IamAction]] = {
    "CreateRole": create_role,
    "GetRole": get_role,
    "ListRoles": list_roles,
    "UpdateAssumeRolePolicy": update_assume_role_policy,
    "PutRolePolicy": put_role_policy,
    "GetRolePolicy": get_role_policy,
    "ListRolePolicies": list_role_policies,
    "DeleteRolePolicy": delete_role_policy,
    "DeleteRole": delete_role,
}
