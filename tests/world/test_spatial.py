"""Spatial logic: walking off after goodbye, adjacent rooms, locked doors, following someone, the model's say."""

from __future__ import annotations

import json

from bot.engine.lines import InboundLine, Narration


def said(key, text):
    return InboundLine(key, "u1", "Ann", text)


async def test_goodbye_then_walking_away_leaves_the_npc_silent(engine, key, model):
    """Ada says goodbye and walks to the garden; the narrator says so; she can no longer answer in the hall."""
    await engine.summon(key, "Ada")
    await engine.summon(key, "Bram")
    model.enqueue("Goodbye, then. *She turns and walks out to the Garden.*")
    outcome = await engine.handle(said(key, "Ada, off you go."))
    assert any(isinstance(o, Narration) and "Ada leaves for Garden" in o.text for o in outcome.outputs)
    cast = {c.name: c for c in await engine.cast(key)}
    assert not cast["Ada"].present and cast["Ada"].location_name == "Garden"
    later = await engine.handle(said(key, "Ada, one more thing!"))
    assert all(u.speaker != "Ada" for u in later.utterances)
    assert any("Ada is at Garden and cannot hear you" in n.text for n in later.narrations)


async def test_voices_carry_through_an_audible_exit(engine, key):
    """From the garden, someone in the orchard (an audible exit) can hear and answer; the hall cannot."""
    await engine.summon(key, "Ada", "orchard")
    await engine.summon(key, "Bram")
    await engine.go(key, "garden", "Ann")
    outcome = await engine.handle(said(key, "Ada, can you hear me over the wall?"))
    assert [u.speaker for u in outcome.utterances] == ["Ada"]
    assert "Within earshot: Ada (Orchard)" in (await engine.look(key)).outputs[0].text


async def test_locked_door_in_plain_text_is_narrated(engine, key):
    """'I go down to the cellar' through a locked door: narrated as locked (not as "no way"), no move."""
    outcome = await engine.handle(said(key, "I go down to the Cellar."))
    assert [n.text for n in outcome.narrations] == ["The way from Great Hall to Cellar is locked."]
    assert (await engine.require_scene(key)).user_location == "hall"


async def test_following_someone_who_left(engine, key, model):
    """After Bram walks to the garden, 'I follow him' takes the player there and Bram answers."""
    await engine.summon(key, "Bram")
    model.enqueue("*Bram walks off toward the Garden, muttering.*")
    await engine.handle(said(key, "Bram, what's wrong?"))
    outcome = await engine.handle(said(key, "I follow him, worried."))
    assert (await engine.require_scene(key)).user_location == "garden"
    assert any("following Bram" in n.text for n in outcome.narrations)
    assert [u.speaker for u in outcome.utterances] == ["Bram"]


async def test_following_someone_to_a_place_moves_both(engine, key):
    """'I follow Ada to the garden' while Ada is here: she leads, both arrive."""
    await engine.summon(key, "Ada")
    await engine.handle(said(key, "I follow Ada to the garden."))
    scene = await engine.require_scene(key)
    cast = {c.name: c for c in await engine.cast(key)}
    assert scene.user_location == "garden" and cast["Ada"].location_id == "garden"


async def test_ambiguous_movement_asks_the_model_and_applies_only_allowed_moves(engine, key, model):
    """'Let's get out of here' has no place: the model proposes; a locked target is refused, an open one taken."""
    await engine.summon(key, "Ada")
    model.enqueue(json.dumps({"moves": [{"who": "user", "to": "cellar"}, {"who": "ada", "to": "garden"}]}), "Fine.")
    outcome = await engine.handle(said(key, "I leave, quickly, without a word."))
    assert (await engine.require_scene(key)).user_location == "hall"
    assert any("is locked" in n.text for n in outcome.narrations)
    assert {c.name: c for c in await engine.cast(key)}["Ada"].location_id == "garden"
    assert model.calls[0].options.json_mode


async def test_invalid_model_proposal_moves_nobody(engine, key, model):
    """Garbage from the narrator model changes nothing."""
    await engine.summon(key, "Ada")
    model.enqueue("I think they should go somewhere nice.", "Hm.")
    await engine.handle(said(key, "I leave."))
    assert (await engine.require_scene(key)).user_location == "hall"


async def test_quoted_suggestion_is_not_a_move(engine, key):
    """Saying "let's go to the garden" in quotes is talk, not a move."""
    await engine.summon(key, "Ada")
    await engine.handle(said(key, '"We should go to the garden," I say.'))
    assert (await engine.require_scene(key)).user_location == "hall"
