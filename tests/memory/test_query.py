"""What a recall query says beyond its words: explicit dates and the names it mentions."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strands_vector_memory.memory._query import mentioned, time_windows


def month(year: int, number: int) -> tuple[float, float]:
    start = dt.datetime(year, number, 1, tzinfo=dt.timezone.utc)
    end = dt.datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=dt.timezone.utc)
    return start.timestamp(), end.timestamp()


def year(number: int) -> tuple[float, float]:
    start = dt.datetime(number, 1, 1, tzinfo=dt.timezone.utc)
    return start.timestamp(), dt.datetime(number + 1, 1, 1, tzinfo=dt.timezone.utc).timestamp()


# --------------------------------------------------------------------------- time_windows


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("what happened in July 2023?", [month(2023, 7)]),
        ("on 8 May, 2023 we met", [month(2023, 5)]),
        ("May 8, 2023", [month(2023, 5)]),
        ("May 8 2023", [month(2023, 5)]),
        ("May 8th, 2023", [month(2023, 5)]),
        ("Sept 2022", [month(2022, 9)]),
        ("Sept. 2022", [month(2022, 9)]),
        ("sep 2022", [month(2022, 9)]),
        ("the 3rd of June 2021", [month(2021, 6)]),
        ("8th of May, 2023", [month(2023, 5)]),
        ("DECEMBER 1999", [month(1999, 12)]),
        ("dec 2099", [month(2099, 12)]),
        ("what did I buy in 2022?", [year(2022)]),
        ("since 2021", [year(2021)]),
        ("the year 2020", [year(2020)]),
    ],
)
def test_explicit_dates_name_their_month_or_year(query: str, expected: list[tuple[float, float]]) -> None:
    assert time_windows(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        "May I ask?",
        "2023",
        "the 2023 report",
        "order 4471",
        "in 1850",  # outside 1900-2099
        "May 12",
        "Mayday 2023",
        "",
        "last week",
    ],
)
def test_text_without_an_explicit_date_names_no_window(query: str) -> None:
    assert time_windows(query) == []


def test_a_day_and_month_are_counted_once_though_both_patterns_match() -> None:
    # "8 May 2023" matches day-first; its "May 2023" also matches month-first.
    assert time_windows("8 May 2023") == [month(2023, 5)]
    assert time_windows("the 3rd of June 2021 and June 2021") == [month(2021, 6)]


def test_several_months_give_several_windows() -> None:
    windows = time_windows("between March 2022 and 4 July 2023, not March 2022 again")
    assert sorted(windows) == [month(2022, 3), month(2023, 7)]


def test_a_month_window_wins_over_a_bare_year() -> None:
    assert time_windows("in 2022, or rather in May 2023") == [month(2023, 5)]


def test_several_bare_years_give_several_windows() -> None:
    assert time_windows("in 2021 and again in 2022") == [year(2021), year(2022)]


def test_a_comma_after_the_month_still_names_it() -> None:
    assert time_windows("May, 2023") == [month(2023, 5)]


@pytest.mark.parametrize("query", ["\u017fept 2022", "apr\u0131l 2022", "Apr\u0130l 2022", "8 Augu\u017ft 2021"])
def test_unicode_case_variants_of_a_month_never_raise(query: str) -> None:
    # Month names are matched as ASCII: a look-alike spelling names no month (and never raises).
    assert time_windows(query) == []


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_time_windows_never_raises_and_every_window_is_non_empty(query: str) -> None:
    for start, end in time_windows(query):
        assert start < end


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["in", "of", "the", "May", "Sept.", "june", "8th", "3rd", ",", "2023", "1999", "12"]),
            st.integers(1, 31).map(str),
            st.integers(1890, 2110).map(str),
        ),
        max_size=12,
    ).map(" ".join)
)
def test_date_like_text_never_raises_and_every_window_is_a_month_or_a_year(query: str) -> None:
    for start, end in time_windows(query):
        first = dt.datetime.fromtimestamp(start, tz=dt.timezone.utc)
        assert (first.day, first.hour, first.minute) == (1, 0, 0)
        assert (start, end) in (month(first.year, first.month), year(first.year))


@settings(max_examples=300, deadline=None)
@given(
    day=st.integers(1, 31),
    number=st.integers(1, 12),
    when=st.integers(1900, 2099),
    form=st.sampled_from(["{d} {m} {y}", "{d}th of {m}, {y}", "{m} {d}, {y}", "{m} {y}", "in {m} {y}"]),
    name=st.sampled_from(["full", "abbr", "upper"]),
)
def test_a_generated_date_names_its_month(day: int, number: int, when: int, form: str, name: str) -> None:
    month_name = calendar.month_name[number] if name != "abbr" else calendar.month_abbr[number]
    month_name = month_name.upper() if name == "upper" else month_name
    query = "what happened " + form.format(d=day, m=month_name, y=when) + "?"
    assert time_windows(query) == [month(when, number)]


# --------------------------------------------------------------------------- mentioned


def test_names_are_found_as_whole_words_only() -> None:
    assert mentioned("what did Alice say?", ["Al", "Alice"]) == {"Alice"}
    assert mentioned("Bobby went home", ["Bob"]) == set()


def test_a_possessive_still_names_the_person() -> None:
    assert mentioned("what is Caroline's job?", ["Caroline"]) == {"Caroline"}


def test_matching_ignores_case_and_returns_the_name_as_given() -> None:
    assert mentioned("did MELANIE paint?", ["Melanie"]) == {"Melanie"}
    assert mentioned("did melanie paint?", ["MeLaNiE"]) == {"MeLaNiE"}


def test_names_shorter_than_two_characters_are_ignored() -> None:
    assert mentioned("A said hi to B", ["A", "B", " ", ""]) == set()
    assert mentioned("Jo said hi", ["Jo"]) == {"Jo"}


def test_names_with_spaces_and_punctuation_match_literally() -> None:
    assert mentioned("ask Mary Ann about it", ["Mary Ann", "Ann"]) == {"Mary Ann", "Ann"}
    assert mentioned("ask Dr. Who (c++) now", ["Dr. Who", "c++", "Who?"]) == {"Dr. Who", "c++"}


def test_names_surrounded_by_whitespace_are_matched_by_their_text() -> None:
    assert mentioned("where is Nate?", ["  Nate "]) == {"  Nate "}


def test_nothing_is_mentioned_when_no_names_are_given() -> None:
    assert mentioned("Alice and Bob", []) == set()


@settings(max_examples=200, deadline=None)
@given(query=st.text(), names=st.lists(st.text(), max_size=5))
def test_mentioned_never_raises_and_returns_a_subset_of_the_names(query: str, names: list[str]) -> None:
    assert mentioned(query, names) <= set(names)


@settings(max_examples=200, deadline=None)
@given(
    name=st.text(alphabet=st.characters(categories=["Ll", "Lu"]), min_size=2, max_size=12),
    before=st.sampled_from(["", "ask ", "(", "did "]),
    after=st.sampled_from(["", "?", "'s job", " said", "."]),
)
def test_a_name_standing_alone_is_always_found(name: str, before: str, after: str) -> None:
    assert mentioned(before + name + after, [name]) == {name}
