"""Memory in the engine: private knowledge, background summaries, rewind, /memory."""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
from pathlib import Path

import pytest
from engine.conftest import WORLD, character
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content.loader import Library
from bot.core.ports import FakeClock
from bot.engine.lines import InboundLine, SceneKey
from bot.engine.scene import SceneEngine
from bot.store import Store
from bot.testing.scripted_model import ScriptedModel, Unavailable

pytestmark = pytest.mark.both_databases  # every test with the store: on SQLite and on PostgreSQL


def said(key, text):
    return InboundLine(key, "u1", "Ann", text)


async def test_facts_stay_with_those_who_heard_them(engine, key, model, store):
    """A secret told to Bram in the garden is Bram's fact, never Ada's, in storage and in prompts."""
    await engine.summon(key, "Ada")
    await engine.summon(key, "Bram", "garden")
    await engine.go(key, "garden", "Ann")
    await engine.handle(said(key, "Bram, here is a secret: the ledger is hidden in the oven."))
    scene = await engine.require_scene(key)
    assert any("ledger" in f[2] for f in await store.known_facts(scene.id, "bram"))
    assert not any("ledger" in f[2] for f in await store.known_facts(scene.id, "ada"))
    await engine.go(key, "hall", "Ann")
    await engine.handle(said(key, "Ada, where is the ledger hidden?"))
    assert not any("oven" in m.content for m in model.calls[-1].messages)
    assert "ledger is hidden in the oven" in await engine.memory(key, "Bram")
    assert "oven" not in await engine.memory(key, "Ada")


async def test_summary_runs_in_the_background_per_character(engine, key, model, store):
    """After summary_every turns a background call writes one summary per member; replies never wait for it."""
    world = engine.library.worlds["manor"]
    engine.library.worlds["manor"] = world.model_copy(update={"settings": world.settings.model_copy(update={"summary_every": 3})})
    await engine.summon(key, "Ada")
    gate = asyncio.Event()
    original = model.complete

    async def slow_summaries(messages, options):
        if "keep the memory" in messages[0].content:
            await gate.wait()
            from bot.core.ports import ChatResult

            return ChatResult(json.dumps({"summary": "Ann greeted Ada and promised to return.", "facts": ["Ann promised Ada help."]}))
        return await original(messages, options)

    model.complete = slow_summaries  # type: ignore[method-assign]
    for text in ("Ada, hello.", "Ada, I promise you my help.", "Ada, goodbye for now."):
        await asyncio.wait_for(engine.handle(said(key, text)), 60)
    reply = await asyncio.wait_for(engine.handle(said(key, "Ada?")), 60)  # not blocked by the pending summary
    assert reply.utterances
    gate.set()
    await engine.drain()
    scene = await engine.require_scene(key)
    assert (await store.latest_summary(scene.id, "ada"))[0] == "Ann greeted Ada and promised to return."
    await engine.handle(said(key, "Ada, again."))
    # Every line is still in Ada's history window, so the memory block is held until the window moves
    # (tests/memory/test_layout.py shows the new summary appearing once it does).
    prompt = model.calls[-1].messages
    assert any("Ada, hello." in m.content for m in prompt)
    assert not any("promised to return" in m.content for m in prompt)


async def test_failing_summary_changes_nothing(engine, key, model, store):
    """An unavailable model or invalid JSON for the summary: no summary, no error, the scene goes on."""
    world = engine.library.worlds["manor"]
    engine.library.worlds["manor"] = world.model_copy(update={"settings": world.settings.model_copy(update={"summary_every": 2})})
    await engine.summon(key, "Ada")
    original = model.complete
    bad = iter([Unavailable(), "not json at all"])

    async def failing(messages, options):
        if "keep the memory" in messages[0].content:
            item = next(bad, "still not json")
            if isinstance(item, Unavailable):
                from bot.errors import ModelUnavailable

                raise ModelUnavailable(item.user_message)
            from bot.core.ports import ChatResult

            return ChatResult(item)
        return await original(messages, options)

    model.complete = failing  # type: ignore[method-assign]
    for i in range(5):
        await engine.handle(said(key, f"Ada, line {i}."))
        await engine.drain()
    scene = await engine.require_scene(key)
    assert await store.latest_summary(scene.id, "ada") is None
    assert len([t for t in await store.transcript(scene.id) if t.kind == "npc"]) == 5


