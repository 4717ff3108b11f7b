"""The Amazon S3 Vectors limits, enforced before anything is written.

Every backend calls these functions on its inputs, so an input that S3 Vectors would
reject is rejected by the embedded engine too, with the same exception type and a
message that names the field and the limit. Sizes follow the service's documented
limits; where the service does not say how it counts bytes, we count the UTF-8 bytes of
the compact JSON encoding, which is what goes over the wire.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from ._exceptions import ValidationError

__all__ = [
    "DistanceMetric",
    "MAX_DELETE_BATCH",
    "MAX_DIMENSION",
    "MAX_FILTERABLE_METADATA_BYTES",
    "MAX_GET_BATCH",
    "MAX_KEY_CHARS",
    "MAX_LIST_PAGE",
    "MAX_LIST_SEGMENTS",
    "MAX_METADATA_BYTES",
    "MAX_METADATA_KEYS",
    "MAX_NON_FILTERABLE_KEYS",
    "MAX_PUT_BATCH",
    "MAX_SAFE_INTEGER",
    "MAX_TOP_K",
    "MetadataValue",
    "filterable_metadata_bytes",
    "json_size",
    "check_utf8",
    "validate_batch_size",
    "validate_bucket_name",
    "validate_dimension",
    "validate_distance_metric",
    "validate_index_name",
    "validate_key",
    "encode_metadata",
    "validate_metadata",
    "validate_non_filterable_keys",
    "validate_top_k",
    "validate_vector",
]

DistanceMetric = Literal["cosine", "euclidean"]
MetadataValue = str | int | float | bool | list[str | int | float | bool]

MAX_DIMENSION: Final = 4096
MAX_KEY_CHARS: Final = 1024
MAX_METADATA_BYTES: Final = 40 * 1024
MAX_FILTERABLE_METADATA_BYTES: Final = 2 * 1024
MAX_METADATA_KEYS: Final = 50
MAX_METADATA_KEY_CHARS: Final = 63
MAX_NON_FILTERABLE_KEYS: Final = 10
MAX_PUT_BATCH: Final = 500
MAX_DELETE_BATCH: Final = 500
MAX_GET_BATCH: Final = 100
MAX_LIST_PAGE: Final = 1000
MAX_LIST_SEGMENTS: Final = 16
MAX_TOP_K: Final = 100
MAX_SAFE_INTEGER: Final = 2**53

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_NAME_RULE = "3-63 characters of lowercase a-z, 0-9 and '-'{dot}, starting and ending with a letter or digit"


def _check_name(kind: str, name: object, pattern: re.Pattern[str], dot: bool) -> str:
    rule = _NAME_RULE.format(dot=" or '.'" if dot else "")
    if not isinstance(name, str) or not pattern.fullmatch(name):
        raise ValidationError(f"invalid {kind} name {name!r}: must be {rule}", field=f"{kind}_name", limit=rule)
    return name


def validate_bucket_name(name: object) -> str:
    """Check a vector bucket name against the S3 Vectors naming rules."""
    return _check_name("bucket", name, _BUCKET_NAME, dot=False)


def validate_index_name(name: object) -> str:
    """Check a vector index name against the S3 Vectors naming rules."""
    return _check_name("index", name, _INDEX_NAME, dot=True)


def validate_dimension(dimension: object) -> int:
    """Dimensions are integers in 1..4096."""
    if isinstance(dimension, bool) or not isinstance(dimension, int) or not 1 <= dimension <= MAX_DIMENSION:
        raise ValidationError(
            f"invalid dimension {dimension!r}: must be an integer in 1..{MAX_DIMENSION}",
            field="dimension",
            limit=f"1..{MAX_DIMENSION}",
        )
    return dimension


def validate_distance_metric(metric: object) -> DistanceMetric:
    """Only cosine and euclidean exist, fixed when the index is created."""
    if metric == "cosine":
        return "cosine"
    if metric == "euclidean":
        return "euclidean"
    raise ValidationError(
        f"invalid distance metric {metric!r}: must be 'cosine' or 'euclidean'",
        field="distance_metric",
        limit="cosine | euclidean",
    )


def validate_non_filterable_keys(keys: Collection[str]) -> frozenset[str]:
    """At most 10 distinct, well-formed metadata key names."""
    result = frozenset(keys)
    if len(result) > MAX_NON_FILTERABLE_KEYS:
        raise ValidationError(
            f"too many non-filterable metadata keys ({len(result)}): at most {MAX_NON_FILTERABLE_KEYS}",
            field="non_filterable_keys",
            limit=f"<= {MAX_NON_FILTERABLE_KEYS}",
        )
    for key in result:
        _check_metadata_key(key, field="non_filterable_keys")
    return result


def validate_key(key: object) -> str:
    """Vector keys are 1-1024 characters of valid UTF-8, case-sensitive."""
    if not isinstance(key, str):
        raise ValidationError(f"vector key must be a string, got {type(key).__name__}", field="key")
    if not 1 <= len(key) <= MAX_KEY_CHARS:
        raise ValidationError(
            f"vector key must be 1-{MAX_KEY_CHARS} characters, got {len(key)}",
            field="key",
            limit=f"1-{MAX_KEY_CHARS} characters",
        )
    check_utf8(key, "key")
    return key


def validate_batch_size(count: int, limit: int, what: str) -> None:
    """Batches of vectors or keys hold between 1 and ``limit`` items."""
    if not 1 <= count <= limit:
        raise ValidationError(
            f"{what} takes 1-{limit} items per call, got {count}", field=what, limit=f"1-{limit} items"
        )


def validate_top_k(top_k: object) -> int:
    """Queries return 1..100 neighbours."""
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise ValidationError(
            f"top_k must be an integer in 1..{MAX_TOP_K}, got {top_k!r}", field="top_k", limit=f"1..{MAX_TOP_K}"
        )
    return top_k


def validate_vector(
    vector: object, dimension: int, metric: DistanceMetric, *, field: str = "vector"
) -> NDArray[np.float32]:
    """Return the vector as float32, rejecting wrong length, NaN/inf and zero cosine vectors."""
    if isinstance(vector, np.ndarray) and vector.dtype == np.float32 and vector.shape == (dimension,):
        as32 = vector  # what embedders return: no conversion, just the checks below
    else:
        try:
            array = np.asarray(vector, dtype=np.float64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValidationError(f"{field} must be a sequence of numbers", field=field) from exc
        if array.ndim != 1 or array.shape[0] != dimension:
            got = array.shape[0] if array.ndim == 1 else f"shape {array.shape}"
            raise ValidationError(
                f"{field} has dimension {got}, the index expects {dimension}",
                field=field,
                limit=f"dimension {dimension}",
            )
        with np.errstate(over="ignore"):  # beyond float32 becomes inf, rejected just below
            as32 = array.astype(np.float32)
    if not np.isfinite(as32).all():
        raise ValidationError(
            f"{field} contains NaN or infinity (or a value beyond float32)", field=field, limit="finite float32"
        )
    if metric == "cosine" and not as32.any():
        raise ValidationError(f"{field} is all zeros, which a cosine index cannot score", field=field, limit="non-zero")
    return as32


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def json_size(value: Any) -> int:
    """Bytes of the compact UTF-8 JSON encoding: how metadata sizes are counted."""
    return len(_ENCODER.encode(value).encode("utf-8"))


def _item_size(key: str, value: Any) -> int:
    """Bytes of ``"key":value`` inside a compact JSON object."""
    return len(_ENCODER.encode(key).encode("utf-8")) + 1 + len(_ENCODER.encode(value).encode("utf-8"))


def filterable_metadata_bytes(metadata: Mapping[str, Any], non_filterable: Collection[str]) -> int:
    """Size of the part of ``metadata`` that counts against the 2 KB filterable limit."""
    return json_size({k: v for k, v in metadata.items() if k not in non_filterable})


def validate_metadata(
    metadata: object, non_filterable: Collection[str], *, field: str = "metadata"
) -> dict[str, MetadataValue]:
    """Check types, key names, key count and the 2 KB / 40 KB size limits."""
    return encode_metadata(metadata, non_filterable, field=field)[0]


def encode_metadata(
    metadata: object, non_filterable: Collection[str], *, field: str = "metadata"
) -> tuple[dict[str, MetadataValue], str]:
    """Validate metadata and return it cleaned (numpy scalars become Python) with its JSON.

    The JSON text is what the size limits are measured on, so a backend that stores it
    stores exactly what was measured.
    """
    if metadata is None:
        return {}, "{}"
    if not isinstance(metadata, Mapping):
        raise ValidationError(f"{field} must be a mapping of key to value", field=field)
    if len(metadata) > MAX_METADATA_KEYS:
        raise ValidationError(
            f"{field} has {len(metadata)} keys: at most {MAX_METADATA_KEYS}",
            field=field,
            limit=f"<= {MAX_METADATA_KEYS} keys",
        )
    clean: dict[str, MetadataValue] = {}
    for key, value in metadata.items():
        _check_metadata_key(key, field=field)
        clean[key] = _check_metadata_value(value, field, key)
    document = _ENCODER.encode(clean)
    try:
        total = len(document.encode("utf-8"))
    except UnicodeEncodeError:
        for key, value in clean.items():  # find the culprit for a precise message
            for text in (key, *(value if isinstance(value, list) else [value])):
                if isinstance(text, str):
                    check_utf8(text, f"{field}.{key}")
        raise  # pragma: no cover - one of the strings above must have failed
    if total > MAX_METADATA_BYTES:
        raise ValidationError(
            f"{field} is {total} bytes: at most {MAX_METADATA_BYTES} bytes in total",
            field=field,
            limit=f"<= {MAX_METADATA_BYTES} bytes",
        )
    excluded = [k for k in non_filterable if k in clean]
    filterable = total
    if excluded:
        # Dropping an item from compact JSON removes the item and one comma.
        remaining = len(clean) - len(excluded)
        filterable = 2 if remaining == 0 else total - sum(_item_size(k, clean[k]) + 1 for k in excluded)
    if filterable > MAX_FILTERABLE_METADATA_BYTES:
        raise ValidationError(
            f"{field} has {filterable} bytes of filterable metadata: at most {MAX_FILTERABLE_METADATA_BYTES}; "
            "declare large text keys non-filterable when creating the index",
            field=field,
            limit=f"<= {MAX_FILTERABLE_METADATA_BYTES} filterable bytes",
        )
    return clean, document


def _check_metadata_key(key: object, *, field: str = "metadata") -> None:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_METADATA_KEY_CHARS:
        raise ValidationError(
            f"{field} key {key!r} must be a string of 1-{MAX_METADATA_KEY_CHARS} characters",
            field=field,
            limit=f"key names 1-{MAX_METADATA_KEY_CHARS} characters",
        )
    if key.startswith("$"):
        raise ValidationError(
            f"{field} key {key!r} may not start with '$' (reserved for filter operators)", field=field
        )
    check_utf8(key, f"{field} key {key!r}", field=field)


_SCALARS = (str, int, float, bool)


def _check_metadata_value(value: object, field: str, key: str) -> MetadataValue:
    if type(value) in _SCALARS:
        return _check_scalar(value, field, key)  # type: ignore[arg-type]
    if isinstance(value, list | tuple):
        items: list[str | int | float | bool] = []
        for item in value:
            if isinstance(item, np.generic):
                item = item.item()
            if not isinstance(item, _SCALARS):
                raise ValidationError(
                    f"{field}.{key} lists may hold only strings, numbers and booleans, got {type(item).__name__}",
                    field=f"{field}.{key}",
                )
            items.append(_check_scalar(item, field, key))
        return items
    if isinstance(value, np.generic):
        return _check_metadata_value(value.item(), field, key)
    if isinstance(value, _SCALARS):  # subclasses such as enum members with a str base
        return _check_scalar(value, field, key)
    raise ValidationError(
        f"{field}.{key} must be a string, number, boolean or list of those, got {type(value).__name__}",
        field=f"{field}.{key}",
    )


def _check_scalar(value: str | int | float | bool, field: str, key: str) -> str | int | float | bool:
    if isinstance(value, str):
        return str.__str__(value)  # plain text even for str-based enums
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"{field}.{key} must be a finite number, got {value!r}", field=f"{field}.{key}")
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        raise ValidationError(
            f"{field}.{key} is an integer beyond +/-2**53, which a float64 cannot hold exactly: store it as a string",
            field=f"{field}.{key}",
            limit="|n| <= 2**53",
        )
    return value


def check_utf8(
    text: str, what: str, *, field: str | None = None, error: type[ValidationError] = ValidationError
) -> None:
    """Reject text with lone surrogates: it cannot be encoded as UTF-8, sent as JSON or stored.

    ``what`` names the text in the message (escaped, since it may hold the surrogate itself).
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        printable = what.encode("utf-8", "backslashreplace").decode("utf-8")
        raise error(
            f"{printable} is not valid UTF-8 (a lone surrogate at position {exc.start})",
            field=(field or what).encode("utf-8", "backslashreplace").decode("utf-8"),
        ) from None
