"""The filter language: the parser's trees and errors, and the reference evaluator ``matches``."""

from __future__ import annotations

from typing import Any

import pytest

from strands_vector_memory.core import (
    And,
    Compare,
    FilterError,
    Or,
    ValidationError,
    conjoin,
    filter_keys,
    matches,
    parse_filter,
)

# --------------------------------------------------------------------------- parser: trees


def test_no_filter_is_none() -> None:
    assert parse_filter(None) is None
    assert parse_filter({}) is None


def test_bare_value_is_an_implicit_eq() -> None:
    assert parse_filter({"a": 1}) == Compare("a", "$eq", 1)
    assert parse_filter({"a": "x"}) == Compare("a", "$eq", "x")
    assert parse_filter({"a": False}) == Compare("a", "$eq", False)
    assert parse_filter({"a": {"$eq": 1}}) == parse_filter({"a": 1})


def test_several_keys_are_an_implicit_and() -> None:
    assert parse_filter({"a": 1, "b": {"$ne": "x"}}) == And((Compare("a", "$eq", 1), Compare("b", "$ne", "x")))


def test_several_operators_on_one_key_are_an_implicit_and() -> None:
    assert parse_filter({"n": {"$gte": 1, "$lt": 5}}) == And((Compare("n", "$gte", 1), Compare("n", "$lt", 5)))


def test_logical_operators_build_and_or_nodes() -> None:
    tree = parse_filter({"$or": [{"a": 1}, {"$and": [{"b": {"$in": ["x", 2]}}, {"c": {"$exists": False}}]}]})
    assert tree == Or(
        (
            Compare("a", "$eq", 1),
            And((Compare("b", "$in", ("x", 2)), Compare("c", "$exists", False))),
        )
    )
    assert parse_filter({"$and": [{"a": 1}]}) == And((Compare("a", "$eq", 1),))


def test_logical_and_field_keys_mix_in_one_object() -> None:
    tree = parse_filter({"a": 1, "$or": [{"b": 2}, {"c": 3}]})
    assert tree == And((Compare("a", "$eq", 1), Or((Compare("b", "$eq", 2), Compare("c", "$eq", 3)))))


def test_in_and_nin_values_become_tuples() -> None:
    assert parse_filter({"a": {"$nin": [1, "1", True]}}) == Compare("a", "$nin", (1, "1", True))
    assert parse_filter({"a": {"$in": (2.5,)}}) == Compare("a", "$in", (2.5,))


def test_the_tree_is_hashable_and_immutable() -> None:
    tree = parse_filter({"a": {"$in": [1, 2]}, "b": 1})
    assert hash(tree) == hash(parse_filter({"a": {"$in": [1, 2]}, "b": 1}))
    with pytest.raises(AttributeError):
        tree.children = ()  # type: ignore[misc, union-attr]


def test_filter_keys_lists_every_key_read() -> None:
    assert filter_keys(None) == set()
    assert filter_keys(parse_filter({"a": 1, "$or": [{"b": 2}, {"$and": [{"c": {"$exists": True}}, {"a": 3}]}]})) == {
        "a",
        "b",
        "c",
    }


def test_conjoin_drops_empty_documents() -> None:
    assert conjoin() is None
    assert conjoin(None, {}) is None
    assert conjoin({"a": 1}, None) == {"a": 1}
    assert conjoin({"a": 1}, {}, {"b": 2}) == {"$and": [{"a": 1}, {"b": 2}]}
    combined = conjoin({"a": 1}, {"a": 2})
    assert matches(parse_filter(combined), {"a": [1, 2]})
    assert not matches(parse_filter(combined), {"a": 1})


# --------------------------------------------------------------------------- parser: errors


def error_of(document: Any, **kwargs: Any) -> FilterError:
    with pytest.raises(FilterError) as info:
        parse_filter(document, **kwargs)
    assert isinstance(info.value, ValidationError) and isinstance(info.value, ValueError)
    return info.value


def test_errors_name_the_path_of_the_offending_part() -> None:
    error = error_of({"$and": [{"a": 1}, {"$or": [{"b": 1}, {"c": {"$bad": 1}}]}]})
    assert error.field == "filter.$and[1].$or[1].c"
    assert "'$bad'" in str(error) and "filter.$and[1].$or[1].c" in str(error)
    assert "$eq" in str(error) and "$exists" in str(error)  # it lists the operators to use instead


