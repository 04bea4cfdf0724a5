"""Detector patterns compiled once per cast: the cached forms behave like the per-call ones did."""

from __future__ import annotations

from bot.quality.detectors import mixed_language
from bot.quality.findings import ReplyContext
from bot.quality.text import header_regex, names_alternation


def test_name_masking_blanks_every_occurrence_of_every_part_even_overlapping():
    ctx = ReplyContext(npc_name="Jean-Luc Picard", user_names=("Luc",), other_names=("Lucienne",))
    reply = "Jean-Luc said Lucienne and Luc and Picard, not Jean."
    expected = reply
    for name in ("Jean-Luc", "Lucienne", "Luc", "Picard"):
        expected = expected.replace(name, " " * len(name))
    assert mixed_language._mask(reply, ctx) == expected


def test_the_same_names_give_the_same_compiled_pattern_and_new_names_a_new_one():
    assert header_regex(["Mira", "Old Tom"]) is header_regex(("Mira", "Old Tom"))
    assert header_regex(["Mira"]) is not header_regex(["Mira", "Pip"])
    assert header_regex([]) is None
    assert names_alternation(["Tom", "Old Tom"]) == "Old\\ Tom|Tom"


def test_context_name_sets_are_cleaned_and_exclude_own_and_user_names():
    ctx = ReplyContext(npc_name="Mira Salt", npc_aliases=["Mira", " mira "], user_names=["Ann"], other_names=["Pip", "ann", "Old Tom"])
    assert ctx.own_names == ("Mira Salt", "Mira")
    assert ctx.others == ("Old Tom", "Pip")
    assert ctx.all_names == ("Mira Salt", "Old Tom", "Mira", "Ann", "Pip")
