"""Tests for TokenCounter: exact, untruncated counts with the bundled tokenizer.

The context packer relies on two properties tested here: counts add up across
lines (so parts can be counted once each), and a truncated text keeps exactly the
requested number of tokens.
"""

from __future__ import annotations

import importlib.resources
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strands_vector_memory.embedders import TokenCounter
from strands_vector_memory.embedders._tokens import TokenCounter as PrivateTokenCounter

# Text with the things that stress a WordPiece tokenizer: accents and combining
# marks (stripped), CJK (split per character), punctuation, emoji, long words
# (over 100 characters become one [UNK]), literal special tokens and control
# characters (removed by the normaliser).
TRICKY = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
        st.sampled_from(["a", "e", "\u0301", "東", "🚀", "…", " ", "\n", "\t", '"', "\\", "<", ">", "/"]),
    ),
    max_size=60,
) | st.sampled_from(["[CLS]", "[SEP] x", "x" * 150, "unaffable", "naïve résumé", "\x00\x1b[31m"])


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter()


def test_is_exported_from_the_embedders_package() -> None:
    assert TokenCounter is PrivateTokenCounter


def test_counts_words_without_special_tokens(counter: TokenCounter) -> None:
    assert counter.count("") == 0
    assert counter.count("hello world") == 2
    assert counter.count("   \n\t ") == 0


def test_long_texts_are_not_truncated(counter: TokenCounter) -> None:
    # The embedder truncates at 256 tokens; a counter must not.
    assert counter.count("word " * 1000) == 1000


def test_count_many_matches_count_in_order(counter: TokenCounter) -> None:
    texts = ["", "hello world", "word " * 300, "東京は日本の首都です。", "🚀 launch at 10:00 UTC"]
    assert counter.count_many(texts) == [counter.count(t) for t in texts]
    assert counter.count_many([]) == []
    assert counter.count_many(tuple(texts)) == counter.count_many(texts)


def test_rejects_non_strings(counter: TokenCounter) -> None:
    with pytest.raises(TypeError):
        counter.count(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="single string"):
        counter.count_many("not a list")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        counter.count_many(["ok", 3])  # type: ignore[list-item]


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(TRICKY, max_size=6))
def test_counts_add_up_across_lines(counter: TokenCounter, parts: list[str]) -> None:
    # The packer counts each entry once and sums; that is exact only if this holds.
    assert counter.count("\n".join(parts)) == sum(counter.count_many(parts))


@settings(max_examples=300, deadline=None)
@given(text=TRICKY, max_tokens=st.integers(min_value=0, max_value=30))
def test_truncate_keeps_a_verbatim_prefix_of_exactly_n_tokens(
    counter: TokenCounter, text: str, max_tokens: int
) -> None:
    kept, cut = counter.truncate(text, max_tokens)
    assert text.startswith(kept)
    total = counter.count(text)
    if total <= max_tokens:
        assert (kept, cut) == (text, False)
    else:
        assert cut
        assert counter.count(kept) == max_tokens


def test_truncate_cuts_at_a_token_boundary_in_the_original_text(counter: TokenCounter) -> None:
    # Offsets point into the original, so accents and case survive the cut.
    assert counter.truncate("Naïve Résumé Über alles", 2) == ("Naïve Résumé", True)
    assert counter.truncate("🚀 東京 rocks", 2) == ("🚀 東", True)
    assert counter.truncate("unaffable", 1) == ("una", True)
    assert counter.truncate("short", 5) == ("short", False)
    assert counter.truncate("anything", 0) == ("", True)
    assert counter.truncate("", 0) == ("", False)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_truncate_rejects_bad_limits(counter: TokenCounter, bad: object) -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        counter.truncate("text", bad)  # type: ignore[arg-type]


def test_loads_a_tokenizer_from_a_file_or_a_directory(tmp_path: Path, counter: TokenCounter) -> None:
    bundled = importlib.resources.files("strands_vector_memory.embedders") / "_model" / "tokenizer.json"
    (tmp_path / "tokenizer.json").write_text(bundled.read_text(encoding="utf-8"), encoding="utf-8")
    text = "word " * 400  # the file enables truncation at 256; the counter must undo that
    assert TokenCounter(tmp_path).count(text) == 400
    assert TokenCounter(tmp_path / "tokenizer.json").count(text) == counter.count(text)
    assert str(tmp_path) in repr(TokenCounter(str(tmp_path)))


def test_a_missing_tokenizer_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="tokenizer"):
        TokenCounter(tmp_path)
    with pytest.raises(FileNotFoundError):
        TokenCounter(tmp_path / "nope.json")


def test_construction_is_lazy_and_loading_happens_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = TokenCounter()
    assert "package:" in counter.source
    loads: list[int] = []
    original = TokenCounter._load

    def counting_load(self: TokenCounter) -> object:
        loads.append(1)
        return original(self)

    monkeypatch.setattr(TokenCounter, "_load", counting_load)
    barrier = threading.Barrier(8)
    results: list[int] = []

    def work() -> None:
        barrier.wait()
        results.append(counter.count("the same text in every thread"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == [1]
    assert results == [results[0]] * 8