def test_not_does_not_exist_and_the_message_says_what_to_use() -> None:
    error = error_of({"$not": {"a": 1}})
    assert "$not" in str(error) and "$ne" in str(error) and "$nin" in str(error)
    error = error_of({"a": {"$not": {"$eq": 1}}})
    assert error.field == "filter.a"


def test_range_operators_take_numbers_only() -> None:
    for operand in ["2024-01-01", True, None, [1]]:
        error = error_of({"t": {"$gt": operand}})
        assert error.field == "filter.t.$gt"
    assert "epoch" in str(error_of({"t": {"$lt": "2024-01-01"}}))  # hints how to store dates
    for op in ("$gt", "$gte", "$lt", "$lte"):
        assert parse_filter({"t": {op: 1.5}}) == Compare("t", op, 1.5)


@pytest.mark.parametrize(
    ("document", "field", "words"),
    [
        ({"a": {"$in": []}}, "filter.a.$in", "non-empty array"),
        ({"a": {"$nin": "xyz"}}, "filter.a.$nin", "non-empty array"),
        ({"a": {"$in": 1}}, "filter.a.$in", "non-empty array"),
        ({"a": {"$exists": "true"}}, "filter.a.$exists", "true or false"),
        ({"a": {"$exists": 0}}, "filter.a.$exists", "true or false"),
        ({"$and": {"a": 1}}, "filter.$and", "non-empty array"),
        ({"$or": []}, "filter.$or", "non-empty array"),
        ({"$or": [{"a": 1}, 5]}, "filter.$or[1]", "JSON object"),
        ({"$and": [{}]}, "filter.$and[0]", "empty object"),
        ({"a": {}}, "filter.a", "empty object"),
        ({"a": [1, 2]}, "filter.a", "$in"),
        ({"a": {"$ne": [1]}}, "filter.a.$ne", "$in"),
        ({"a": None}, "filter.a", "NoneType"),
        ({"a": {"$in": [None]}}, "filter.a.$in", "NoneType"),
        ({"a": float("inf")}, "filter.a", "finite"),
        ({"a": {"$gte": float("nan")}}, "filter.a.$gte", "finite"),
        ({"a": 2**53 + 1}, "filter.a", "2**53"),
        ({"$nor": [{"a": 1}]}, "filter", "$nor"),
        ({1: "a"}, "filter", "non-string key"),
        ("a = 1", "filter", "JSON object"),
        ({"a": "\ud800"}, "filter.a", "UTF-8"),
        ({"\udfff": 1}, "filter", "UTF-8"),
    ],
)
def test_malformed_filters_are_rejected_with_a_pointed_message(document: Any, field: str, words: str) -> None:
    error = error_of(document)
    assert error.field is not None and error.field.startswith(field)
    assert words.lower() in str(error).lower()
    str(error).encode("utf-8")  # the message itself is valid text


def test_non_filterable_keys_cannot_be_filtered_anywhere_in_the_tree() -> None:
    for document in [{"content": "x"}, {"$or": [{"a": 1}, {"content": {"$exists": True}}]}, {"a": 1, "content": 1}]:
        error = error_of(document, non_filterable=["content"])
        assert "non-filterable" in str(error) and "content" in str(error)
    assert parse_filter({"content": "x"}) == Compare("content", "$eq", "x")  # filterable elsewhere


def test_largest_exact_integers_are_allowed() -> None:
    assert parse_filter({"a": 2**53}) == Compare("a", "$eq", 2**53)
    assert parse_filter({"a": {"$gt": -(2**53)}}) == Compare("a", "$gt", -(2**53))


# --------------------------------------------------------------------------- evaluator


def m(document: dict[str, Any], metadata: dict[str, Any]) -> bool:
    return matches(parse_filter(document), metadata)


def test_no_filter_matches_everything() -> None:
    assert matches(None, {}) and matches(None, {"a": 1})


def test_eq_on_a_list_field_matches_any_element() -> None:
    assert m({"tags": "a"}, {"tags": ["a", "b"]})
    assert m({"tags": "b"}, {"tags": ["a", "b"]})
    assert not m({"tags": "c"}, {"tags": ["a", "b"]})
    assert not m({"tags": "a"}, {"tags": []})
    assert m({"tags": {"$in": ["z", "b"]}}, {"tags": ["a", "b"]})
    assert not m({"tags": {"$in": ["z"]}}, {"tags": ["a", "b"]})


