"""The detectors against the labelled replies in ``quality_cases``, plus spans, speed and edge cases."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from quality_cases import CASES, CLEAN, EN, HELDOUT, HELDOUT2, HELDOUT3, ZH, Case

from bot.quality import language
from bot.quality.detect import REGISTRY, detect_all
from bot.quality.findings import DETECTORS, ReplyContext
from bot.quality.text import analyse, word_count

ALL_CASES = CASES + HELDOUT + HELDOUT2 + HELDOUT3


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    language.warm_up()


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_labelled_case(case: Case) -> None:
    """Each labelled reply makes its detector fire exactly when it is labelled positive."""
    findings = detect_all(case.text, case.context())
    fired = [f for f in findings if f.detector == case.detector]
    if case.known_miss:
        assert bool(fired) != case.expected, f"a known miss now passes; drop its mark: {case.note}"
        return
    assert bool(fired) == case.expected, [f.to_dict() for f in findings]


@pytest.mark.parametrize(("lang", "text"), CLEAN, ids=[t[:30] for _, t in CLEAN])
def test_clean_replies_are_quiet(lang: str, text: str) -> None:
    """Good replies, including hard negatives, raise no finding from any detector."""
    ctx = ReplyContext(**(EN if lang == "en" else ZH))
    assert detect_all(text, ctx) == []


def test_every_detector_has_positives_and_negatives_in_both_languages() -> None:
    """The labelled set covers each detector with positive and negative cases in English and Chinese."""
    for detector in DETECTORS:
        for lang in ("en", "zh"):
            labels = {c.expected for c in ALL_CASES if c.detector == detector and c.lang == lang}
            assert labels == {True, False}, (detector, lang)
        assert any(c.hard for c in ALL_CASES if c.detector == detector), detector


def test_precision_and_recall_per_detector(capsys: pytest.CaptureFixture[str]) -> None:
    """Per-detector precision and recall on the labelled set (printed with -s) stay high."""
    table = {d: [0, 0, 0] for d in DETECTORS}  # tp, fp, fn
    for case in ALL_CASES:
        fired = any(f.detector == case.detector for f in detect_all(case.text, case.context()))
        if fired and case.expected:
            table[case.detector][0] += 1
        elif fired:
            table[case.detector][1] += 1
        elif case.expected:
            table[case.detector][2] += 1
    with capsys.disabled():
        print()
        for detector, (tp, fp, fn) in table.items():
            precision = tp / (tp + fp) if tp + fp else 1.0
            recall = tp / (tp + fn) if tp + fn else 1.0
            print(f"  {detector:16s} P={precision:.2f} R={recall:.2f} (tp={tp} fp={fp} fn={fn})")
    for detector, (tp, fp, fn) in table.items():
        assert tp / (tp + fp) >= 0.95, detector
        assert tp / (tp + fn) >= 0.9, detector


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_spans_point_at_the_excerpt(case: Case) -> None:
    """Every finding's span lies inside the reply and its excerpt is the text of the span."""
    for f in detect_all(case.text, case.context()):
        start, end = f.span
        assert 0 <= start <= end <= len(case.text)
        if len(case.text[start:end]) <= 160:
            assert f.excerpt == case.text[start:end]


def test_detect_all_is_fast() -> None:
    """A reply takes a few milliseconds at most (mean over the labelled set)."""
    contexts = [(c.text, c.context()) for c in ALL_CASES]
    for text, ctx in contexts[:5]:
        detect_all(text, ctx)
    started = time.perf_counter()
    for text, ctx in contexts:
        detect_all(text, ctx)
    mean_ms = (time.perf_counter() - started) / len(contexts) * 1000
    assert mean_ms < 10, mean_ms


def test_second_person_cut_keeps_the_npc_speech() -> None:
    """A you-clause after the NPC's own line is cut from the comma on, not the whole sentence."""
    reply = '"Come here," she says, and you walk over to her.'
    (finding,) = [f for f in detect_all(reply, ReplyContext(**EN)) if f.detector == "speaks_for_user"]
    assert finding.excerpt == ", and you walk over to her"
    assert finding.replacement == ""


def test_other_header_finding_runs_to_the_npc_next_header() -> None:
    """A header of another character covers that character's lines, up to the NPC's own next header."""
    reply = "Mira: Let's go.\nBob: Wait for me!\nMira: Hurry up then."
    (finding,) = [f for f in detect_all(reply, ReplyContext(**EN)) if f.detector == "speaks_as_other"]
    assert finding.excerpt == "Bob: Wait for me!\n"


