"""Requests of the AWS query protocol (STS, IAM): a form body of flat ``Name=value`` pairs.

Why a class of its own: botocore flattens lists and structures into numbered names
(``Tags.member.2.Key``), and each service handler wants typed access with AWS's
validation messages ("Value null at 'roleName' failed to satisfy constraint: Member
must not be null"), not string juggling.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Final
from urllib.parse import parse_qsl

from ._errors import EndpointError

__all__ = ["MAX_TAGS", "Params", "invalid", "parse_form", "query_error", "status_of"]

#: At most this many tags on a role or a session.
MAX_TAGS: Final = 50
_MEMBER: Final = re.compile(r"([0-9]+)(?:\.(.+))?")
_TAG_PUNCTUATION: Final = frozenset("_.:/=+-@")
#: Error codes of the query protocol and their HTTP status.
_STATUS: Final = {
    "AccessDenied": 403,
    "DeleteConflict": 409,
    "EntityAlreadyExists": 409,
    "ExpiredToken": 403,
    "ExpiredTokenException": 400,
    "InvalidAction": 400,
    "InvalidClientTokenId": 403,
    "InvalidInput": 400,
    "InvalidParameterValue": 400,
    "LimitExceeded": 409,
    "MalformedPolicyDocument": 400,
    "MissingAction": 400,
    "MissingAuthenticationToken": 403,
    "NoSuchEntity": 404,
    "NotImplemented": 501,
    "PackedPolicyTooLarge": 400,
    "ValidationError": 400,
}


def status_of(code: str) -> int:
    """The HTTP status AWS answers an STS or IAM error ``code`` with (400 if not listed)."""
    return _STATUS.get(code, 400)


def query_error(code: str, message: str) -> EndpointError:
    """An STS or IAM error with AWS's status for ``code``."""
    return EndpointError(code, status_of(code), message)


def invalid(field: str, value: object, constraint: str) -> EndpointError:
    """A ``ValidationError`` worded as AWS words it, naming the member and the rule broken."""
    shown = "null" if value is None else f"'{value}'"
    return query_error(
        "ValidationError",
        f"1 validation error detected: Value {shown} at '{field}' failed to satisfy constraint: {constraint}",
    )


def _wire_name(name: str) -> str:
    """``RoleName`` -> ``roleName``, the member name AWS's messages use."""
    return name[:1].lower() + name[1:]


class Params:
    """Typed access to the members of one query-protocol request."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)

    @property
    def action(self) -> str | None:
        """The ``Action`` member (the operation name)."""
        return self.values.get("Action")

    @property
    def version(self) -> str | None:
        """The ``Version`` member (the API version, which names the service)."""
        return self.values.get("Version")

    def text(self, name: str) -> str | None:
        """An optional string member."""
        return self.values.get(name)

    def need(self, name: str) -> str:
        """A required string member."""
        value = self.values.get(name)
        if value is None:
            raise invalid(_wire_name(name), None, "Member must not be null")
        return value

    def integer(self, name: str) -> int | None:
        """An optional integer member."""
        value = self.values.get(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise invalid(_wire_name(name), value, "Member must be an integer") from None

    def _numbered(self, name: str) -> dict[int, dict[str, str]]:
        prefix = f"{name}.member."
        entries: dict[int, dict[str, str]] = {}
        for key, value in self.values.items():
            if not key.startswith(prefix):
                continue
            match = _MEMBER.fullmatch(key[len(prefix) :])
            if match is None:
                raise invalid(_wire_name(name), key, "Member names must be Name.member.N[.Field]")
            entries.setdefault(int(match.group(1)), {})[match.group(2) or ""] = value
        return entries

    def members(self, name: str) -> list[dict[str, str]]:
        """A list of structures (``Tags.member.1.Key=...``), in member order."""
        return [entry for _, entry in sorted(self._numbered(name).items())]

    def strings(self, name: str) -> list[str]:
        """A list of strings (``TransitiveTagKeys.member.1=...``), in member order."""
        return [entry.get("", "") for _, entry in sorted(self._numbered(name).items())]

    def tags(self, name: str = "Tags", *, duplicate_code: str = "InvalidInput") -> list[tuple[str, str]]:
        """A tag list (``Tags.member.N.Key``/``.Value``), checked as IAM and STS check it.

        Keys are 1-128 and values 0-256 letters, digits, spaces or ``_.:/=+-@``; at most
        50 tags; keys are case-insensitive, so two keys differing only in case are a
        ``duplicate_code`` error.
        """
        entries = self.members(name)
        if len(entries) > MAX_TAGS:
            raise invalid(
                _wire_name(name), f"{len(entries)} tags", f"Member must have length less than or equal to {MAX_TAGS}"
            )
        tags: list[tuple[str, str]] = []
        seen: set[str] = set()
        for i, entry in enumerate(entries, start=1):
            key, value = entry.get("Key"), entry.get("Value")
            where = f"{_wire_name(name)}.{i}.member"
            if key is None or value is None:
                raise invalid(f"{where}.{'key' if key is None else 'value'}", None, "Member must not be null")
            if not 1 <= len(key) <= 128 or not _tag_text(key):
                raise invalid(f"{where}.key", key, "Member must be 1-128 letters, digits, spaces or _.:/=+-@")
            if len(value) > 256 or not _tag_text(value):
                raise invalid(f"{where}.value", value, "Member must be 0-256 letters, digits, spaces or _.:/=+-@")
            if key.lower() in seen:
                raise query_error(
                    duplicate_code,
                    f"Duplicate tag keys found ({key!r}). Please note that Tag keys are case insensitive.",
                )
            seen.add(key.lower())
            tags.append((key, value))
        return tags

    def has(self, name: str) -> bool:
        """Whether the member, or any entry of a list member, was sent."""
        return name in self.values or any(key.startswith(f"{name}.") for key in self.values)


def _tag_text(text: str) -> bool:
    """Letters, numbers, separators (spaces) and ``_.:/=+-@`` only: AWS's tag character set."""
    return all(
        char in _TAG_PUNCTUATION or char.isalpha() or char.isnumeric() or unicodedata.category(char).startswith("Z")
        for char in text
    )


def parse_form(payload: bytes, query_string: str = "") -> Params:
    """The members of a form-encoded body (and of the URL's query string, as AWS also reads it)."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise query_error("InvalidParameterValue", "the request body is not UTF-8 form data") from None
    values = dict(parse_qsl(query_string, keep_blank_values=True))
    values.update(parse_qsl(text, keep_blank_values=True))
    return Params(values)
