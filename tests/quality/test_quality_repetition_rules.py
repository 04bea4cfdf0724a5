"""Repetition: a re-send with edits that break every n-gram, a garbled re-render, and short lines said twice.

The examples are written for this test, not taken from the labelled set in ``data/v2``.
"""

from __future__ import annotations

from bot.quality.detectors import repetition
from bot.quality.findings import ReplyContext

OLD = (
    '"The north gate closes at dusk, and the guards there take silver, not copper. If we want through tonight '
    'we need the captain\'s seal or a very good story." *She folds the map.*'
)


def _codes(reply: str, recent: tuple[str, ...] = ()) -> list[str]:
    return [f.code for f in repetition.detect(reply, ReplyContext(recent_replies=recent))]


def test_a_resend_with_words_swapped_every_few_words_is_a_near_duplicate() -> None:
    # One word changed in every four: most 4-grams differ, the words still come in the old order.
    edited = (
        '"The north gate shuts at dusk, and the guards there want silver, not copper. If we want in tonight '
        'we need the captain\'s seal or a really good story." *She rolls the map.*'
    )
    assert "near_duplicate" in _codes(edited, (OLD,))


def test_a_new_reply_on_the_same_subject_is_not() -> None:
    fresh = '"Silver, then. I have six coins and a brother-in-law on the night watch. Let\'s try him first."'
    assert _codes(fresh, (OLD,)) == []


def test_a_garbled_stutter_of_the_last_reply_is_left_to_formatting() -> None:
    stutter = (
        '"The north gate…… closes at dusk…… the guards…… take silver…… if we want through…… '
        'we need the seal……" *She folds the map.*'
    )
    assert "near_duplicate" not in _codes(stutter, (OLD,))


def test_a_short_line_said_twice_in_a_row_is_a_loop() -> None:
    assert "loop" in _codes('"Not my ship. Not my ship." *He turns away from the wreck.*')


def test_a_phrase_repeated_inside_a_sentence_is_not() -> None:
    assert _codes("“四十分钟。四十分钟，够我们走到东边的研究站。你愿意陪我去吗？”") == []


def test_two_words_four_times_is_a_loop_but_not_as_a_stutter_or_a_chant() -> None:
    assert "loop" in _codes('"Keep walking, keep walking, keep walking, keep walking." *She does not look back.*')
    assert _codes('"He is reaching for his... for his... for his... for his..."') == []
    assert _codes("豆豆：“肥肉！肥肉！肥肉！肥肉！”") == []


def test_a_loop_with_small_changes_between_the_repeats() -> None:
    # The phrase comes back with a filler word and commas changed; no two repeats sit in an exact run of three.
    varied = '*He grips the rail.* "We\'re sinking. We\'re sinking. Listen, we\'re sinking, we\'re sinking, listen, we\'re sinking."'
    assert "loop" in _codes(varied)
    one_word = '"Yes! Yes, Chef! Yes! Yes! Yes, yes, Chef, yes!"'
    assert "loop" in _codes(one_word)


def test_a_figure_of_speech_with_new_words_between_the_repeats_is_not_a_loop() -> None:
    rhetoric = (
        '"The bakery is closing, and the school is closing, and the station is closing, and nobody in this town '
        'has said one word about it."'
    )
    assert "loop" not in _codes(rhetoric)


def test_a_stammer_parted_by_ellipses_is_left_to_formatting() -> None:
    assert "loop" not in _codes('"Wait, is that... is that... is that... is that... is that a light down there?"')


def test_a_resend_of_a_reply_from_far_back_is_found() -> None:
    filler = tuple(f'"Day {i}: the nets are mended and the boat is dry, nothing else to tell." *She yawns.*' for i in range(12))
    history = (OLD, *filler)
    assert "near_duplicate" in _codes(OLD, history)
    # The same subject long after, in new words, is not.
    assert _codes('"Dusk again. Let\'s try the north gate with the captain\'s seal this time."', history) == []
