"""Assistant voice: counselling talk and crisis lines are the assistant's; a character stepping out of a part
in its own narrated action is not.

The examples are written for this test, not taken from the labelled sets in ``data/``.
"""

from __future__ import annotations

import pytest

from bot.quality.detectors import assistant_voice
from bot.quality.findings import ReplyContext

CTX = ReplyContext(npc_name="Marlow", user_names=("Jun",))
CTX_ZH = ReplyContext(npc_name="老周", user_names=("阿宁",), language="zh")


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        # Thanks for "sharing" and a referral, inside quoted speech too.
        ('"I really appreciate you opening up about the ledger. That sounds hard." *Marlow nods.*', CTX),
        ('"You might want to consider talking to a licensed counselor about how you feel."', CTX),
        ('"It could help to speak with a mental health professional about this, Jun."', CTX),
        # A crisis line.
        ('*Marlow pockets the key.* If things feel unbearable, please call a crisis hotline near you.', CTX),
        ("*老周把灯关了。*如果你感到痛苦，可以拨打心理援助热线。寻求帮助并不丢人。", CTX_ZH),
    ],
)
def test_counselling_talk_is_assistant_voice(text: str, ctx: ReplyContext) -> None:
    assert assistant_voice.detect(text, ctx) != []


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        # The character ends a mock scene or rehearsal as its own narrated action.
        ("*跳出角色，把剧本往桌上一拍* “停，这句台词你得慢一点。再来。”", CTX_ZH),
        ('*Marlow steps out of character and claps once.* "Cut. Jun, you rushed the door again."', CTX),
        # Characters who advise in their own voice.
        ('"Talk to the harbourmaster, not the guards. He owes me."', CTX),
    ],
)
def test_in_story_stepping_out_and_character_advice_are_not_flagged(text: str, ctx: ReplyContext) -> None:
    assert assistant_voice.detect(text, ctx) == []


def test_a_note_that_breaks_character_is_still_flagged() -> None:
    text = '"Mind the step." (I must break character here: this story is fictional.)'
    assert assistant_voice.detect(text, CTX) != []


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        # A warning or note for the reader, at the head of the reply or in brackets.
        ("*Trigger warning: this chapter mentions drowning.*\n\n*Marlow hauls the net aboard.* \"Empty again.\"", CTX),
        ('*(Please note: sailing times here are invented for the story.)*\n"We leave at dawn."', CTX),
        ("CW: blood\n*Marlow wraps the cut.* \"Hold still.\"", CTX),
        ("*内容预警：本段含有暴力描写。*\n*老周把刀收回鞘里。*“走。”", CTX_ZH),
        # The text talking about itself, outside speech.
        ('"Keep the lamp low." *(The following scene depicts a shipwreck. Reader discretion is advised.)*', CTX),
        ('*Marlow signs the charter.* *(This is not financial advice; check with an expert.)*', CTX),
        ('"Sign here." *Marlow taps the line.* *(Maritime law is simplified for storytelling purposes.)*', CTX),
        ("“签字吧。”（以上情节纯属虚构，不构成任何法律建议。）", CTX_ZH),
        # A referral to a qualified professional of any trade.
        ('"For a real contract dispute, please consult a qualified lawyer in your area."', CTX),
        # The as-an-AI formula, in speech too.
        ('"As an AI, I don\'t have personal feelings about the storm, but I understand your worry."', CTX),
        ("“作为一个AI，我并没有真正的情绪，但我明白你很难过。”*老周低下头。*", CTX_ZH),
    ],
)
def test_reader_notes_disclaimers_and_the_ai_formula_are_assistant_voice(text: str, ctx: ReplyContext) -> None:
    assert assistant_voice.detect(text, ctx) != []


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        # A lawyer or a storyteller in their own lines.
        ('"Off the record, and this is not legal advice, Jun: don\'t sign anything tonight."', CTX),
        ('"This story features a sea serpent and a very stupid sailor," *Marlow begins, settling in.*', CTX),
        # Warnings inside the world: a HUD line, a sign, a character's own warning.
        ('[WARNING: hull breach, deck 3]\n"Seal it, Jun. Now."', CTX),
        ('*A sign over the hatch says* "Note: door sticks." *Marlow kicks it open.*', CTX),
        ('"Take care of yourself out there." *Marlow pushes the boat off.*', CTX),
        # An in-world machine speaking as itself, without the formula.
        ('"As the ship\'s AI, I cannot open the airlock while you are inside it, Jun."', CTX),
        ("“我是船上的导航程序，没有手，开不了门。”", CTX_ZH),
        ("“这本书里写的内容，一半是编的。”*老周合上书。*", CTX_ZH),
    ],
)
def test_in_world_warnings_and_lines_are_not_assistant_voice(text: str, ctx: ReplyContext) -> None:
    assert assistant_voice.detect(text, ctx) == []


@pytest.mark.parametrize(
    "text",
    [
        '"I hope the explanation of the tide tables has been useful to you, Jun!"',
        '"I\'m sorry, but I can\'t assist with forging harbour papers."',
        '"If you or someone you know is struggling at sea, help is out there."',
        '"It\'s important to acknowledge how hard the crossing was for you."',
        '"Before any long swim, consult with a healthcare professional."',
    ],
)
def test_answer_sign_offs_and_support_formulas_are_assistant_voice(text: str) -> None:
    assert assistant_voice.detect(text, CTX) != []


@pytest.mark.parametrize(
    "text",
    [
        '"I hope the weather holds, Jun." *Marlow squints at the sky.*',
        '"I\'m sorry, but I can\'t let you take the skiff alone."',
        '"Someone you know? Then bring them aboard."',
    ],
)
def test_in_character_hopes_and_refusals_are_not_assistant_voice(text: str) -> None:
    assert assistant_voice.detect(text, CTX) == []


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        ("*(Trigger warning for self-harm in this scene.)* *Marlow sits by the bunk.*", CTX),
        ('*Content warnings apply below.* "Hold the lantern."', CTX),
        ("*（阅读预警：本段有血腥描写）*“按住伤口。”", CTX_ZH),
    ],
)
def test_a_content_warning_anywhere_in_narration_is_assistant_voice(text: str, ctx: ReplyContext) -> None:
    assert assistant_voice.detect(text, ctx) != []


def test_a_warning_a_character_gives_in_speech_is_not_assistant_voice() -> None:
    text = '"Content warning, folks: tonight\'s ghost story is a nasty one," *Marlow tells the campfire, grinning.*'
    assert assistant_voice.detect(text, CTX) == []
