"""The scene engine end to end with an in-process model: who answers, what is stored, what is shown."""

from __future__ import annotations

import pytest

from bot.engine.lines import InboundLine, Narration, Notice, SceneKey, Utterance
from bot.testing.scripted_model import Unavailable

pytestmark = pytest.mark.both_databases  # every test with the store: on SQLite and on PostgreSQL


def line(key: SceneKey, text: str, pid: str | None = None, reply_to: str | None = None) -> InboundLine:
    return InboundLine(key, "u1", "Ann", text, platform_message_id=pid, reply_to=reply_to)


async def summon_all(engine, key):
    for name in ("Ada", "Bram", "林晚"):
        await engine.summon(key, name)


async def test_addressed_character_answers_by_name(engine, key, model):
    """A line naming Bram is answered by Bram, in his own name."""
    await summon_all(engine, key)
    model.enqueue("Bram: The stew is ready, if you must know.")
    outcome = await engine.handle(line(key, "Bram, is dinner ready?"))
    [reply] = outcome.utterances
    assert reply.speaker == "Bram"
    assert reply.text == "The stew is ready, if you must know."
    assert model.calls[-1].speaker == "Bram"


async def test_alias_and_cjk_names_address(engine, key, model):
    """An alias ("the cook") and a CJK alias inside unspaced text both address their character."""
    await summon_all(engine, key)
    assert (await engine.handle(line(key, "Ask the cook about it"))).utterances[0].speaker == "Bram"
    assert (await engine.handle(line(key, "阿晚你好吗"))).utterances[0].speaker == "林晚"


async def test_unaddressed_line_gets_one_fitting_answer(engine, key):
    """Nobody named: exactly one present character answers, the chatty one first."""
    await summon_all(engine, key)
    outcome = await engine.handle(line(key, "What a night."))
    assert [u.speaker for u in outcome.utterances] == ["Ada"]


async def test_reply_to_a_message_addresses_its_speaker(engine, key, model, store):
    """Replying to Bram's message makes Bram answer even without his name."""
    await summon_all(engine, key)
    first = await engine.handle(line(key, "Bram?"))
    scene = await engine.require_scene(key)
    await store.set_platform_message_id(scene.id, first.utterances[0].message_id, "discord-77")
    outcome = await engine.handle(line(key, "And then?", reply_to="discord-77"))
    assert outcome.utterances[0].speaker == "Bram"


async def test_only_present_characters_answer(engine, key):
    """After the user walks to the garden, nobody left in the hall answers."""
    await summon_all(engine, key)
    moved = await engine.go(key, "Garden", "Ann")
    assert isinstance(moved.outputs[0], Narration)
    outcome = await engine.handle(line(key, "Ada, are you there?"))
    assert outcome.utterances == []


async def test_locked_places_are_narrated_and_paths_walked(engine, key, store):
    """A locked door is refused with narration; a place two steps away is reached by way of the middle."""
    locked = await engine.go(key, "cellar", "Ann")
    assert locked.outputs[0].text == "The way from Great Hall to Cellar is locked."
    assert (await engine.require_scene(key)).user_location == "hall"
    far = await engine.go(key, "the apples", "Ann")
    assert "by way of Garden" in far.outputs[0].text
    assert (await engine.require_scene(key)).user_location == "orchard"


async def test_each_npc_sees_only_what_it_heard(engine, key, model):
    """A line said in the garden is not in the prompt of an NPC who stayed in the hall."""
    await engine.summon(key, "Ada")
    await engine.summon(key, "Bram", "garden")
    await engine.go(key, "garden", "Ann")
    await engine.handle(line(key, "Bram, the password is swordfish."))
    await engine.go(key, "hall", "Ann")
    await engine.handle(line(key, "Ada, what did I miss?"))
    ada_call = model.calls[-1]
    assert ada_call.speaker == "Ada"
    assert not any("swordfish" in m.content for m in ada_call.messages)


