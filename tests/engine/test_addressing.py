"""Name matching for addressing: word boundaries, aliases, CJK, longest match."""

from __future__ import annotations

import pytest

from bot.core.addressing import find_mentions, is_question

NAMES = {"tom": ["Tom"], "old-tom": ["Old Tom"], "mira": ["Mira", "Miri"], "lin": ["林晚", "阿晚"]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mira, come here", ["mira"]),
        ("tomorrow we sail", []),
        ("Old Tom knows", ["old-tom"]),
        ("Tom and Old Tom", ["tom", "old-tom"]),
        ("ask miri", ["mira"]),
        ("阿晚你去哪儿", ["lin"]),
        ("我问林晚和Mira", ["lin", "mira"]),
        ("Mira's boat", ["mira"]),
        ("nobody here", []),
    ],
)
def test_mentions(text, expected):
    assert [m.character_id for m in find_mentions(text, NAMES)] == expected


@pytest.mark.parametrize(("text", "asked"), [("Where?", True), ("你去哪儿？", True), ("I see.", False)])
def test_questions(text, asked):
    assert is_question(text) is asked


TITLED = {"vell": ["Captain Ysolde Vell", "Vell", "the captain"], "tom": ["Old Tom"]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Captain, which bank did I keep the ledgers for?", ["vell"]),
        ("*shivers* Captain! The chain is down.", ["vell"]),
        ("Is the chain up yet, captain?", ["vell"]),
        ("I asked the captain already.", ["vell"]),  # the alias as written
        ("Old Tom, the ship's captain drowned, didn't he?", ["tom"]),  # a title in the story, not an address
        ("A captain came by earlier, asking for you.", []),  # the bare word, not an address
    ],
)
def test_a_title_alias_names_its_character_when_used_as_an_address(text, expected):
    assert [m.character_id for m in find_mentions(text, TITLED)] == expected