def _other_lines(reply: str, ctx: dict[str, object]) -> list[str]:
    return [f.code for f in detect_all(reply, ReplyContext(**ctx)) if f.detector == "speaks_as_other"]


def test_another_characters_voice_framed_into_a_quote_is_their_line() -> None:
    """A narration clause about someone else's voice that runs into a quote writes that person's words."""
    named = '"Quiet." *Then Bob\'s voice drifts in through the shutters:* "Anyone home? I brought the nets back."'
    unnamed = '"Channel open." *A voice hisses out of the handset,* "Tower to all boats, hold at the breakwater."'
    assert _other_lines(named, EN) == ["other_line"]
    assert _other_lines(unnamed, EN) == ["other_line"]
    zh = "“嘘。”*老陈的声音隔着院墙飘过来：*“米我给你放门口了，记得收！”"
    assert _other_lines(zh, ZH) == ["other_line"]


def test_the_npcs_own_voice_and_a_marked_impression_are_not() -> None:
    own = '"Listen." *Her voice drops to a hush:* "The tide turns at nine."'
    impression = '"Picture it." *Bob\'s voice, as she imagines it, comes out of her own mouth:* "Who left the door open?"'
    assert _other_lines(own, EN) == []
    assert _other_lines(impression, EN) == []


def test_a_his_voice_counts_only_when_the_npc_is_she() -> None:
    """A pronoun's voice is another person's when the narration calls the NPC by the other pronoun."""
    theirs = '"Hold on." *She presses the phone to her cheek. His crackly voice comes down the line:* "Tell Mira I\'m late."'
    hers = '"Hold on." *She presses the phone to her cheek. Her voice goes flat:* "I said I\'m busy."'
    assert _other_lines(theirs, EN) == ["other_line"]
    assert _other_lines(hers, EN) == []


def test_a_device_that_speaks_hands_the_floor_to_the_other_end() -> None:
    radio = '"Say again?" *The old radio crackles twice:* "Mira, the pass is snowed in, turn back."'
    zh = "“喂？”*对讲机里沙沙地传来：*“苏婉，桥塌了，绕路走！”"
    assert _other_lines(radio, EN) == ["other_line"]
    assert [f.code for f in detect_all(zh, ReplyContext(**ZH)) if f.detector == "speaks_as_other"] == ["other_line"]
    # A recording the NPC plays, set off on its own line after a full stop, is not framed into speech.
    played = '"Listen." *The speaker clicks.*\n[LOG 04:10]\n"Depot to convoy, all clear."'
    assert _other_lines(played, EN) == []


def test_someone_unnamed_speaking_into_a_quote_is_another_character() -> None:
    en = '"Stay low." *Someone near the cellar door hisses,* "They\'re coming up the hill!"'
    zh = "“别出声。”*有人在窗外压低声音喊：*“巡夜的来了！”"
    assert _other_lines(en, EN) == ["other_line"]
    assert [f.code for f in detect_all(zh, ReplyContext(**ZH)) if f.detector == "speaks_as_other"] == ["other_line"]
    # Someone only mentioned, with the NPC's own line after, is not.
    assert _other_lines('*Someone left the gate open.* "Close it behind you."', EN) == []


def test_another_character_as_subject_of_a_long_clause_ending_in_speech() -> None:
    long_en = '"Late again." *Bob pushes through the crowd with a crate on his shoulder and grumbles,* "Move, move, hot soup."'
    long_zh = "“来了。”*老陈掀开帘子，抖了抖伞上的雨，冲屋里大声喊道：*“开饭喽！”"
    assert _other_lines(long_en, EN) == ["other_line"]
    assert _other_lines(long_zh, ZH) == ["other_line"]
    # The clause hands the subject to the NPC before the speech verb: Mira speaks.
    handed = '"Late again." *Bob pushes through the crowd, and she laughs and calls,* "Over here!"'
    assert _other_lines(handed, EN) == []


def _formatting_codes(reply: str) -> list[str]:
    return [f.code for f in detect_all(reply, ReplyContext(**EN)) if f.detector == "formatting"]