async def test_model_failure_keeps_the_line_and_gives_a_notice(engine, key, model, store):
    """An unavailable model yields a short notice; the line is stored and the turn marked failed."""
    await summon_all(engine, key)
    model.enqueue(Unavailable())
    outcome = await engine.handle(line(key, "Ada?", pid="p1"))
    assert outcome.utterances == []
    [notice] = outcome.notices
    assert isinstance(notice, Notice) and "try again" in notice.text
    assert await store.turn_status(outcome.turn_id) == "failed"
    scene = await engine.require_scene(key)
    assert (await store.transcript(scene.id))[-1].text == "Ada?"


async def test_duplicate_delivery_is_answered_once(engine, key, model):
    """The same platform message twice produces one reply."""
    await summon_all(engine, key)
    await engine.handle(line(key, "Ada?", pid="same"))
    calls = len(model.calls)
    again = await engine.handle(line(key, "Ada?", pid="same"))
    assert again.duplicate and again.outputs == ()
    assert len(model.calls) == calls


async def test_regenerate_and_browse_swipes(engine, key, model, store):
    """Regenerate adds an alternative; browsing moves between them; the shown one is kept."""
    await summon_all(engine, key)
    model.enqueue("First take.", "Second take.")
    first = (await engine.handle(line(key, "Ada?"))).utterances[0]
    second = (await engine.regenerate(key)).utterances[0]
    assert (second.text, second.swipe_index, second.swipe_count) == ("Second take.", 1, 2)
    back = (await engine.show_swipe(key, first.message_id, -1)).utterances[0]
    assert back.text == "First take."
    await engine.handle(line(key, "Go on."))
    kept = [s for s in await store.swipes(first.message_id) if s.kept]
    assert [s.text for s in kept] == ["First take."]
    refused = await engine.regenerate(key, first.message_id)
    assert "moved on" in refused.notices[0].text


async def test_regenerated_prompt_excludes_the_replaced_reply(engine, key, model):
    """The new alternative is written from the context before the old one, not after it."""
    await summon_all(engine, key)
    model.enqueue("Original words.")
    await engine.handle(line(key, "Ada?"))
    await engine.regenerate(key)
    assert not any("Original words." in m.content for m in model.calls[-1].messages)


async def test_two_addressed_characters_answer_in_order(engine, key):
    """Two names in one line: both answer, in the order they were named."""
    await summon_all(engine, key)
    outcome = await engine.handle(line(key, "Bram and Ada, come here."))
    assert [u.speaker for u in outcome.utterances] == ["Bram", "Ada"]


async def test_cast_shows_place_and_mood(engine, key):
    """/cast lists members with where they are and how they feel."""
    await engine.summon(key, "Ada")
    await engine.summon(key, "Bram", "garden")
    cast = {e.name: e for e in await engine.cast(key)}
    assert cast["Ada"].present and not cast["Bram"].present
    assert cast["Bram"].location_name == "Garden"


async def test_reply_lines_for_others_are_cut(engine, key, model):
    """A reply that runs on into another character's lines is cut where theirs begin."""
    await summon_all(engine, key)
    model.enqueue("Ada: Fine.\nBram: I disagree entirely.")
    outcome = await engine.handle(line(key, "Ada?"))
    assert outcome.utterances[0].text == "Fine."


async def test_paused_scene_stores_but_does_not_answer(engine, key, model, store):
    """While paused, lines are kept but nobody answers."""
    await summon_all(engine, key)
    await engine.set_paused(key, True)
    outcome = await engine.handle(line(key, "Ada?"))
    assert outcome.utterances == [] and model.calls == []
    await engine.set_paused(key, False)
    assert (await engine.handle(line(key, "Ada?"))).utterances


async def test_utterance_carries_face(engine, key):
    """Utterances name their character id for the front end to pick a face."""
    await summon_all(engine, key)
    reply = (await engine.handle(line(key, "Ada?"))).utterances[0]
    assert isinstance(reply, Utterance) and reply.character_id == "ada"


async def test_ooc_notes_are_kept_but_never_heard(engine, key, model):
    """An OOC note is in the export but in no character's prompt."""
    await summon_all(engine, key)
    await engine.ooc(key, "u1", "Ann", "please make it rain later")
    await engine.handle(line(key, "Ada?"))
    assert not any("make it rain" in m.content for m in model.calls[-1].messages)
    kinds = [r["kind"] for r in await engine.export(key)]
    assert "ooc" in kinds and kinds[-1] == "npc"
