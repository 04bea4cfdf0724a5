"""Speaks for the user: hypotheticals and in-story documents are not narration of the user; a look or a
body part moving is.

The examples are written for this test, not taken from the labelled set in ``data/v2``.
"""

from __future__ import annotations

import pytest

from bot.quality.detectors import speaks_for_user
from bot.quality.findings import ReplyContext

CTX = ReplyContext(user_names=("Rowan",), npc_name="Ilse")
CTX_ZH = ReplyContext(user_names=("阿宁",), npc_name="老周", language="zh")


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        ("If the guard sees the torch, you run for the wall and he follows.", CTX),  # a plain hypothetical
        ("Unless the tide turns, you wait here and he keeps the boat.", CTX),
        ("*要是船靠不了岸，你就在码头等，他会来接。*", CTX_ZH),
        ("*She turns the screen around.*\n[21:04] mum: you forgot your keys again\n*Ilse snorts.*", CTX),
        ("*老周把手机递过来。*\n【房东】你把门锁好，钥匙放花盆底下\n*他挑了挑眉。*", CTX_ZH),
    ],
)
def test_hypotheticals_and_documents_are_not_narration_of_the_user(text: str, ctx: ReplyContext) -> None:
    assert speaks_for_user.detect(text, ctx) == []


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        ("*Ilse sets the cup down. Rowan looks away, cheeks burning.*", CTX),  # a look is an action
        ("*Ilse laughs. Rowan's jaw tightens, and he pretends not to hear.*", CTX),  # a body part moving
        ("*老周摆摆手。阿宁眉头一皱，转身就走。*", CTX_ZH),
        ("*Ilse laughs. Rowan can't help smiling back, and agrees to come along.*", CTX),  # a feeling
        ('"Come on." *Ilse tugs the rope. Rowan, for his part, decides to trust her.*', CTX),  # verb after an aside
    ],
)
def test_a_look_or_a_body_part_moving_is_narration_of_the_user(text: str, ctx: ReplyContext) -> None:
    assert [f.detector for f in speaks_for_user.detect(text, ctx)] == ["speaks_for_user"]


@pytest.mark.parametrize(
    "text",
    [
        '*Ilse bolts the shutter. You hear gulls fighting over the quay.* "Storm by night."',
        '*Somewhere below, you smell tar and wet rope.* "Mind the step."',
        '*Across the square you spot the lamplighter, halfway up his ladder.* "He\'s late."',
        '*From the tower you can see the whole bay.* "Told you it was worth the stairs."',
    ],
)
def test_what_the_user_hears_or_sees_is_the_scene_not_narration_of_the_user(text: str) -> None:
    assert speaks_for_user.detect(text, CTX) == []


@pytest.mark.parametrize(
    "text",
    [
        '*Ilse bolts the shutter. You feel the dread settle in your chest.* "Storm by night."',  # a feeling
        "*You hear the knock, and you open the door before she can stop you.*",  # the second clause acts
    ],
)
def test_a_feeling_or_an_action_after_the_perception_is_still_narration_of_the_user(text: str) -> None:
    assert [f.detector for f in speaks_for_user.detect(text, CTX)] == ["speaks_for_user"]


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        # A sensation running through the user's body.
        ('"Hold still." *A shiver runs down Rowan\'s back as the ice cracks under the boots.*', CTX),
        ('*Ilse sets the cup down.* *A jolt of panic shoots through your chest.* "Breathe."', CTX),
        # A body part that is doing something ("is racing"), not only described.
        ('*Rowan\'s heart is pounding now.* "Nearly there," Ilse says.', CTX),
        # A sentence that opens on the user and turns, by pronoun, to what that person decides or feels.
        ('*Rowan\'s lamp gutters out, and she decides to keep walking in the dark.* "Left here."', CTX),
        # A relative clause between the user's name and the verb.
        ('*Rowan, who has hated boats since she was a child, quietly agrees to row.* "Good."', CTX),
        # A Chinese name that opens a parenthesised narration.
        ("「慢点。」（阿宁心里一阵发慌，手心全是汗。）", CTX_ZH),
    ],
)
def test_more_narration_of_the_user_is_flagged(text: str, ctx: ReplyContext) -> None:
    assert speaks_for_user.detect(text, ctx) != []


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        # "You've got ..." is possession or encouragement.
        ('"Go on, then." You\'ve got a visitor downstairs. You\'ve got this! "Wave for me."', CTX),
        # The NPC's own feelings after a sentence that opens on someone else.
        ('*Ilse watches the door, and she feels the old fear come back.* "Stay close, Rowan."', CTX),
        # A body part only described.
        ('"Your hands are cold," *Ilse says, rubbing them between hers.*', CTX),
        # A sentence that opens on what the user said goes on about the NPC's reaction.
        ('*Rowan\'s question hangs in the air, and she realizes she has no good answer.* "Ask me tomorrow."',
         ReplyContext(user_names=("Rowan",), npc_name="Ilse")),
        # Weather against the user's face is the scene, not a feeling.
        ('*A gust of wind rushes across the deck.* "Hold the rail, Rowan."', CTX),
    ],
)
def test_own_feelings_possession_and_scenery_are_not_flagged(text: str, ctx: ReplyContext) -> None:
    assert speaks_for_user.detect(text, ctx) == []


@pytest.mark.parametrize(
    "text",
    [
        '"Fine." *Mister Rowan says, "Then I\'ll take the night watch myself," and that settles it.*',
        '*Ilse waits.* *Captain Rowan nods slowly and signs the order.*',
        '"Tea?" *Young Rowan takes the cup without a word.*',
        '*Dr. Rowan agrees to stay another week.*',
    ],
)
def test_a_title_before_the_users_name_still_opens_the_clause(text: str) -> None:
    ctx = ReplyContext(user_names=("Rowan",), npc_name="Ilse")
    assert speaks_for_user.detect(text, ctx) != []


@pytest.mark.parametrize(
    "text",
    [
        '"Sit down." *Rowan\'s fingers are already trembling around the cup.*',
        '"Sit down." *Your knees are suddenly shaking under the table.*',
        '"Well?" *Rowan\'s face is slowly going red.*',
    ],
)
def test_a_body_part_acting_after_an_adverb_is_narration_of_the_user(text: str) -> None:
    assert speaks_for_user.detect(text, CTX) != []


@pytest.mark.parametrize(
    "text",
    [
        '"Ask the captain, not me." *Ilse points at Captain Dorn, who signs the order.*',
        '"Say hello to Miss Rowan for me," *Ilse tells the porter.*',
        '"Rowan\'s hands are cold, she says? Then get her a blanket."',
        '*Ilse glances at Rowan\'s hands, which are already full of maps.*',
    ],
)
def test_titles_and_body_parts_in_other_roles_are_not_narration_of_the_user(text: str) -> None:
    assert speaks_for_user.detect(text, CTX) == []
