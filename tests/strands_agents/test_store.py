"""VectorMemoryStore against the real SDK: a real Agent, MemoryManager and store; only the LLM is scripted."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from strands import Agent
from strands.memory import (
    AddMessagesContext,
    ExtractionConfig,
    InvocationTrigger,
    MemoryManager,
    MemoryStore,
    SearchOptions,
)
from strands.memory.types import _has_method

from strands_vector_memory import Scope, ValidationError, VectorMemory
from strands_vector_memory.memory._inputs import MAX_CONTENT_BYTES
from strands_vector_memory.memory._policy import Dedup
from strands_vector_memory.strands_agents._scripted import ScriptedModel, ToolCall
from strands_vector_memory.strands_agents._store import VectorMemoryStore


def _all(memory: VectorMemory, user_id: str) -> list[Any]:
    return list(memory.list(user_id=user_id, limit=1000).memories)


def _agent(model: ScriptedModel, store: VectorMemoryStore, **manager: Any) -> Agent:
    return Agent(
        model=model,
        callback_handler=None,
        retry_strategy=None,
        memory_manager=MemoryManager(stores=[store], **manager),
    )


def _msg(role: str, *blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": role, "content": list(blocks)}


def _text(role: str, text: str) -> dict[str, Any]:
    return _msg(role, {"text": text})


# -- construction -------------------------------------------------------------------


def test_store_satisfies_the_sdk_protocol_with_every_optional_method(memory: VectorMemory) -> None:
    store: MemoryStore = VectorMemoryStore(memory, user_id="alice")
    for method in ("search", "add", "add_messages", "initialize", "get_tools"):
        assert _has_method(store, method), method
    assert store.get_tools() == []
    assert store.name == "vector-memory"
    assert store.description
    assert store.max_search_results == 5
    assert store.writable is True
    assert store.extraction is None


def test_empty_scope_is_refused(memory: VectorMemory) -> None:
    with pytest.raises(ValidationError, match="so the store cannot read other users' memories") as caught:
        VectorMemoryStore(memory)
    assert caught.value.field == "scope"
    with pytest.raises(ValidationError, match="user_id="):
        VectorMemoryStore(memory, scope=Scope())


def test_user_id_is_merged_into_scope(memory: VectorMemory) -> None:
    store = VectorMemoryStore(memory, scope=Scope(tenant_id="acme"), user_id="alice")
    assert store.scope == Scope(tenant_id="acme", user_id="alice")
    assert VectorMemoryStore(memory, scope=Scope(team_id="red")).scope == Scope(team_id="red")


@pytest.mark.parametrize("bad", [0, 101, -1, True, 2.5, "5", None])
def test_bad_max_search_results_is_refused(memory: VectorMemory, bad: Any) -> None:
    with pytest.raises(ValidationError, match="max_search_results") as caught:
        VectorMemoryStore(memory, user_id="alice", max_search_results=bad)
    assert caught.value.field == "max_search_results"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"min_score": float("nan")}, "min_score"),
        ({"min_score": "high"}, "min_score"),
        ({"writable": False, "extraction": True}, "extraction"),
    ],
)
def test_other_bad_arguments_are_refused(memory: VectorMemory, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        VectorMemoryStore(memory, user_id="alice", **kwargs)
    assert caught.value.field == field


def test_read_only_store_refuses_writes(memory: VectorMemory) -> None:
    store = VectorMemoryStore(memory, user_id="alice", writable=False)
    with pytest.raises(ValidationError, match="read-only"):
        asyncio.run(store.add("Alice likes tea"))
    with pytest.raises(ValidationError, match="read-only"):
        asyncio.run(store.add_messages([_text("user", "hi")]))
    assert _all(memory, "alice") == []


# -- search --------------------------------------------------------------------------


def test_search_returns_only_the_scopes_memories(memory: VectorMemory) -> None:
    memory.remember("Alice's favourite colour is teal", user_id="alice", memory_type="semantic")
    memory.remember("Bob's favourite colour is crimson", user_id="bob", memory_type="semantic")
    store = VectorMemoryStore(memory, user_id="alice")

    entries = asyncio.run(store.search("favourite colour"))

    assert [e.content for e in entries] == ["Alice's favourite colour is teal"]
    meta = entries[0].metadata
    assert meta is not None
    assert meta["memory_type"] == "semantic"
    assert isinstance(meta["score"], float)
    assert meta["created_at"].startswith("2025-")  # the test clock, rendered ISO
    assert meta["key"] == memory.list(user_id="alice").memories[0].key
    assert "conversation_id" not in meta and "agent_id" not in meta
    # Bob's store sees Bob's memory, and never Alice's.
    bob = asyncio.run(VectorMemoryStore(memory, user_id="bob").search("favourite colour teal"))
    assert [e.content for e in bob] == ["Bob's favourite colour is crimson"]


def test_search_reports_conversation_and_agent_when_stored(memory: VectorMemory) -> None:
    memory.remember("Deploys happen on Tuesdays", scope=Scope(user_id="alice", conversation_id="c1", agent_id="ops"))
    entries = asyncio.run(VectorMemoryStore(memory, user_id="alice").search("when are deploys"))
    assert entries[0].metadata is not None
    assert entries[0].metadata["conversation_id"] == "c1"
    assert entries[0].metadata["agent_id"] == "ops"


def test_search_honours_max_search_results_and_clamps_it(memory: VectorMemory) -> None:
    memory.remember_many([f"Alice fact number {i} about gardening" for i in range(8)], user_id="alice")
    store = VectorMemoryStore(memory, user_id="alice", max_search_results=3)
    assert len(asyncio.run(store.search("gardening"))) == 3
    assert len(asyncio.run(store.search("gardening", SearchOptions(max_search_results=6)))) == 6
    assert len(asyncio.run(store.search("gardening", SearchOptions(max_search_results=0)))) == 1
    assert len(asyncio.run(store.search("gardening", SearchOptions(max_search_results=10_000)))) == 8


def test_search_with_empty_query_finds_nothing(memory: VectorMemory) -> None:
    memory.remember("Alice likes tea", user_id="alice")
    store = VectorMemoryStore(memory, user_id="alice")
    assert asyncio.run(store.search("")) == []
    assert asyncio.run(store.search("   \n")) == []


def test_search_min_score_drops_weak_matches(memory: VectorMemory) -> None:
    memory.remember("Alice likes tea", user_id="alice")
    assert asyncio.run(VectorMemoryStore(memory, user_id="alice", min_score=1e9).search("tea")) == []
    assert len(asyncio.run(VectorMemoryStore(memory, user_id="alice", min_score=0.0).search("tea"))) == 1


def test_search_cuts_an_oversized_query_instead_of_failing(memory: VectorMemory) -> None:
    memory.remember("Alice likes tea", user_id="alice")
    entries = asyncio.run(VectorMemoryStore(memory, user_id="alice").search("tea " * MAX_CONTENT_BYTES))
    assert [e.content for e in entries] == ["Alice likes tea"]


# -- add ------------------------------------------------------------------------------


def test_add_twice_stores_once(memory: VectorMemory) -> None:
    store = VectorMemoryStore(memory, user_id="alice")
    first = asyncio.run(store.add("Alice is allergic to peanuts"))
    second = asyncio.run(store.add("Alice is allergic to peanuts"))

    assert first == second
    stored = _all(memory, "alice")
    assert [m.key for m in stored] == [first]
    assert stored[0].metadata["memory_type"] == "semantic"
    assert stored[0].metadata["source"] == "strands-memory-manager"
    assert stored[0].metadata["user_id"] == "alice"
    assert memory.stats(user_id="alice").total == 1


def test_add_keeps_simple_metadata_and_drops_the_rest(memory: VectorMemory) -> None:
    store = VectorMemoryStore(memory, user_id="alice")
    key = asyncio.run(
        store.add(
            "Alice prefers the window seat",
            {
                "memory_type": "procedural",
                "topic": "travel",
                "rank": 2,
                "weight": 0.5,
                "pinned": True,
                "user_id": "mallory",  # reserved: must not move the memory to another user
                "source": "spoofed",
                "tags": ["a", "b"],
                "nested": {"x": 1},
                "blob": "x" * 5000,
                "$bad": "y",
            },
        )
    )
    got = memory.get(key, user_id="alice")
    assert got is not None
    meta = dict(got.metadata)
    assert meta["memory_type"] == "procedural"
    assert meta["user_id"] == "alice"
    assert meta["source"] == "strands-memory-manager"
    assert {k: meta[k] for k in ("topic", "rank", "weight", "pinned")} == {
        "topic": "travel",
        "rank": 2,
        "weight": 0.5,
        "pinned": True,
    }
    assert not {"tags", "nested", "blob", "$bad"} & meta.keys()
    assert memory.list(user_id="mallory").memories == []


def test_add_with_unknown_memory_type_falls_back_to_semantic(memory: VectorMemory) -> None:
    store = VectorMemoryStore(memory, user_id="alice")
    key = asyncio.run(store.add("Alice runs marathons", {"memory_type": "gossip"}))
    got = memory.get(key, user_id="alice")
    assert got is not None and got.metadata["memory_type"] == "semantic"


def test_add_rejects_empty_content(memory: VectorMemory) -> None:
    with pytest.raises(ValidationError):
        asyncio.run(VectorMemoryStore(memory, user_id="alice").add("   "))


# -- add_messages -------------------------------------------------------------------

CONVERSATION = [
    _text("user", "What's a good name for my new dog?"),
    _text("assistant", "How about Biscuit?"),
    _text("user", "Biscuit it is, he is a beagle."),
]


def test_add_messages_delivered_twice_stores_once(memory: VectorMemory) -> None:
    store = VectorMemoryStore(memory, user_id="alice")
    context = AddMessagesContext(sequence_numbers=[0, 1, 2])

    assert asyncio.run(store.add_messages(CONVERSATION, context)) == 3
    first = {m.key: m.content for m in _all(memory, "alice")}
    assert asyncio.run(store.add_messages(CONVERSATION, AddMessagesContext(sequence_numbers=[0, 1, 2]))) == 3

    after = {m.key: m.content for m in _all(memory, "alice")}
    assert after == first
    assert sorted(after.values()) == sorted(m["content"][0]["text"] for m in CONVERSATION)
    assert all(key.startswith("msg-") for key in after)


def test_add_messages_with_other_sequence_numbers_stores_separately(memory: VectorMemory) -> None:
    memory.policy = memory.policy.with_(dedup=Dedup(enabled=False))  # keys under test, not the duplicate check
    store = VectorMemoryStore(memory, user_id="alice")
    # The same text twice ("ok") is two turns, told apart by their sequence numbers.
    asyncio.run(store.add_messages([_text("user", "ok")], AddMessagesContext(sequence_numbers=[4])))
    asyncio.run(store.add_messages([_text("user", "ok")], AddMessagesContext(sequence_numbers=[7])))
    assert [m.content for m in _all(memory, "alice")] == ["ok", "ok"]


def test_add_messages_after_initialize_is_a_new_run(memory: VectorMemory) -> None:
    memory.policy = memory.policy.with_(dedup=Dedup(enabled=False))  # keys under test, not the duplicate check
    store = VectorMemoryStore(memory, user_id="alice")
    asyncio.run(store.add_messages([_text("user", "hello")], AddMessagesContext(sequence_numbers=[0])))
    asyncio.run(store.initialize())  # a new agent: sequence numbers restart at 0
    asyncio.run(store.add_messages([_text("user", "hello")], AddMessagesContext(sequence_numbers=[0])))
    assert len(_all(memory, "alice")) == 2


def test_two_agents_sharing_a_store_never_overwrite_each_others_turns(memory: VectorMemory) -> None:
    # Both agents' initialize() ran, so they share the latest run id, and both number from 0.
    store = VectorMemoryStore(memory, user_id="alice")
    asyncio.run(store.add_messages([_text("user", "from agent A")], AddMessagesContext(sequence_numbers=[0])))
    asyncio.run(store.add_messages([_text("user", "from agent B")], AddMessagesContext(sequence_numbers=[0])))
    assert sorted(m.content for m in _all(memory, "alice")) == ["from agent A", "from agent B"]


def test_add_messages_without_sequence_numbers_is_still_idempotent(memory: VectorMemory) -> None:
    store = VectorMemoryStore(memory, user_id="alice")
    assert asyncio.run(store.add_messages(CONVERSATION)) == 3
    assert asyncio.run(store.add_messages(CONVERSATION, AddMessagesContext())) == 3
    assert len(_all(memory, "alice")) == 3


def test_add_messages_stores_episodic_turns_with_role_and_neighbour_context(memory: VectorMemory) -> None:
    store = VectorMemoryStore(memory, scope=Scope(user_id="alice", conversation_id="c9"))
    batch = [
        _text("user", "turn one"),
        _msg("assistant", {"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {}}}),
        _msg("user", {"toolResult": {"toolUseId": "t1", "status": "success", "content": [{"text": "tool out"}]}}),
        _msg("assistant", {"text": "turn two"}, {"text": "continued"}),
        _text("user", "turn three"),
        _text("assistant", "turn four"),
        _text("user", "   "),
    ]
    written = asyncio.run(store.add_messages(batch, AddMessagesContext(sequence_numbers=[0, 1, 2, 3, 4, 5, 6])))

    assert written == 4
    stored = {m.content: dict(m.metadata) for m in _all(memory, "alice")}
    assert set(stored) == {"turn one", "turn two\ncontinued", "turn three", "turn four"}
    for meta in stored.values():
        assert meta["memory_type"] == "episodic"
        assert meta["source"] == "conversation"
        assert meta["conversation_id"] == "c9"
    assert stored["turn one"]["role"] == "user"
    assert stored["turn two\ncontinued"]["role"] == "assistant"
    # Up to two text turns either side, tool traffic skipped.
    assert stored["turn one"]["context"] == "turn two\ncontinued\nturn three"
    assert stored["turn three"]["context"] == "turn one\nturn two\ncontinued\nturn four"


def test_add_messages_cuts_oversized_turns_to_the_limits(memory: VectorMemory) -> None:
    store = VectorMemoryStore(memory, user_id="alice")
    huge = "é" * MAX_CONTENT_BYTES  # two bytes each: twice the content limit
    batch = [_text("user", huge), _text("assistant", huge), _text("user", "short")]
    assert asyncio.run(store.add_messages(batch, AddMessagesContext(sequence_numbers=[0, 1, 2]))) == 3
    by_content = {m.content: m for m in _all(memory, "alice")}
    assert memory.content_limit == 16 * 1024  # the default size guardrail, stricter than the store's limit
    cut = "é" * (memory.content_limit // 2)
    assert cut in by_content
    assert len(by_content["short"].metadata["context"].encode("utf-8")) <= 6 * 1024


def test_add_messages_refuses_misaligned_sequence_numbers(memory: VectorMemory) -> None:
    store = VectorMemoryStore(memory, user_id="alice")
    with pytest.raises(ValidationError, match="sequence_numbers"):
        asyncio.run(store.add_messages(CONVERSATION, AddMessagesContext(sequence_numbers=[0])))
    assert _all(memory, "alice") == []


def test_add_messages_with_nothing_to_store_writes_nothing(memory: VectorMemory) -> None:
    store = VectorMemoryStore(memory, user_id="alice")
    assert asyncio.run(store.add_messages([], AddMessagesContext(sequence_numbers=[]))) == 0
    assert memory.stats(user_id="alice").total == 0


# -- with a real Agent and MemoryManager --------------------------------------------


def test_initialize_creates_the_index_when_the_agent_is_built(memory: VectorMemory) -> None:
    assert memory.backend.list_indexes() == []
    store = VectorMemoryStore(memory, user_id="alice")
    run_id = store._run_id
    _agent(ScriptedModel([]), store)
    assert [info.name for info in memory.backend.list_indexes()] == [memory.layout.index_for(store.scope)]
    assert store._run_id != run_id


def test_agent_gets_the_users_memory_injected(memory: VectorMemory) -> None:
    memory.remember("Alice is vegetarian and never eats meat", user_id="alice", memory_type="semantic")
    memory.remember("Bob loves steak and eats meat daily", user_id="bob", memory_type="semantic")
    model = ScriptedModel(["Try the mushroom risotto."])
    agent = _agent(model, VectorMemoryStore(memory, user_id="alice"))

    result = agent("What should I eat for dinner tonight? Remember my diet: meat or not?")

    assert "mushroom risotto" in str(result)
    sent = model.requests[0].text()
    assert "Alice is vegetarian and never eats meat" in sent
    assert "Bob loves steak" not in sent
    # Injection touches only the model call, never the durable conversation.
    assert "vegetarian" not in json.dumps(agent.messages)


def test_search_memory_tool_called_by_the_model_returns_our_memory(memory: VectorMemory) -> None:
    memory.remember("Alice's passport expires in March 2031", user_id="alice", memory_type="semantic")
    memory.remember("Bob's passport expires in June 2027", user_id="bob", memory_type="semantic")
    model = ScriptedModel([ToolCall("search_memory", {"query": "passport expiry"}), "It expires in March 2031."])
    agent = _agent(model, VectorMemoryStore(memory, user_id="alice"), injection=False)

    agent("When does my passport expire?")

    assert "search_memory" in model.requests[0].tool_names
    assert "March 2031" not in model.requests[0].text()  # not injected: it came from the tool
    tool_result = model.requests[1].text()
    assert "Alice's passport expires in March 2031" in tool_result
    assert "vector-memory" in tool_result  # attributed to our store
    assert "June 2027" not in tool_result


def test_extraction_with_invocation_trigger_stores_the_conversation(memory: VectorMemory) -> None:
    store = VectorMemoryStore(memory, user_id="alice", extraction=ExtractionConfig(trigger=InvocationTrigger()))
    model = ScriptedModel(["Noted: your cat is called Miso."])
    agent = _agent(model, store, injection=False)

    agent("My cat is called Miso.")

    stored = {m.content: m.metadata for m in _all(memory, "alice")}
    assert set(stored) == {"My cat is called Miso.", "Noted: your cat is called Miso."}
    assert stored["My cat is called Miso."]["role"] == "user"
    assert stored["Noted: your cat is called Miso."]["role"] == "assistant"
    assert all(meta["memory_type"] == "episodic" for meta in stored.values())
    # The next turn recalls what the previous one stored.
    found = asyncio.run(store.search("what is my cat's name"))
    assert "My cat is called Miso." in [e.content for e in found]


def test_extraction_true_stores_each_turn_once_across_invocations(memory: VectorMemory) -> None:
    # extraction=True means "every 5 turns", but the sync call flushes after each turn.
    store = VectorMemoryStore(memory, user_id="alice", extraction=True)
    model = ScriptedModel(
        [ToolCall("search_memory", {"query": "sister"}), "You have not told me yet.", "Nice, Ana it is."]
    )
    agent = _agent(model, store, injection=False)

    agent("What is my sister's name?")
    assert {m.content for m in _all(memory, "alice")} == {
        "What is my sister's name?",
        "You have not told me yet.",
    }
    agent("Her name is Ana.")

    contents = sorted(m.content for m in _all(memory, "alice"))
    assert contents == sorted(
        ["What is my sister's name?", "You have not told me yet.", "Her name is Ana.", "Nice, Ana it is."]
    )
    assert memory.stats(user_id="alice").total == 4  # earlier turns were not re-stored


def test_memory_stored_by_one_agent_is_injected_into_the_next(memory: VectorMemory) -> None:
    first = _agent(ScriptedModel(["Got it."]), VectorMemoryStore(memory, user_id="alice", extraction=True))
    first("I am training for the Berlin marathon in September.")

    model = ScriptedModel(["Good luck in Berlin!"])
    second = _agent(model, VectorMemoryStore(memory, user_id="alice"))
    second("Which marathon am I training for?")

    assert "I am training for the Berlin marathon in September." in model.requests[0].text()
    # Another user's agent sees none of it.
    other_model = ScriptedModel(["I don't know."])
    _agent(other_model, VectorMemoryStore(memory, user_id="bob"))("Which marathon am I training for?")
    assert "Berlin" not in other_model.requests[0].text()
