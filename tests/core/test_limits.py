"""The S3 Vectors limits at their exact boundaries, and how metadata bytes are counted."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strands_vector_memory.core import ValidationError
from strands_vector_memory.core._limits import (
    MAX_FILTERABLE_METADATA_BYTES,
    MAX_METADATA_BYTES,
    encode_metadata,
    filterable_metadata_bytes,
    json_size,
    validate_bucket_name,
    validate_dimension,
    validate_index_name,
    validate_key,
    validate_top_k,
    validate_vector,
)


@pytest.mark.parametrize("name", ["abc", "a" * 63, "my-bucket-1", "123", "a-b"])
def test_valid_bucket_names(name: str) -> None:
    assert validate_bucket_name(name) == name


@pytest.mark.parametrize(
    "name", ["ab", "a" * 64, "My-bucket", "my_bucket", "-abc", "abc-", "my.bucket", "", "a b c", None, 7, "ab\n"]
)
def test_invalid_bucket_names(name: Any) -> None:
    with pytest.raises(ValidationError) as info:
        validate_bucket_name(name)
    assert info.value.field == "bucket_name" and info.value.limit


def test_index_names_may_hold_dots_bucket_names_may_not() -> None:
    assert validate_index_name("a.b.c") == "a.b.c"
    with pytest.raises(ValidationError):
        validate_bucket_name("a.b.c")


def test_trailing_newline_is_not_a_valid_name() -> None:
    for validate in (validate_bucket_name, validate_index_name):
        with pytest.raises(ValidationError):
            validate("abc\n")


@pytest.mark.parametrize(
    ("value", "ok"), [(1, True), (4096, True), (0, False), (4097, False), (True, False), (8.0, False)]
)
def test_dimension_bounds(value: Any, ok: bool) -> None:
    if ok:
        assert validate_dimension(value) == value
    else:
        with pytest.raises(ValidationError):
            validate_dimension(value)


@pytest.mark.parametrize(
    ("value", "ok"), [(1, True), (100, True), (0, False), (101, False), (False, False), ("5", False)]
)
def test_top_k_bounds(value: Any, ok: bool) -> None:
    if ok:
        assert validate_top_k(value) == value
    else:
        with pytest.raises(ValidationError):
            validate_top_k(value)


def test_key_bounds_count_characters() -> None:
    assert validate_key("é" * 1024) == "é" * 1024  # 2048 bytes, 1024 characters
    with pytest.raises(ValidationError):
        validate_key("é" * 1025)


def test_vector_is_returned_as_float32() -> None:
    out = validate_vector([1, 2.5, -3], 3, "cosine")
    assert out.dtype == np.float32 and out.tolist() == [1.0, 2.5, -3.0]
    assert validate_vector([0, 0, 0], 3, "euclidean").tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValidationError, match="zeros"):
        validate_vector([0, 0, 0], 3, "cosine")
    with pytest.raises(ValidationError, match="float32"):
        validate_vector([3.5e38, 1, 1], 3, "euclidean")  # finite in float64, infinite in float32


def test_filterable_limit_is_2048_bytes_of_compact_json() -> None:
    # {"k":"..."} is 8 bytes of syntax around the text.
    assert json_size({"k": "x" * 2040}) == MAX_FILTERABLE_METADATA_BYTES
    encode_metadata({"k": "x" * 2040}, ())
    with pytest.raises(ValidationError, match="filterable") as info:
        encode_metadata({"k": "x" * 2041}, ())
    assert info.value.limit and "2048" in info.value.limit


def test_total_limit_is_40960_bytes_and_non_filterable_text_counts_there_only() -> None:
    # {"content":"..."} is 14 bytes of syntax.
    text = "x" * (MAX_METADATA_BYTES - 14)
    clean, document = encode_metadata({"content": text}, {"content"})
    assert len(document.encode()) == MAX_METADATA_BYTES and clean == {"content": text}
    with pytest.raises(ValidationError, match="in total"):
        encode_metadata({"content": text + "x"}, {"content"})
    with pytest.raises(ValidationError, match="filterable"):
        encode_metadata({"content": "x" * 2100}, ())


def test_the_returned_json_is_what_was_measured() -> None:
    clean, document = encode_metadata(
        {"é": "ü", "n": np.int64(3), "f": np.float32(0.5), "t": ("a", np.bool_(True))}, ()
    )
    assert clean == {"é": "ü", "n": 3, "f": 0.5, "t": ["a", True]}
    assert type(clean["n"]) is int and type(clean["t"][1]) is bool  # type: ignore[index]
    assert document == '{"é":"ü","n":3,"f":0.5,"t":["a",true]}'


SCALARS = st.one_of(
    st.text(max_size=40), st.integers(-(2**53), 2**53), st.booleans(), st.floats(allow_nan=False, allow_infinity=False)
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=5))
KEYS = st.text(st.characters(codec="utf-8", exclude_characters="$"), min_size=1, max_size=8)


@settings(max_examples=300, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    metadata=st.dictionaries(KEYS, VALUES, max_size=12),
    non_filterable=st.sets(KEYS, max_size=4),
    filler=st.integers(0, 2100),
)
def test_filterable_bytes_are_the_json_size_of_the_filterable_part(
    metadata: dict[str, Any], non_filterable: set[str], filler: int
) -> None:
    """Accepted exactly when the filterable part is <= 2 KB and the whole <= 40 KB."""
    metadata = {**metadata, "pad": "p" * filler}
    nf = non_filterable | set(list(metadata)[: len(non_filterable)])
    expected_ok = filterable_metadata_bytes(metadata, nf) <= MAX_FILTERABLE_METADATA_BYTES and (
        json_size(metadata) <= MAX_METADATA_BYTES
    )
    try:
        encode_metadata(metadata, nf)
    except ValidationError:
        assert not expected_ok
    else:
        assert expected_ok
