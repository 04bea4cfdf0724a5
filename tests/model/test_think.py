"""Stripping ``<think>`` reasoning blocks, whole and incrementally while streaming."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.model.think import ThinkFilter, strip_think


@pytest.mark.parametrize(
    ("raw", "visible"),
    [
        ("Plain words.", "Plain words."),
        ("<think>weigh the offer</think>\n\nDeal.", "Deal."),
        ("Before <THINK>aside</Think> after", "Before  after"),
        ("<think>a</think>one <think>b</think>two", "one two"),
        ("<think>cut off while still reasoning", ""),
        ("Said this. <think>then ran out of tokens", "Said this."),
        ("reasoning whose opening tag was in the prompt</think>Hello.", "Hello."),
        ("a < b and <thin ice>", "a < b and <thin ice>"),
        (None, ""),
        ("", ""),
    ],
)
def test_strip_think(raw, visible):
    assert strip_think(raw) == visible


def feed_in_pieces(text: str, cuts: list[int]) -> list[str]:
    think = ThinkFilter()
    bounds = sorted({0, len(text), *(cut % (len(text) + 1) for cut in cuts)})
    out = [think.feed(text[start:end]) for start, end in zip(bounds, bounds[1:], strict=False)]
    out.append(think.flush())
    return [piece for piece in out if piece]


# Fragments that can form tags or near-tags when joined, but never an orphan ``</think>``.
FRAGMENT = st.sampled_from(["a", " ", "\n", "<", "<t", "<THI", "<thi", "</thin", "think", ">", "x>"])
SEGMENT = st.lists(FRAGMENT, max_size=6).map("".join)


@given(
    blocks=st.lists(st.tuples(SEGMENT, SEGMENT), max_size=4),
    tail=SEGMENT,
    unterminated=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
)
def test_streaming_filter_agrees_with_strip_think_for_any_chunking(blocks, tail, unterminated, cuts):
    text = "".join(f"{shown}<think>{hidden}</think>" for shown, hidden in blocks) + tail
    if unterminated:
        text += "<think>still thinking"
    streamed = "".join(feed_in_pieces(text, cuts))
    assert streamed.rstrip() == strip_think(text)


def test_tag_split_over_many_chunks_is_held_back_not_shown():
    think = ThinkFilter()
    shown = [think.feed(piece) for piece in ["Hi ", "<", "th", "ink", ">secret", "</", "think>", " there"]]
    assert shown == ["Hi ", "", "", "", "", "", "", " there"]
    assert think.flush() == ""


def test_partial_tag_at_the_end_is_real_text():
    think = ThinkFilter()
    assert think.feed("I <thi") == "I "
    assert think.flush() == "<thi"


def test_orphan_closing_tag_is_dropped_while_streaming():
    think = ThinkFilter()
    assert think.feed("one</think>two") == "onetwo"


def test_leading_whitespace_after_reasoning_is_dropped():
    think = ThinkFilter()
    assert think.feed("<think>x</think>\n\n") == ""
    assert think.inside_think is False
    assert think.feed("  Hello\n") == "Hello\n"