def test_ne_and_nin_on_a_list_field_mean_no_element_matches() -> None:
    assert not m({"tags": {"$ne": "a"}}, {"tags": ["a", "b"]})
    assert m({"tags": {"$ne": "c"}}, {"tags": ["a", "b"]})
    assert m({"tags": {"$ne": "a"}}, {"tags": []})
    assert not m({"tags": {"$nin": ["z", "b"]}}, {"tags": ["a", "b"]})
    assert m({"tags": {"$nin": ["z"]}}, {"tags": ["a", "b"]})
    assert m({"tags": {"$nin": ["z"]}}, {"tags": []})


def test_negations_match_a_missing_key_positives_do_not() -> None:
    assert m({"a": {"$ne": 1}}, {})
    assert m({"a": {"$nin": [1, 2]}}, {"b": 1})
    for document in [{"a": 1}, {"a": {"$in": [1]}}, {"a": {"$gt": 0}}, {"a": {"$lte": 0}}, {"a": {"$exists": True}}]:
        assert not m(document, {"b": 1}), document
    assert m({"a": {"$exists": False}}, {"b": 1})


def test_exists_is_about_the_key_not_the_value() -> None:
    for value in [0, False, "", [], [False], 0.0]:
        assert m({"a": {"$exists": True}}, {"a": value}), value
        assert not m({"a": {"$exists": False}}, {"a": value}), value


def test_ne_is_exactly_not_eq() -> None:
    for metadata in [{}, {"a": 1}, {"a": 2}, {"a": [1, 2]}, {"a": [2, 3]}, {"a": []}, {"a": "1"}]:
        assert m({"a": {"$ne": 1}}, metadata) is not m({"a": 1}, metadata)
        assert m({"a": {"$nin": [1, 3]}}, metadata) is not m({"a": {"$in": [1, 3]}}, metadata)


@pytest.mark.parametrize(
    ("stored", "wanted", "equal"),
    [
        (1, "1", False),
        ("1", 1, False),
        (True, 1, False),
        (1, True, False),
        (False, 0, False),
        (0, False, False),
        ("true", True, False),
        (1, 1.0, True),
        (1.0, 1, True),
        (0, -0.0, True),
        (2**53, float(2**53), True),
        (True, True, True),
        ("a", "a", True),
        ("a", "A", False),
        ("", "", True),
        (1.5, 1.5, True),
        (1.5, 1, False),
    ],
)
def test_comparison_is_type_strict_but_numbers_are_numbers(stored: Any, wanted: Any, equal: bool) -> None:
    assert m({"a": wanted}, {"a": stored}) is equal
    assert m({"a": {"$ne": wanted}}, {"a": stored}) is not equal
    assert m({"a": {"$in": [wanted]}}, {"a": stored}) is equal
    assert m({"a": wanted}, {"a": ["other", stored]}) is equal


def test_range_operators_compare_numbers_only() -> None:
    assert m({"a": {"$gt": 1}}, {"a": 2})
    assert m({"a": {"$gte": 1}}, {"a": 1.0})
    assert not m({"a": {"$gt": 1}}, {"a": 1})
    assert m({"a": {"$lt": 1}}, {"a": 0.5})
    assert m({"a": {"$lte": -1}}, {"a": -1})
    assert not m({"a": {"$gt": 0}}, {"a": "5"})
    assert not m({"a": {"$gt": 0}}, {"a": True})  # a bool is not a number
    assert not m({"a": {"$lt": 5}}, {"a": False})
    assert m({"a": {"$gt": 0}}, {"a": ["x", True, 3]})  # any numeric element
    assert not m({"a": {"$gt": 0}}, {"a": ["x", True]})


def test_range_conditions_on_a_list_may_be_met_by_different_elements() -> None:
    # {"$gt": 5, "$lt": 3} is two conditions, each satisfied by some element (as in MongoDB).
    assert m({"a": {"$gt": 5, "$lt": 3}}, {"a": [1, 10]})
    assert not m({"a": {"$gt": 5, "$lt": 3}}, {"a": 4})


def test_and_or_nesting() -> None:
    document = {"$or": [{"a": 1, "b": {"$exists": False}}, {"$and": [{"c": {"$in": ["x", "y"]}}, {"d": {"$ne": 0}}]}]}
    assert m(document, {"a": 1})
    assert not m(document, {"a": 1, "b": 2})
    assert m(document, {"a": 2, "c": "y"})
    assert not m(document, {"a": 2, "c": "y", "d": 0})
    assert m(document, {"c": ["z", "x"], "d": [1]})
    assert not m(document, {})
