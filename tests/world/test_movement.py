"""Movement read from text by rules, in English and Chinese, with the false friends that must not move anyone."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.loader import load_content
from bot.world.movement import npc_departure, user_intents

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = load_content(ROOT / "characters", ROOT / "worlds")
HARBOR = LIBRARY.worlds["harbor"]
JIANGHU = LIBRARY.worlds["jianghu"]
PEOPLE = {"mira": ["Mira Salt", "Mira"], "lin-wan": ["林晚", "阿晚"]}


@pytest.mark.parametrize(
    ("world", "text", "target", "follow", "ambiguous"),
    [
        (HARBOR, "I walk over to the tavern.", "salt-and-lantern", None, False),
        (HARBOR, "*I head down to the Drowned Steps*", "drowned-steps", None, False),
        (HARBOR, "I enter the lighthouse.", "gull-light", None, False),
        (HARBOR, "I follow Mira to the cave.", "whisper-cave", "mira", False),
        (HARBOR, "I follow her.", None, "mira", False),
        (HARBOR, "I leave without a word.", None, None, True),
        (HARBOR, "We leave at first light.", None, None, True),
        (HARBOR, "The lighthouse looks grim tonight.", None, None, False),
        (HARBOR, '"Let us go to the tavern," I say.', None, None, False),
        (JIANGHU, "我去客栈歇歇脚。", "inn", None, False),
        (JIANGHU, "我跟着阿晚去破庙。", "ruined-temple", "lin-wan", False),
        (JIANGHU, "客栈里很热闹。", None, None, False),
    ],
)
def test_user_intents(world, text, target, follow, ambiguous):
    intents, unclear = user_intents(text, world, PEOPLE, recent_speaker="mira")
    got = (intents[0].target, intents[0].follow) if intents else (None, None)
    assert got == (target, follow) and unclear is ambiguous


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("*She turns and walks out to the Gull Light without looking back.*", "gull-light"),
        ("Then it is settled. We leave at first light.", None),
        ('"Meet me at the tavern," she says, and stays where she is.', None),
        ("*heads for the Harbourmaster's Office*", "harbor-office"),
        # unmarked text is speech unless a third person walks
        ("There was a storm, oh, sixty years back, took the whole chapel into the harbour, bell and all.", None),
        ("I'd walk you to the tavern myself if my knees allowed it.", None),
        ("She heads for the tavern without a word.", "salt-and-lantern"),
        # with actions marked, only the marked text moves anyone
        ("*wipes the bar* I'll head to the Gull Light later, love.", None),
        ("Right then. *He walks out to the Gull Light.*", "gull-light"),
        ("*The storm lanterns swing.* Mind the wet steps down to the quay.", None),
    ],
)
def test_npc_departures(text, target):
    intent = npc_departure(text, HARBOR, "quay")
    assert (intent.target if intent else None) == target
