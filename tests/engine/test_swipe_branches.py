"""Swipes are branches: what an alternative does to the world (a secret told, a walk to the garden, a
heated mood) belongs to it; only the alternative on screen when the story moves on is kept, and
switching back to an alternative brings its effects back."""

from __future__ import annotations

import pytest

from bot.engine.lines import InboundLine
from bot.world.events import rebuild

pytestmark = pytest.mark.both_databases  # every test with the store: on SQLite and on PostgreSQL

SECRET = "My secret: the key is under the third rose, and only you know it now."
WALK = "*walks off toward the Garden* I need some air, I will be among the roses."
HEATED = "You fool! I hate this, you idiot, I hate every word of it."
PLAIN = "Nothing to tell today, really, the day has been long and quiet."


async def _effect(engine, store, key, kind: str) -> bool:
    """Whether the world shows the first alternative's effect of this kind."""
    scene = await engine.require_scene(key)
    ada = (await store.npc_states("guild-1", "manor"))["ada"]
    if kind == "fact":
        return any("third rose" in f[2] for f in await store.known_facts(scene.id, "ada"))
    if kind == "move":
        return ada.location == "garden"
    return ada.mood_label == "heated"


async def _consistent(engine, store) -> None:
    start = {s.character_id: s for s in engine.starting_states(engine.world("manor"), "guild-1")}
    assert rebuild(start, await store.events("guild-1", "manor", limit=-1)) == await store.npc_states("guild-1", "manor")


@pytest.mark.parametrize(("kind", "first"), [("fact", SECRET), ("move", WALK), ("mood", HEATED)])
@pytest.mark.parametrize("keep", ["first", "second"])
async def test_only_the_alternative_on_screen_when_the_story_moves_on_changes_the_world(engine, store, model, key, kind, first, keep):
    await engine.summon(key, "Ada")
    model.enqueue(first)
    line = (await engine.handle(InboundLine(key, "u1", "Ann", "Ada, what is on your mind?"))).utterances[0]
    assert await _effect(engine, store, key, kind), "the first alternative's effect is in the world while it is shown"

    model.enqueue(PLAIN)
    second = (await engine.regenerate(key)).utterances[0]
    assert second.text == PLAIN and second.swipe_index == 1
    assert not await _effect(engine, store, key, kind), "a rejected alternative's effect stayed"
    await _consistent(engine, store)

    back = (await engine.show_swipe(key, line.message_id, -1)).utterances[0]
    assert back.text == first
    assert await _effect(engine, store, key, kind), "switching back did not bring its effect back"
    if keep == "second":
        await engine.show_swipe(key, line.message_id, +1)

    model.enqueue("Let us go on, then, and see what the evening brings us.")
    await engine.handle(InboundLine(key, "u1", "Ann", "Go on, Ada."))
    assert await _effect(engine, store, key, kind) == (keep == "first")
    swipes = await store.swipes(line.message_id)
    assert [s.kept for s in swipes] == [keep == "first", keep == "second"]
    assert (await engine.show_swipe(key, line.message_id, -1)).notices, "a settled line cannot be swiped any more"
    await _consistent(engine, store)