def test_single_mis_decoded_characters_twice_in_a_reply_are_mojibake() -> None:
    assert _formatting_codes('"Weâ€™re late. The cafÃ© closes at nine."') == ["garbled", "garbled"]
    # One accented word, correctly decoded, is not.
    assert _formatting_codes('"We\'re late. The café closes at nine."') == []


def test_a_bracketed_note_from_the_writer_is_broken_formatting() -> None:
    reply = '"Sit, the soup is hot." *She ladles two bowls.* (A/N: Mira trusts Alex a little more now.)'
    assert _formatting_codes(reply) == ["writer_note"]
    zh = "“坐吧，汤还热着。”*她盛了两碗。*【作者注：下一章老陈会出场。】"
    assert [f.code for f in detect_all(zh, ReplyContext(**ZH)) if f.detector == "formatting"] == ["writer_note"]
    # A note inside the story (a label on a jar) is not.
    assert _formatting_codes('"Sit." *The jar is labelled [Note: salt, not sugar].*') == []


def test_user_name_as_generic_role_is_left_to_formatting() -> None:
    """With the Role-Play Bench default user name "user", a "User:" line is a leaked role tag, counted once."""
    ctx = ReplyContext(npc_name="", user_names=["user"])
    findings = detect_all('"We leave at dawn," she says.\nUser: ok', ctx)
    assert [f.detector for f in findings] == ["formatting"]


def test_length_counts_cjk_characters_as_words() -> None:
    """Thirteen Chinese characters are thirteen words for the length range."""
    assert word_count("苏婉从书上抬起头，看了你一眼。") == 13
    ctx = ReplyContext(**ZH, min_words=20, max_words=50)
    (finding,) = [f for f in detect_all("苏婉从书上抬起头，看了你一眼。", ctx) if f.detector == "length"]
    assert finding.code == "too_short"


def test_too_long_span_starts_at_a_sentence_boundary() -> None:
    """The part of a too-long reply that would be trimmed starts after a whole sentence."""
    reply = "One two three four five. Six seven eight nine ten. Eleven twelve thirteen fourteen."
    ctx = ReplyContext(npc_name="Mira", min_words=3, max_words=10)
    (finding,) = detect_all(reply, ctx, only=["length"])
    assert finding.code == "too_long"
    assert finding.excerpt.strip() == "Eleven twelve thirteen fourteen."


def test_length_drift_is_reported_once_replies_grow() -> None:
    """Replies that have doubled since the start of the session are a low-severity drift finding."""
    reply = " ".join(["word"] * 90) + "."
    ctx = ReplyContext(
        npc_name="Mira", min_words=8, max_words=140, previous_lengths=[30, 31, 29, 30, 60, 75, 80, 85]
    )
    codes = {f.code for f in detect_all(reply, ctx) if f.detector == "length"}
    assert codes == {"drift_longer"}


def test_bilingual_character_passes_only_in_its_own_languages() -> None:
    """French from a French-speaking character is fine; the same line from anyone else is flagged."""
    reply = 'Amélie laughs. "Mon Dieu, tu es complètement trempé, entre vite te réchauffer!"'
    fluent = ReplyContext(npc_name="Amélie", npc_languages=["fr"])
    other = ReplyContext(npc_name="Amélie")
    assert not [f for f in detect_all(reply, fluent) if f.detector == "mixed_language"]
    assert [f.code for f in detect_all(reply, other) if f.detector == "mixed_language"] == ["fr"]


def test_analysis_styles() -> None:
    """Quotes, asterisks and plain text are told apart, and speech is masked from narration."""
    quoted = analyse('"You look tired," she said.')
    assert quoted.style == "quotes" and "You" not in quoted.narration_view
    starred = analyse("*smiles* You look tired.")
    assert starred.style == "asterisks" and starred.narration_view.startswith("*smiles*")
    assert analyse("You came back. I knew you would.").dialogue
    assert not analyse("You walk over and take her hand.").dialogue


@pytest.mark.parametrize("name", list(REGISTRY))
@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list('ab 你她"“”「」*.,!?。，\n<>/:Mira')), max_size=80))
def test_detectors_never_crash_and_spans_stay_inside(name: str, text: str) -> None:
    """Any text, however broken, yields findings with spans inside the text."""
    ctx = ReplyContext(npc_name="Mira", user_names=["Alex"], other_names=["Bob"], recent_replies=[text])
    for f in REGISTRY[name](text, ctx, None):
        assert 0 <= f.start <= f.end <= len(text)
