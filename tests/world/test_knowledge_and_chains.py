"""Knowledge scoping (what an NPC did not witness stays out of its prompt) and chains of NPC reactions."""

from __future__ import annotations

import asyncio
import random

import pytest
from engine.conftest import WORLD

from bot.engine.lines import InboundLine
from bot.engine.scene import SceneEngine
from bot.store.records import NewEvent
from bot.testing.scripted_model import ScriptedModel

pytestmark = pytest.mark.both_databases  # every test with the store: on SQLite and on PostgreSQL


def said(key, text):
    return InboundLine(key, "u1", "Ann", text)


async def test_absent_npc_never_gets_an_event_it_did_not_witness(engine, key, model):
    """An off-screen event witnessed by Bram reaches Bram's prompt and not Ada's."""
    await engine.summon(key, "Ada")
    await engine.summon(key, "Bram")
    await engine.record_world_events(
        "guild-1", "manor", lambda fresh, busy: [NewEvent("offscreen", "bram", {"text": "Bram buried a silver key under the roses."}, ("bram",))]
    )
    await engine.handle(said(key, "Ada, anything new?"))
    assert not any("silver key" in m.content for m in model.calls[-1].messages)
    await engine.handle(said(key, "Bram, anything new?"))
    assert any("silver key" in m.content for m in model.calls[-1].messages)


async def test_lines_said_elsewhere_stay_out_of_prompts(engine, key, model):
    """A secret told in the garden is not in the prompt of someone who stayed in the hall."""
    await engine.summon(key, "Ada")
    await engine.summon(key, "Bram", "garden")
    await engine.go(key, "garden", "Ann")
    await engine.handle(said(key, "Bram, the password is swordfish."))
    await engine.go(key, "hall", "Ann")
    await engine.handle(said(key, "Ada, hello."))
    assert not any("swordfish" in m.content for m in model.calls[-1].messages)


def chain_engine(store, library, clock, *, cap: int, base: float = 1.0) -> tuple[SceneEngine, ScriptedModel]:
    world = WORLD.model_copy(update={"settings": WORLD.settings.model_copy(update={"chain_cap": cap, "chain_decay": 1.0})})
    library.worlds["manor"] = world
    model = ScriptedModel()
    engine = SceneEngine(store=store, model=model, library=library, clock=clock, rng=random.Random(5))
    return engine, model


async def test_chain_respects_its_cap(store, library, clock, key):
    """With a certain chain, at most ``chain_cap`` NPC reactions follow one user line."""
    engine, model = chain_engine(store, library, clock, cap=2)
    await engine.open_scene(key, "manor")
    for name in ("Ada", "Bram", "林晚"):
        await engine.summon(key, name)
    engine.scheduler_settings = lambda world: __import__("bot.engine.scheduler", fromlist=["x"]).SchedulerSettings(
        max_speakers=1, chain_cap=2, chain_base=1.0, chain_decay=1.0
    )
    outcome = await engine.handle(said(key, "Ada?"))
    assert len(outcome.utterances) == 3
    assert outcome.utterances[0].speaker == "Ada"


async def test_reactions_are_posted_as_they_happen(store, library, clock, key):
    """Each turn of a chain reaches the front end's callback as soon as it is committed."""
    engine, _ = chain_engine(store, library, clock, cap=2)
    await engine.open_scene(key, "manor")
    for name in ("Ada", "Bram"):
        await engine.summon(key, name)
    from bot.engine.scheduler import SchedulerSettings

    engine.scheduler_settings = lambda world: SchedulerSettings(max_speakers=1, chain_cap=2, chain_base=1.0, chain_decay=1.0)
    seen = []

    async def on_outcome(outcome):
        seen.append([u.speaker for u in outcome.utterances])

    await engine.handle(said(key, "Ada?"), on_outcome=on_outcome)
    assert len(seen) == 3 and seen[0] == ["Ada"]


async def test_a_new_user_line_interrupts_a_chain(store, library, clock, key):
    """A line arriving during a chain stops it after the current reaction; the new line is answered."""
    engine, model = chain_engine(store, library, clock, cap=5)
    await engine.open_scene(key, "manor")
    for name in ("Ada", "Bram"):
        await engine.summon(key, name)
    from bot.engine.scheduler import SchedulerSettings

    engine.scheduler_settings = lambda world: SchedulerSettings(max_speakers=1, chain_cap=5, chain_base=1.0, chain_decay=1.0)
    first_reply = asyncio.Event()

    async def on_outcome(outcome):
        if outcome.utterances:
            first_reply.set()

    first = asyncio.create_task(engine.handle(said(key, "Ada?"), on_outcome=on_outcome))
    await first_reply.wait()
    second = asyncio.create_task(engine.handle(said(key, "Stop, both of you.")))
    chain = await first
    assert len(chain.utterances) < 6
    assert (await second).utterances


async def test_mood_and_relationships_update_and_show_in_cast(engine, key):
    """Hostile words hurt the addressed NPC's mood and affinity toward the players; /cast shows both."""
    await engine.summon(key, "Bram")
    before = {c.name: c for c in await engine.cast(key)}["Bram"]
    await engine.handle(said(key, "Bram, you useless fool, shut up."))
    after = {c.name: c for c in await engine.cast(key)}["Bram"]
    assert after.mood_label == "hurt" and after.mood_intensity > before.mood_intensity
    assert after.relationships["user"]["affinity"] < 0
    assert "the players -" in after.feelings
    await engine.handle(said(key, "Thank you, Bram, you are kind."))
    warmer = {c.name: c for c in await engine.cast(key)}["Bram"]
    assert warmer.relationships["user"]["affinity"] > after.relationships["user"]["affinity"]
