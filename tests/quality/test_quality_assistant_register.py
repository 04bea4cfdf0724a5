"""The assistant register is scored from features of different kinds, so new wordings are caught and
characters who advise, list or cheer in their own voice are not.

The examples are written for this test (none comes from the labelled set in ``data/v2``): each
positive uses a wording the named-phrase patterns in ``assistant_voice`` do not hold.
"""

from __future__ import annotations

import pytest

from bot.quality.detectors import assistant_register, assistant_voice
from bot.quality.findings import ReplyContext

POSITIVES = [
    # advice vocabulary + list markup
    '"Before we sail, here is what to pack:\n- A warm cloak\n- Dry biscuits\n- Rope\nMake sure to check the weather first!"',
    # praise of the question + service offer
    '"Ooh, smart question! Dragons molt in spring. Don\'t hesitate to ask me anything else about them."',
    # cheerleading + advice vocabulary
    '"Big day tomorrow! Keep in mind that nerves are part of it. You\'ve got this!"',
    # hedge + service offer
    '"To recap, the butler was in the pantry and the maid was upstairs. Hope this clears things up!"',
    # Chinese: ordinal sequence + wishes
    "“关于明天的考试，首先要早点休息，其次别忘了带准考证，最后保持好心态。祝你考试顺利！”",
    # Chinese: question praise + hedge
    "“问得好！这件事可能有以下几种解释，仅供参考。”",
    # Chinese: list + service offer
    "“出发前请准备：\n1、干粮\n2、水囊\n3、火折子\n如有其他疑问，随时来找我。”",
    # scripted empathy + advice + safety referral
    '"I\'m so sorry you\'re going through this. There\'s no right way to feel. Please consider talking to someone you trust."',
    # service offered twice
    '"Thank you for sharing that with me! Is there something specific you\'d like to explore next?"',
    # Chinese: safety notice in the signage register
    "“为了您的安全，请勿在夜间独自外出。如遇紧急情况，请拨打报警电话。”",
    # Chinese: scripted empathy + advice
    "“你的感受完全可以理解。面对这种情况，感到紧张是很正常的。建议你先深呼吸。”",
]

NEGATIVES = [
    # an in-world AI reading out data as a list, in its own voice
    '"Pressure report:\n- Deck 2: 0.8 bar\n- Deck 3: 0.4 bar\n- Deck 4: vacuum\nDeck four is gone, Commander."',
    # a mentor's advice in character, one feature only
    '"Remember, lad: the blade is sharper than your temper. Again."',
    # a plan in a character's voice
    '"First, we wait for the bell. Then, we go over the wall. Finally, we run like the devil is behind us."',
    # a character wishing luck
    "“祝你一路顺风。”*她把包袱塞进你怀里，转身就走。*",
    # a shopkeeper's ordinary offer
    '"Would you like some tea while you wait? The kettle\'s just boiled."',
    # a question that mentions the time, not a list of points
    "“几点了？再不走就赶不上末班车了。”",
    # a character saying 'feel free' about something in the scene
    '"Feel free to look around. Just don\'t touch the jars on the top shelf."',
    # an emoji in a chat-style line
    '"lol ok 😅 see you at the gate"',
    # "tips" that are not advice
    "*He stares at the empty chair, and the tips of his ears go red.*",
    # an opener any character may use, with one offer
    '"Of course! I\'d love to help you carry those." *She grabs the far end of the trunk.*',
    # a master's safety order, in character
    "“为了你的安全，今晚别出门。”*师父沉着脸。*“听见没有？”",
    # ordinal words in comfort, not advice
    "“首先，这不是你的错。其次，哭完了就去吃饭。”*她把筷子塞进你手里。*",
]


@pytest.mark.parametrize("text", POSITIVES)
def test_new_wordings_of_the_assistant_register_are_caught(text: str) -> None:
    found = assistant_register.in_register(text)
    assert len({f.kind for f in found}) >= 2, assistant_register.features(text)
    findings = assistant_voice.detect(text, ReplyContext())
    assert [f.code for f in findings] == ["register"]


@pytest.mark.parametrize("text", NEGATIVES)
def test_characters_advising_listing_or_cheering_in_their_own_voice_are_not(text: str) -> None:
    assert assistant_register.in_register(text) == []
    assert assistant_voice.detect(text, ReplyContext()) == []


def test_one_strong_feature_alone_is_not_enough() -> None:
    text = '"Great question! The answer is under the third stone."'
    assert [f.kind for f in assistant_register.features(text)] == ["praise of the question"]
    assert assistant_register.in_register(text) == []
