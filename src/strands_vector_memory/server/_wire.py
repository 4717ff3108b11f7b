"""Reading S3 Vectors request JSON: typed members, resource addressing, vectors, paging.

Why a typed reader: the body comes from any HTTP client, not only botocore (which
checks types before sending), so a wrong type must become a ``ValidationError`` naming
the member, never a ``TypeError`` that would surface as a 500. Limits of the data
model (names, dimensions, keys, metadata) are *not* checked here: the embedded engine
checks them with the project's own rules, so the endpoint rejects exactly what the
engine rejects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from ..backends._checks import decode_token, encode_token
from ..core import MemoryRecord, ValidationError
from ..core._limits import validate_bucket_name, validate_index_name

__all__ = [
    "Body",
    "bucket_of",
    "encryption_config",
    "float32_data",
    "index_of",
    "page",
    "paging",
    "vector_data",
    "wire_vector",
]

_BUCKET_ARN: Final = re.compile(r"arn:aws[-a-z0-9]*:s3vectors:[a-z0-9-]+:[0-9]{12}:bucket/([^/]+)")
_INDEX_ARN: Final = re.compile(r"arn:aws[-a-z0-9]*:s3vectors:[a-z0-9-]+:[0-9]{12}:bucket/([^/]+)/index/([^/]+)")
_SSE_TYPES: Final = ("AES256", "aws:kms")
#: What botocore sends for float members that are not finite (Smithy's convention).
_NON_FINITE: Final = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


class Body:
    """Typed access to one JSON object of a request; ``path`` prefixes field names in errors."""

    def __init__(self, data: object, path: str = "") -> None:
        if not isinstance(data, dict):
            what = path or "the request body"
            raise ValidationError(f"{what} must be a JSON object, got {_kind(data)}", field=path or None)
        self.data: dict[str, Any] = data
        self._path = path

    def field(self, name: str) -> str:
        """The full path of member ``name``."""
        return f"{self._path}.{name}" if self._path else name

    def _get(self, name: str, types: tuple[type, ...], what: str, required: bool) -> Any:
        value = self.data.get(name)
        if value is None:
            if required:
                raise ValidationError(f"{self.field(name)} is required", field=self.field(name))
            return None
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise ValidationError(f"{self.field(name)} must be {what}, got {_kind(value)}", field=self.field(name))
        return value

    def text(self, name: str) -> str | None:
        """An optional string member."""
        value: str | None = self._get(name, (str,), "a string", False)
        return value

    def need_text(self, name: str) -> str:
        """A required string member."""
        value: str = self._get(name, (str,), "a string", True)
        return value

    def integer(self, name: str) -> int | None:
        """An optional integer member (JSON ``5`` or ``5.0``)."""
        value = self._get(name, (int, float), "an integer", False)
        if isinstance(value, float):
            if not value.is_integer():
                raise ValidationError(f"{self.field(name)} must be an integer, got {value!r}", field=self.field(name))
            return int(value)
        return value  # type: ignore[no-any-return]

    def need_integer(self, name: str) -> int:
        """A required integer member."""
        value = self.integer(name)
        if value is None:
            raise ValidationError(f"{self.field(name)} is required", field=self.field(name))
        return value

    def flag(self, name: str) -> bool:
        """An optional boolean member; absent is false, as on S3 Vectors."""
        return bool(self._get(name, (bool,), "true or false", False))

    def items(self, name: str, *, required: bool = False) -> list[Any] | None:
        """An array member."""
        value: list[Any] | None = self._get(name, (list,), "an array", required)
        return value

    def member(self, name: str) -> Body | None:
        """An optional object member, itself readable with typed access."""
        value = self._get(name, (dict,), "an object", False)
        return None if value is None else Body(value, self.field(name))

    def enum(self, name: str, allowed: Sequence[str], *, required: bool = False) -> str | None:
        """A string member limited to ``allowed``."""
        value = self.need_text(name) if required else self.text(name)
        if value is not None and value not in allowed:
            raise ValidationError(
                f"{self.field(name)} must be one of {', '.join(allowed)}, got {value!r}",
                field=self.field(name),
                limit=" | ".join(allowed),
            )
        return value


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def bucket_of(body: Body) -> str:
    """The vector bucket a request names, by ``vectorBucketName`` or ``vectorBucketArn`` (exactly one)."""
    name, arn = body.text("vectorBucketName"), body.text("vectorBucketArn")
    if (name is None) == (arn is None):
        raise ValidationError("give vectorBucketName or vectorBucketArn (exactly one)", field="vectorBucketName")
    if arn is not None:
        match = _BUCKET_ARN.fullmatch(arn)
        if match is None:
            raise ValidationError(f"vectorBucketArn {arn!r} is not a vector bucket ARN", field="vectorBucketArn")
        name = match.group(1)
    return validate_bucket_name(name)


def index_of(body: Body) -> tuple[str, str]:
    """(bucket, index) from ``vectorBucketName`` + ``indexName`` or from ``indexArn``."""
    arn = body.text("indexArn")
    if arn is None:
        bucket = body.text("vectorBucketName")
        index = body.text("indexName")
        if bucket is None or index is None:
            raise ValidationError("give vectorBucketName and indexName, or indexArn", field="indexName")
    else:
        if body.data.get("vectorBucketName") is not None or body.data.get("indexName") is not None:
            raise ValidationError("give indexArn or vectorBucketName and indexName, not both", field="indexArn")
        match = _INDEX_ARN.fullmatch(arn)
        if match is None:
            raise ValidationError(f"indexArn {arn!r} is not a vector index ARN", field="indexArn")
        bucket, index = match.groups()
    return validate_bucket_name(bucket), validate_index_name(index)


def float32_data(value: object, field: str) -> NDArray[np.float32]:
    """A JSON number array as float32; values beyond float32 become infinity (which is then rejected)."""
    if not isinstance(value, list):
        raise ValidationError(f"{field} must be an array of numbers, got {_kind(value)}", field=field)
    try:
        raw = np.asarray(value)
    except (ValueError, OverflowError):
        raw = np.asarray(0)
    if raw.ndim != 1 or raw.dtype.kind not in "iuf" or any(type(item) is bool for item in value):
        numbers = []
        for item in value:
            if isinstance(item, str) and item in _NON_FINITE:
                numbers.append(_NON_FINITE[item])
            elif isinstance(item, float):
                numbers.append(item)
            elif isinstance(item, int) and not isinstance(item, bool):
                numbers.append(float(item) if abs(item) < 2**1000 else float("inf"))  # beyond float64: rejected later
            else:
                raise ValidationError(f"{field} must hold only numbers, found {_kind(item)}", field=field)
        raw = np.asarray(numbers, dtype=np.float64)
    with np.errstate(over="ignore"):
        return raw.astype(np.float32)


def vector_data(value: object, field: str) -> NDArray[np.float32]:
    """The float32 array of a ``VectorData`` union (``{"float32": [...]}``)."""
    if not isinstance(value, dict) or "float32" not in value:
        raise ValidationError(f'{field} must be {{"float32": [numbers]}}', field=field)
    return float32_data(value["float32"], field)


def wire_vector(record: MemoryRecord) -> dict[str, Any]:
    """A ``GetVectors``/``ListVectors`` entry; ``data`` and ``metadata`` only when the record has them."""
    entry: dict[str, Any] = {"key": record.key}
    if record.vector is not None:
        entry["data"] = {"float32": record.vector.tolist()}
    if record.metadata is not None:
        entry["metadata"] = dict(record.metadata)
    return entry


def encryption_config(body: Body | None) -> dict[str, str] | None:
    """A validated ``encryptionConfiguration`` (stored and reported back; nothing is encrypted)."""
    if body is None:
        return None
    sse = body.enum("sseType", _SSE_TYPES) or "AES256"
    key = body.text("kmsKeyArn")
    if sse == "aws:kms" and key is None:
        raise ValidationError("sseType aws:kms needs kmsKeyArn", field=body.field("kmsKeyArn"))
    return {"sseType": sse, **({"kmsKeyArn": key} if key is not None else {})}


def paging(body: Body, limit: int) -> tuple[int, str | None]:
    """``maxResults`` (1..``limit``, default ``limit``) and ``nextToken`` of a name listing."""
    size = body.integer("maxResults")
    if size is None:
        size = limit
    if not 1 <= size <= limit:
        raise ValidationError(f"maxResults must be in 1..{limit}, got {size}", field="maxResults", limit=f"1..{limit}")
    return size, body.text("nextToken")


def page(
    names: Sequence[str], size: int, token: str | None, scope: Mapping[str, Any]
) -> tuple[Sequence[str], str | None]:
    """One page of a sorted name listing; the token holds the last name given."""
    start = 0
    if token is not None:
        after = decode_token(token, scope).get("after")
        if not isinstance(after, str):
            raise ValidationError("nextToken is not a token this endpoint issued", field="nextToken")
        start = next((i for i, name in enumerate(names) if name > after), len(names))
    chunk = names[start : start + size]
    more = start + size < len(names)
    return chunk, encode_token({**scope, "after": chunk[-1]}) if more and chunk else None
