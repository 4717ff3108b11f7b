"""Tenant ids to keys: stable, collision-free, always a valid index name and tag value."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strands_vector_memory.core import ValidationError
from strands_vector_memory.core._limits import validate_index_name
from strands_vector_memory.tenancy import index_for_tenant, tenant_key, validate_tenant_key

# What an STS session tag value may hold (and more than our keys ever use).
_TAG_VALUE = re.compile(r"[\w.:/=+\-@ ]{0,256}")

ids = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80).filter(
    lambda s: s.strip() != ""
)


@pytest.mark.parametrize("tenant", ["acme", "tenant-001", "a1", "x" * 56, "0"])
def test_ids_that_are_valid_keys_are_their_own_key(tenant: str) -> None:
    assert tenant_key(tenant) == tenant
    assert index_for_tenant(tenant) == f"memory-{tenant}"


@pytest.mark.parametrize(
    "tenant", ["Acme", "acme corp", "acme.com", "-acme", "acme-", "x" * 57, "日本", "tenant_001", "a--b" + "é"]
)
def test_other_ids_map_to_a_dotted_key(tenant: str) -> None:
    key = tenant_key(tenant)
    assert "." in key and re.fullmatch(r"[a-z0-9-]+\.[0-9a-f]{16}", key), key
    assert validate_index_name(f"memory-{key}")
    assert tenant_key(tenant) == key  # stable


def test_a_string_shaped_like_a_mapped_key_is_still_hashed() -> None:
    """Else a tenant choosing its own id could pick another tenant's mapped key."""
    victim = tenant_key("Acme Corp")
    assert tenant_key(victim) != victim


def test_case_matters() -> None:
    assert len({tenant_key("acme"), tenant_key("Acme"), tenant_key("ACME")}) == 3


@pytest.mark.parametrize("bad", ["", "   ", None, 7, "a\x00b", "line\nbreak", "x" * 257, "\ud800"])
def test_invalid_ids_are_refused_with_a_clear_error(bad: object) -> None:
    with pytest.raises(ValidationError) as raised:
        tenant_key(bad)  # type: ignore[arg-type]
    assert raised.value.field == "tenant_id"


@given(ids)
def test_every_key_is_an_index_suffix_and_a_tag_value(tenant: str) -> None:
    key = tenant_key(tenant)
    assert validate_index_name(f"memory-{key}") == f"memory-{key}"
    assert validate_tenant_key(key) == key
    assert _TAG_VALUE.fullmatch(key)


@given(st.lists(ids, min_size=2, max_size=30, unique=True))
def test_different_ids_never_share_a_key(tenants: list[str]) -> None:
    keys = [tenant_key(t) for t in tenants]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("bad", ["Memory-acme", "acme..x", "acme.0123", "-a", "a" * 57, "acme.0123456789ABCDEF"])
def test_validate_tenant_key_refuses_what_tenant_key_never_makes(bad: str) -> None:
    with pytest.raises(ValidationError, match="tenant_key"):
        validate_tenant_key(bad)


@pytest.mark.parametrize("prefix", ["Memory-", "-m", "memory-tenant-", ""])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValidationError):
        index_for_tenant("acme", prefix)
