"""Off-screen life with a fake clock: plans applied within the rules, busy NPCs left alone, hooks on stalls."""

from __future__ import annotations

import json
import random

import pytest

from bot.engine.lines import InboundLine
from bot.world.director import Director, detect_stagnation, similarity

pytestmark = pytest.mark.both_databases  # every test with the store: on SQLite and on PostgreSQL


def said(key, text):
    return InboundLine(key, "u1", "Ann", text)


def director(engine, clock, **kw):
    return Director(engine, clock=clock, rng=random.Random(2), **kw)


async def test_tick_applies_a_valid_plan_and_records_witnesses(engine, key, model, clock, store):
    """Bram (away from the players) walks to the orchard and meets nobody; Ada, with the players, is busy."""
    await engine.summon(key, "Ada")
    await engine.summon(key, "Bram", "garden")
    await engine.handle(said(key, "Ada, stay with me."))
    model.enqueue(json.dumps({"actions": [
        {"character": "bram", "action": "Bram picked apples in the orchard.", "move_to": "orchard", "mood": "content"},
        {"character": "ada", "action": "Ada wandered off.", "move_to": "garden"},
    ]}))
    report = await director(engine, clock, busy_window=600).tick("guild-1", "manor")
    assert report.used_model
    states = await store.npc_states("guild-1", "manor")
    assert states["bram"].location == "orchard" and states["bram"].mood_label == "content"
    assert states["ada"].location == "hall", "an NPC with the players is not moved off-screen"
    offscreen = [e for e in await store.events("guild-1", "manor") if e["kind"] == "offscreen"]
    assert offscreen and "bram" in offscreen[-1]["witnesses"]


async def test_tick_refuses_moves_the_world_forbids(engine, key, model, clock, store):
    """A move through a locked door or to an unknown place is dropped; the action itself stays."""
    await engine.summon(key, "Bram")
    await engine.go(key, "garden", "Ann")
    model.enqueue(json.dumps({"actions": [{"character": "bram", "action": "Bram tried the cellar door.", "move_to": "cellar"},
                                          {"character": "lin", "action": "Lin flew to the moon.", "move_to": "moon"}]}))
    await director(engine, clock).tick("guild-1", "manor")
    states = await store.npc_states("guild-1", "manor")
    assert states["bram"].location == "hall" and states["lin"].location == "hall"


async def test_invalid_plan_falls_back_to_rules(engine, key, model, clock, store):
    """Invalid JSON from the model: NPCs still live, by the rule-based fallback, within the graph."""
    await engine.summon(key, "Bram")
    model.enqueue("no json here")
    report = await director(engine, clock).tick("guild-1", "manor")
    assert not report.used_model and report.events


async def test_npc_mentions_what_it_did_back_in_the_scene(engine, key, model, clock):
    """After a tick, the NPC's prompt carries what it did while the players were away."""
    await engine.summon(key, "Bram")
    model.enqueue(json.dumps({"actions": [{"character": "bram", "action": "Bram caught a thief in the orchard.", "move_to": "garden"}]}))
    await director(engine, clock, per_tick=3).tick("guild-1", "manor")
    await engine.go(key, "garden", "Ann")
    await engine.handle(said(key, "Bram, what happened while I was away?"))
    assert any("Bram caught a thief in the orchard." in m.content for m in model.calls[-1].messages)


async def test_run_loop_ticks_active_worlds_only_and_jitters(engine, key, model, clock):
    """The loop sleeps a jittered interval; a world idle for longer than idle_after is not ticked."""
    await engine.summon(key, "Bram")
    await engine.handle(said(key, "Bram?"))
    sleeps: list[float] = []
    ticks: list[tuple[str, str]] = []

    class Stop(Exception):
        pass

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)
        if len(sleeps) > 3:
            raise Stop

    d = director(engine, clock, interval=900, jitter=0.2, idle_after=2000, sleep=fake_sleep)

    async def record(guild, world):
        ticks.append((guild, world))

    d.tick = record  # type: ignore[method-assign]
    try:
        await d.run()
    except Stop:
        pass
    assert all(720 <= s <= 1080 for s in sleeps) and len(set(sleeps)) > 1
    assert ticks and len(ticks) < len(sleeps), "ticks stop once the world has been idle past idle_after"


def test_stagnation_detects_repeats_and_quiet():
    looping = ["I will not tell you about the key.", "I will not tell you about the key, stranger."]
    assert detect_stagnation(looping, 0).stalled
    assert detect_stagnation(["A.", "Something different entirely now."], 9).stalled
    assert not detect_stagnation(["The tide is turning fast.", "Bring the lanterns inside."], 1).stalled
    assert similarity("我不会告诉你钥匙在哪里", "我不会告诉你钥匙在哪里的") > 0.5


async def test_stalled_scene_gets_a_plot_hook(engine, key, model):
    """When replies loop, the next speaker is handed an event seed, recorded as a hook.

    The repetition guard is set to accept here, so the loop reaches the director (by default the
    guard would regenerate the repeated reply first).
    """
    from bot.quality.guard import GuardPolicy

    world = engine.library.worlds["manor"]
    engine.library.worlds["manor"] = world.model_copy(
        update={"settings": world.settings.model_copy(update={"guards": GuardPolicy(repetition="accept")})}
    )
    await engine.summon(key, "Ada")
    for _ in range(3):
        model.enqueue("I will not tell you about the key, not today.")
        await engine.handle(said(key, "Ada, tell me about the key."))
    hooked = [c for c in model.calls if any("stranger knocks at the manor gate" in m.content for m in c.messages)]
    assert len(hooked) == 1, "the hook is handed to exactly one reply"
    assert "Bring in this development now" in hooked[0].messages[-1].content
    assert await engine.store.hooks_used("guild-1", "manor") == ["A stranger knocks at the manor gate, soaked and frightened."]


async def test_a_sharded_process_ticks_only_the_servers_it_owns(engine, key, clock):
    """With owns_guild (a sharded process), active worlds of other shards' servers are left to their process."""
    await engine.summon(key, "Bram")
    await engine.handle(said(key, "Bram?"))
    assert await director(engine, clock).active_worlds() == [("guild-1", "manor")]
    assert await director(engine, clock, owns_guild=lambda guild: guild == "guild-1").active_worlds() == [("guild-1", "manor")]
    assert await director(engine, clock, owns_guild=lambda guild: guild != "guild-1").active_worlds() == []