async def snapshot(engine: SceneEngine, store: Store, key: SceneKey):
    scene = await engine.require_scene(key)
    states = await store.npc_states(key.guild_id, scene.world_id)
    return (
        scene.user_location,
        await store.members(scene.id),
        {k: (v.location, v.mood_label, round(v.mood_intensity, 3), v.relationships) for k, v in states.items()},
        [(m.kind, m.speaker, m.text) for m in await store.transcript(scene.id)],
        await store.known_facts(scene.id, "ada"),
        await store.latest_summary(scene.id, "ada"),
    )


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("say"), st.sampled_from(["Ada, I promise to help.", "Bram, you fool!", "Thanks, Ada.", "I go to the garden.", "I follow Bram.", "Hm."])),
        st.tuples(st.just("summon"), st.sampled_from(["Ada", "Bram", "林晚"]), st.sampled_from(["hall", "garden", "orchard"])),
        st.tuples(st.just("go"), st.sampled_from(["hall", "garden", "orchard"])),
        st.tuples(st.just("dismiss"), st.sampled_from(["Ada", "Bram"])),
    ),
    min_size=1,
    max_size=8,
)


async def rewind_round_trip(before_ops, after_ops, seed):
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "r.db", clock=FakeClock())
        world = WORLD.model_copy(update={"settings": WORLD.settings.model_copy(update={"chain_cap": 1, "summary_every": 2})})
        library = Library(
            characters={"ada": character("ada", "Ada"), "bram": character("bram", "Bram"), "lin": character("lin", "林晚")},
            worlds={"manor": world},
        )
        rng = random.Random(seed)
        replies = ["Fine.", "*walks off to the Garden*", "I promise to keep it safe.", "No."]

        def respond(messages, options):
            if options.json_mode:
                who = "Ada" if "memory of Ada" in messages[0].content else "Bram"
                return json.dumps({"summary": f"{who} saw things.", "facts": [f"{who} saw a thing."]})
            return rng.choice(replies)

        engine = SceneEngine(store=store, model=ScriptedModel(respond), library=library, clock=FakeClock(), rng=random.Random(seed))
        key = SceneKey("g", "c")

        async def run(ops):
            from bot.errors import EnsembleError

            for op in ops:
                try:
                    if op[0] == "say":
                        await engine.handle(said(key, op[1]))
                    elif op[0] == "summon":
                        await engine.summon(key, op[1], op[2])
                    elif op[0] == "go":
                        await engine.go(key, op[1], "Ann")
                    else:
                        await engine.dismiss(key, op[1])
                    await engine.drain()
                except EnsembleError:
                    pass

        try:
            await engine.open_scene(key, "manor")
            await run(before_ops)
            expected = await snapshot(engine, store, key)
            scene = await engine.require_scene(key)
            turns_before = sum((await store.turn_counts(scene.id)).values())
            await run(after_ops)
            turns_after = sum((await store.turn_counts(scene.id)).values())
            removed = await engine.rewind(key, turns_after - turns_before)
            assert removed == turns_after - turns_before
            assert await snapshot(engine, store, key) == expected
        finally:
            await store.close()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=OPS, after=OPS, seed=st.integers(0, 1000))
def test_rewind_restores_state_exactly(before, after, seed):
    """Apply some turns, then N more, rewind N: location, cast, moods, transcript, facts, summary as before."""
    asyncio.run(rewind_round_trip(before, after, seed))


async def test_rewind_keeps_swipes_consistent(engine, key, model, store):
    """Rewinding a turn removes its reply and that reply's alternatives."""
    await engine.summon(key, "Ada")
    first = (await engine.handle(said(key, "Ada?"))).utterances[0]
    await engine.regenerate(key)
    await engine.rewind(key, 1)
    assert await store.swipes(first.message_id) == []
    assert (await engine.regenerate(key)).notices
