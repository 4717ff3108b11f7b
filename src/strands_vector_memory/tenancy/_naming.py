"""Tenant ids to tenant keys: the one name a tenant has in IAM and in S3 Vectors.

A tenant's key is both the value of its ``TenantID`` session tag and the suffix of its
index (``memory-<key>``), because the role's policy grants
``.../index/memory-${aws:PrincipalTag/TenantID}``: IAM itself then refuses any index
name but the tenant's own. Application tenant ids are whatever the application uses
("Acme Corp", a UUID, an e-mail domain), so they are mapped onto the index-name rules:

* an id that already is a valid key (``[a-z0-9]``, inner ``-``, at most 56 characters so
  that ``memory-`` plus the key fits 63) is its own key, so keys stay readable;
* any other id becomes ``<slug>.<16 hex digits of SHA-256(id)>``. The ``.`` never occurs
  in a key of the first kind, so the two kinds can never collide, and two different ids
  collide only if SHA-256 does (64 bits kept: odds below 1e-9 for a million tenants).

The mapping is one way on purpose: a string that merely *looks like* a mapped key is
still hashed when it arrives as a tenant id. Otherwise a tenant able to choose its own id
could pick another tenant's mapped key and be routed into that tenant's index.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Final

from ..core import ValidationError
from ..core._limits import check_utf8, validate_index_name

__all__ = [
    "INDEX_PREFIX",
    "MAX_TENANT_ID_BYTES",
    "MAX_TENANT_KEY_LENGTH",
    "TAG_KEY",
    "index_for_tenant",
    "tenant_key",
    "validate_prefix",
    "validate_tenant_key",
]

#: Index names of tenants start with this (the policy's Resource says the same).
INDEX_PREFIX: Final = "memory-"

#: The session tag (and principal tag) carrying the tenant key.
TAG_KEY: Final = "TenantID"

#: The S3 Vectors index name limit.
MAX_NAME_LENGTH: Final = 63

#: Longest key that still fits ``memory-<key>`` into the 63-character index name limit.
MAX_TENANT_KEY_LENGTH: Final = MAX_NAME_LENGTH - len(INDEX_PREFIX)

#: Tenant ids are labels; 256 bytes is also the STS session tag value limit.
MAX_TENANT_ID_BYTES: Final = 256

_HASH_HEX: Final = 16
_PLAIN_KEY: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_MAPPED_KEY: Final = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\.[0-9a-f]{16}")


def _check_tenant_id(tenant_id: object) -> str:
    if not isinstance(tenant_id, str) or not tenant_id.strip():
        raise ValidationError(f"a tenant id must be a non-empty string, got {tenant_id!r}", field="tenant_id")
    check_utf8(tenant_id, "tenant_id")
    if len(tenant_id.encode("utf-8")) > MAX_TENANT_ID_BYTES:
        raise ValidationError(
            f"a tenant id is at most {MAX_TENANT_ID_BYTES} bytes; got {len(tenant_id.encode('utf-8'))}",
            field="tenant_id",
            limit=f"<= {MAX_TENANT_ID_BYTES} bytes",
        )
    if any(unicodedata.category(c) == "Cc" for c in tenant_id):
        raise ValidationError(f"a tenant id may not contain control characters: {tenant_id!r}", field="tenant_id")
    return tenant_id


def _slug(tenant_id: str, max_length: int) -> str:
    """Lowercase ASCII letters and digits of ``tenant_id``, other runs as one ``-``."""
    ascii_text = unicodedata.normalize("NFKD", tenant_id).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:max_length].rstrip("-")
    return slug or "t"


def tenant_key(tenant_id: str) -> str:
    """The key of ``tenant_id``: its ``TenantID`` tag value and index-name suffix.

    Stable (the same id always gives the same key) and collision-free (different ids
    give different keys); see the module docstring for the rules.

    Raises:
        ValidationError: If ``tenant_id`` is empty, not text, longer than 256 bytes
            or contains control characters.
    """
    tenant_id = _check_tenant_id(tenant_id)
    if len(tenant_id) <= MAX_TENANT_KEY_LENGTH and _PLAIN_KEY.fullmatch(tenant_id):
        return tenant_id
    digest = hashlib.sha256(tenant_id.encode("utf-8")).hexdigest()[:_HASH_HEX]
    return f"{_slug(tenant_id, MAX_TENANT_KEY_LENGTH - _HASH_HEX - 1)}.{digest}"


def validate_tenant_key(key: object) -> str:
    """Check that ``key`` has the shape :func:`tenant_key` produces (used on index suffixes)."""
    if (
        not isinstance(key, str)
        or len(key) > MAX_TENANT_KEY_LENGTH
        or not (_PLAIN_KEY.fullmatch(key) or _MAPPED_KEY.fullmatch(key))
    ):
        raise ValidationError(
            f"{key!r} is not a tenant key: map tenant ids with tenant_key() "
            f"(lowercase a-z, 0-9 and inner '-', at most {MAX_TENANT_KEY_LENGTH} characters, "
            "or <slug>.<16 hex digits>)",
            field="tenant_key",
        )
    return key


def validate_prefix(prefix: object) -> str:
    """Check an index prefix: it must start a valid index name and leave room for a key."""
    if not isinstance(prefix, str) or not prefix:
        raise ValidationError(f"an index prefix must be a non-empty string, got {prefix!r}", field="prefix")
    try:
        validate_index_name(prefix + "x" * max(3, MAX_NAME_LENGTH - len(prefix)))
    except ValidationError:
        raise ValidationError(
            f"index prefix {prefix!r} cannot start an index name: use lowercase a-z, 0-9, '-' or '.', "
            "starting with a letter or digit",
            field="prefix",
        ) from None
    if prefix != INDEX_PREFIX and len(prefix) > len(INDEX_PREFIX):
        raise ValidationError(
            f"index prefix {prefix!r} is longer than {INDEX_PREFIX!r}: long tenant keys would not fit "
            f"the {MAX_NAME_LENGTH}-character index name limit",
            field="prefix",
            limit=f"<= {len(INDEX_PREFIX)} characters",
        )
    return prefix


def index_for_tenant(tenant_id: str, prefix: str = INDEX_PREFIX) -> str:
    """The index holding ``tenant_id``'s memories: ``prefix`` + :func:`tenant_key`."""
    return validate_index_name(validate_prefix(prefix) + tenant_key(tenant_id))
