"""Which recalled lines tell something the prompt does not already show (``bot.memory.novelty``)."""

from __future__ import annotations

from bot.memory.novelty import Shown, sentences


def test_sentences_are_normalised_and_short_ones_do_not_count():
    assert sentences("*She nods.* Slack water is at MIDNIGHT! Aye.") == frozenset({"slack water is at midnight"})
    assert sentences("“老周，你别走！”他叹了口气。我舅舅在温州修钟表。") >= {"我舅舅在温州修钟表"}
    assert "他叹了口气" in sentences("他叹了口气。")  # four Han characters or more count
    assert sentences("嗯。") == frozenset()


def test_a_line_is_kept_when_it_adds_one_sentence():
    shown = Shown(["Slack water is at midnight. Ask me again then."])
    assert not shown.adds("*Ask me again then.* Slack water is at midnight.")
    assert shown.adds("Slack water is at midnight. My brother drowned off the Gannet rocks.")
    assert not shown.adds("My brother drowned off the Gannet rocks!")  # kept once, shown from then on


def test_chinese_repeats_are_recognised():
    shown = Shown(["（她低头织网。）潮水半夜才平。到时候再问我。"])
    assert not shown.adds("潮水半夜才平。到时候再问我。")
    assert shown.adds("潮水半夜才平。我哥哥淹死在鲣鸟礁。")


def test_a_short_line_with_no_full_sentence_is_kept_unless_shown_verbatim():
    shown = Shown(["Where?"])
    assert shown.adds("Wexmoor.")
    assert not shown.adds("wexmoor")
    assert not shown.adds("Where?")


def test_a_short_sentence_with_a_new_word_keeps_its_line():
    """"He went north, as I told you. Wexmoor." adds a place even when the first sentence was said before;
    "Aye." adds nothing anyone has not said."""
    shown = Shown(["He went north, as I told you. Aye, he did."])
    assert shown.adds("He went north, as I told you. Wexmoor.")
    assert not shown.adds("He went north, as I told you. Aye.")
    assert not shown.adds("Wexmoor!")
