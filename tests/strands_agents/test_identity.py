"""Identity: who a turn belongs to, read from invocation_state and validated strictly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strands_vector_memory import Scope, ValidationError
from strands_vector_memory.strands_agents import Identity
from strands_vector_memory.strands_agents._identity import (
    RECALL_SCOPE_DEFAULT,
    check_identifier,
    check_recall_parts,
)


def _state(**extra: Any) -> dict[str, Any]:
    return {"user_id": "alice", "conversation_id": "conv-1", **extra}


# -- required keys ------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["user_id", "conversation_id"])
def test_required_keys_are_named_in_the_error(missing: str) -> None:
    state = _state()
    del state[missing]
    with pytest.raises(ValidationError) as info:
        Identity.from_invocation_state(state)
    assert info.value.field == f"invocation_state.{missing}"
    assert repr(missing) in str(info.value)
    assert "is required" in str(info.value)


@pytest.mark.parametrize("state", [None, {}])
def test_no_state_at_all_asks_for_user_id(state: dict[str, Any] | None) -> None:
    with pytest.raises(ValidationError) as info:
        Identity.from_invocation_state(state)
    assert info.value.field == "invocation_state.user_id"


def test_explicit_none_counts_as_missing() -> None:
    with pytest.raises(ValidationError) as info:
        Identity.from_invocation_state(_state(conversation_id=None))
    assert info.value.field == "invocation_state.conversation_id"


@pytest.mark.parametrize("state", [["user_id", "alice"], "user_id=alice", 42])
def test_state_that_is_not_a_mapping_is_rejected(state: Any) -> None:
    with pytest.raises(ValidationError) as info:
        Identity.from_invocation_state(state)
    assert info.value.field == "invocation_state"


# -- identifier rules ---------------------------------------------------------------


@pytest.mark.parametrize("key", ["user_id", "conversation_id", "agent_id", "team_id", "task_id"])
@pytest.mark.parametrize("value", [7, 1.5, True, ["alice"], {"id": "alice"}, b"alice", "", "   ", "\t\n"])
def test_non_string_or_blank_ids_are_rejected(key: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        Identity.from_invocation_state(_state(**{key: value}))
    assert info.value.field == f"invocation_state.{key}"
    assert "non-empty string" in str(info.value)


@pytest.mark.parametrize("key", ["user_id", "conversation_id", "agent_id", "team_id", "task_id"])
def test_ids_longer_than_256_utf8_bytes_are_rejected(key: str) -> None:
    assert Identity.from_invocation_state(_state(**{key: "a" * 256})) is not None
    # 86 three-byte characters are 258 bytes but only 86 characters: bytes are what count.
    for too_long in ("a" * 257, "\u20ac" * 86):
        with pytest.raises(ValidationError) as info:
            Identity.from_invocation_state(_state(**{key: too_long}))
        assert info.value.field == f"invocation_state.{key}"
        assert info.value.limit == "<= 256 bytes"


@pytest.mark.parametrize("key", ["user_id", "conversation_id", "agent_id", "team_id", "task_id"])
def test_lone_surrogates_are_rejected(key: str) -> None:
    with pytest.raises(ValidationError) as info:
        Identity.from_invocation_state(_state(**{key: "ali\ud800ce"}))
    assert info.value.field == f"invocation_state.{key}"
    assert "UTF-8" in str(info.value)


def test_multibyte_ids_within_the_limit_are_kept_verbatim() -> None:
    identity = Identity.from_invocation_state(
        {"user_id": "\u00e9lodie \U0001f600", "conversation_id": "\u4f1a\u8bdd-1"}
    )
    assert identity.user_id == "\u00e9lodie \U0001f600"
    assert identity.conversation_id == "\u4f1a\u8bdd-1"


# -- tenant ------------------------------------------------------------------------


def test_tenant_comes_from_tenant_context() -> None:
    identity = Identity.from_invocation_state(_state(tenant_context={"tenantId": "acme", "other": 1}))
    assert identity.tenant_id == "acme"
    assert identity.write_scope.tenant_id == "acme"


def test_no_tenant_context_means_no_tenant() -> None:
    assert Identity.from_invocation_state(_state()).tenant_id is None


@pytest.mark.parametrize("context", ["acme", ["acme"], 3, ("tenantId", "acme")])
def test_tenant_context_must_be_a_dict(context: object) -> None:
    with pytest.raises(ValidationError) as info:
        Identity.from_invocation_state(_state(tenant_context=context))
    assert info.value.field == "invocation_state.tenant_context"
    assert "tenantId" in str(info.value)


@pytest.mark.parametrize("context", [{}, {"tenant_id": "acme"}, {"tenantId": None}])
def test_tenant_context_without_tenant_id_is_rejected(context: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        Identity.from_invocation_state(_state(tenant_context=context))
    assert info.value.field == "tenant_context.tenantId"
    # The message must point at where the key belongs, not at invocation_state.
    assert "tenant_context['tenantId']" in str(info.value)


@pytest.mark.parametrize("tenant", ["", "  ", 12, "t" * 257, "x\udc80"])
def test_invalid_tenant_ids_are_rejected(tenant: object) -> None:
    with pytest.raises(ValidationError) as info:
        Identity.from_invocation_state(_state(tenant_context={"tenantId": tenant}))
    assert info.value.field == "tenant_context.tenantId"


# -- defaults ----------------------------------------------------------------------


def test_agent_name_is_the_fallback_agent_id() -> None:
    assert Identity.from_invocation_state(_state(), agent_name="planner").agent_id == "planner"
    explicit = Identity.from_invocation_state(_state(agent_id="critic"), agent_name="planner")
    assert explicit.agent_id == "critic"


@pytest.mark.parametrize("agent_name", [None, "", "   "])
def test_blank_agent_name_leaves_agent_id_unset(agent_name: str | None) -> None:
    assert Identity.from_invocation_state(_state(), agent_name=agent_name).agent_id is None


def test_team_id_default_applies_only_when_state_names_none() -> None:
    assert Identity.from_invocation_state(_state(), team_id="red").team_id == "red"
    assert Identity.from_invocation_state(_state(team_id="blue"), team_id="red").team_id == "blue"
    assert Identity.from_invocation_state(_state()).team_id is None


def test_check_identifier_validates_options() -> None:
    assert check_identifier(None, "team_id") is None
    assert check_identifier("red", "team_id") == "red"
    with pytest.raises(ValidationError) as info:
        check_identifier("  ", "team_id")
    assert info.value.field == "option.team_id"
    with pytest.raises(ValidationError):
        check_identifier("r" * 257, "team_id")


# -- scopes ------------------------------------------------------------------------


def _full() -> Identity:
    return Identity.from_invocation_state(
        _state(tenant_context={"tenantId": "acme"}, agent_id="planner", team_id="red", task_id="t-9")
    )


def test_write_scope_carries_every_part() -> None:
    assert _full().write_scope == Scope(
        tenant_id="acme",
        user_id="alice",
        conversation_id="conv-1",
        agent_id="planner",
        team_id="red",
        task_id="t-9",
    )


def test_write_scope_leaves_unknown_parts_unset() -> None:
    scope = Identity.from_invocation_state(_state()).write_scope
    assert scope == Scope(user_id="alice", conversation_id="conv-1")
    assert scope.items() == {"user_id": "alice", "conversation_id": "conv-1"}


def test_default_recall_scope_is_tenant_user_and_team() -> None:
    assert RECALL_SCOPE_DEFAULT == ("tenant_id", "user_id", "team_id")
    assert _full().recall_scope() == Scope(tenant_id="acme", user_id="alice", team_id="red")


@pytest.mark.parametrize("parts", [(), ("team_id",), ("agent_id",), ("conversation_id", "task_id")])
def test_recall_scope_always_includes_tenant_and_user(parts: tuple[str, ...]) -> None:
    scope = _full().recall_scope(parts)
    assert scope.tenant_id == "acme"
    assert scope.user_id == "alice"
    for name in ("agent_id", "team_id", "conversation_id", "task_id"):
        expected = getattr(_full(), name) if name in parts else None
        assert getattr(scope, name) == expected, name


def test_recall_scope_skips_parts_that_are_not_set() -> None:
    identity = Identity.from_invocation_state(_state())
    assert identity.recall_scope(("team_id", "agent_id")) == Scope(user_id="alice")


# -- conversation key --------------------------------------------------------------


def test_conversation_key_is_stable_and_separates_users_and_tenants() -> None:
    alice = Identity.from_invocation_state(_state())
    assert alice.conversation_key == Identity.from_invocation_state(_state()).conversation_key
    assert len(alice.conversation_key) == 32
    keys = {
        alice.conversation_key,
        Identity.from_invocation_state(_state(user_id="bob")).conversation_key,
        Identity.from_invocation_state(_state(tenant_context={"tenantId": "acme"})).conversation_key,
        Identity.from_invocation_state(_state(tenant_context={"tenantId": "globex"})).conversation_key,
        Identity.from_invocation_state(_state(conversation_id="conv-2")).conversation_key,
    }
    assert len(keys) == 5


def test_conversation_key_ignores_agent_team_and_task() -> None:
    plain = Identity.from_invocation_state(_state())
    assert _full().conversation_key != plain.conversation_key  # the tenant differs
    same_tenant = Identity.from_invocation_state(_state(tenant_context={"tenantId": "acme"}))
    assert _full().conversation_key == same_tenant.conversation_key


def test_conversation_key_cannot_be_forged_by_shifting_separators() -> None:
    a = Identity(user_id="a:b", conversation_id="c")
    b = Identity(user_id="a", conversation_id="b:c")
    assert a.conversation_key != b.conversation_key


# -- JSON --------------------------------------------------------------------------


def test_to_json_round_trips_every_field() -> None:
    identity = _full()
    text = identity.to_json()
    assert json.loads(text) == {
        "user_id": "alice",
        "conversation_id": "conv-1",
        "tenant_id": "acme",
        "agent_id": "planner",
        "team_id": "red",
        "task_id": "t-9",
    }
    assert Identity.from_json(text) == identity
    minimal = Identity.from_invocation_state(_state())
    assert Identity.from_json(minimal.to_json()) == minimal


_ID_TEXT = st.text(
    alphabet=st.characters(codec="utf-8"),
    min_size=1,
    max_size=64,
).filter(lambda s: bool(s.strip()))
_OPTIONAL_ID = st.none() | _ID_TEXT


@settings(max_examples=150, deadline=None)
@given(
    user=_ID_TEXT,
    conversation=_ID_TEXT,
    tenant=_OPTIONAL_ID,
    agent=_OPTIONAL_ID,
    team=_OPTIONAL_ID,
    task=_OPTIONAL_ID,
)
def test_valid_ids_survive_validation_and_json_round_trip(
    user: str, conversation: str, tenant: str | None, agent: str | None, team: str | None, task: str | None
) -> None:
    state: dict[str, Any] = {"user_id": user, "conversation_id": conversation}
    if tenant is not None:
        state["tenant_context"] = {"tenantId": tenant}
    for key, value in (("agent_id", agent), ("team_id", team), ("task_id", task)):
        if value is not None:
            state[key] = value
    identity = Identity.from_invocation_state(state)
    assert (identity.user_id, identity.conversation_id, identity.tenant_id) == (user, conversation, tenant)
    assert (identity.agent_id, identity.team_id, identity.task_id) == (agent, team, task)
    restored = Identity.from_json(identity.to_json())
    assert restored == identity
    assert restored.conversation_key == identity.conversation_key
    assert restored.write_scope == identity.write_scope


# -- recall_scope option -----------------------------------------------------------


def test_check_recall_parts_accepts_identity_parts() -> None:
    assert check_recall_parts(["tenant_id", "agent_id"]) == ("tenant_id", "agent_id")
    assert check_recall_parts(()) == ()


@pytest.mark.parametrize(
    ("parts", "unknown"),
    [(["user_id", "session_id"], "session_id"), (["everyone"], "everyone"), (["User_Id"], "User_Id")],
)
def test_check_recall_parts_rejects_unknown_parts(parts: list[str], unknown: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_recall_parts(parts)
    assert info.value.field == "recall_scope"
    assert f"unknown parts [{unknown!r}]" in str(info.value)


@pytest.mark.parametrize("parts", ["user_id", None, 3, {"user_id"}])
def test_check_recall_parts_wants_a_list(parts: Any) -> None:
    with pytest.raises(ValidationError) as info:
        check_recall_parts(parts)
    assert info.value.field == "recall_scope"
