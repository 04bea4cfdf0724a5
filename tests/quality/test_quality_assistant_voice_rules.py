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
