"""Silence reads unquoted chat-style speech as speech, a named status tag as form, and only hooks aimed at the user.

The examples are written for this test, not taken from the labelled set in ``data/v2``.
"""

from __future__ import annotations

import pytest

from bot.quality.detectors import silence
from bot.quality.findings import ReplyContext

CTX = ReplyContext(user_names=("Ana",))


@pytest.mark.parametrize(
    "text",
    [
        "ok. two minutes. dont wait up",  # lower-case chat speech without quotes
        "Copy that, moving now!",  # an interjection and an exclamation
        "嗯。知道了。",  # Chinese speech without quotes
    ],
)
def test_unquoted_speech_is_not_silence(text: str) -> None:
    assert silence.detect(text, CTX) == []


def test_a_named_status_tag_is_form_not_speech() -> None:
    text = "⟨signal: weak⟩ *The drone hovers over the crater, its lamp sweeping the ash.*"
    assert [f.code for f in silence.detect(text, CTX)] == ["narration_only"]


@pytest.mark.parametrize(
    "text",
    [
        "*The city waits for dawn. Gulls circle the harbour and the tide slides out over the mud.*",
        "*老周示意伙计把门关上，窗外的雨越下越大，灯芯噼啪响了一声。*",
    ],
)
def test_a_gesture_with_no_one_on_the_other_end_is_no_hook(text: str) -> None:
    assert [f.code for f in silence.detect(text, CTX)] == ["narration_only"]


def test_a_look_at_the_user_is_a_hook() -> None:
    assert silence.detect("*She sets the cup down and looks at you, one eyebrow raised.*", CTX) == []


@pytest.mark.parametrize(
    "text",
    [
        "*She nods toward the door, eyebrows raised.*",  # a gesture that points somewhere, with the user there
        "*She mouths a single word: run.*",  # mouthed words are words
        "*他冲门外做了个口型：快走。*",
    ],
)
def test_directing_gestures_and_mouthed_words_are_not_silence(text: str) -> None:
    assert silence.detect(text, CTX) == []


def test_an_unquoted_line_that_calls_someone_is_speech() -> None:
    # A machine's plain status speech: no "I", no "you", but it ends by calling the pilot.
    assert silence.detect("[FUEL 40%]\nDescent locked. Hold on, Navigator. Touchdown in ninety seconds.", CTX) == []
    # A long narrated sentence that ends in a comma and a capitalised word is not a call.
    narration = "The convoy rolls out of the depot at dawn and heads north along the coast, Tuesday."
    assert [f.code for f in silence.detect(narration, CTX)] == ["narration_only"]


def test_watching_the_users_act_is_no_hook_but_a_look_that_waits_is() -> None:
    zh = ReplyContext(user_names=("阿宁",), npc_name="老周", language="zh")
    watching = "*老周靠在门框上，看着你们一桶一桶地往船上搬货，一声不吭。远处的雾越来越浓。*"
    assert [f.code for f in silence.detect(watching, zh)] == ["narration_only"]
    assert silence.detect("*老周放下茶杯，静静地看着你。*", zh) == []
    assert silence.detect("*老周抬起头，盯着你的眼睛。*", zh) == []
