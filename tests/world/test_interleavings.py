"""Property: whatever way turns in two channels, director ticks and rewinds of one world interleave, the
stored state equals the state rebuilt from the events (NPCs from the world's log, each scene's place
and members from its own)."""

from __future__ import annotations

import asyncio
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from engine.conftest import WORLD, character
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content.loader import Library
from bot.core.ports import ChatMessage, ChatOptions, ChatResult, FakeClock
from bot.engine.lines import InboundLine, SceneKey
from bot.engine.scene import SceneEngine
from bot.errors import EnsembleError
from bot.store import Store
from bot.testing.scripted_model import ScriptedModel
from bot.world.director import Director
from bot.world.events import rebuild

pytestmark = pytest.mark.both_databases  # every test with the store: on SQLite and on PostgreSQL

KEYS = [SceneKey("g", "a"), SceneKey("g", "b")]
LINES = [
    "Ada, thank you, friend.", "Bram, you idiot!", "I go to the garden.", "Ada, follow me.", "Anyone there?",
    "I walk to the Great Hall.", "Bram, kind words for you, thanks.",
]
REPLIES = ["Fine.", "*walks off toward the Garden*", "I head to the Orchard now.", "*goes back to the Great Hall*", "Hmm."]


class YieldingModel(ScriptedModel):
    """Replies after yielding to the event loop a drawn number of times: the draws decide the interleaving."""

    def __init__(self, yields: Sequence[int], seed: int) -> None:
        rng = random.Random(seed)
        super().__init__(responder=lambda messages, options: rng.choice(REPLIES))
        self.yields = list(yields) or [0]
        self.count = 0

    async def complete(self, messages: Sequence[ChatMessage], options: ChatOptions) -> ChatResult:
        for _ in range(self.yields[self.count % len(self.yields)]):
            await asyncio.sleep(0)
        self.count += 1
        return await super().complete(messages, options)


op = st.one_of(
    st.tuples(st.just("say"), st.integers(0, 1), st.sampled_from(LINES)),
    st.tuples(st.just("summon"), st.integers(0, 1), st.sampled_from(["Ada", "Bram", "林晚"])),
    st.tuples(st.just("dismiss"), st.integers(0, 1), st.sampled_from(["Ada", "Bram"])),
    st.tuples(st.just("tick"), st.just(0), st.just("")),
    st.tuples(st.just("rewind"), st.integers(0, 1), st.sampled_from(["1", "2", "3"])),
)


async def run(batches, yields, seed: int) -> None:
    world = WORLD.model_copy(update={"settings": WORLD.settings.model_copy(update={"chain_cap": 2})})
    library = Library(
        characters={"ada": character("ada", "Ada", talk=0.8), "bram": character("bram", "Bram", talk=0.5, start="garden"),
                    "lin": character("lin", "林晚")},
        worlds={"manor": world},
    )
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock()
        store = await Store.open(Path(tmp) / "w.db", clock=clock)
        engine = SceneEngine(store=store, model=YieldingModel(yields, seed), library=library, clock=clock, rng=random.Random(seed))
        director = Director(engine, clock=clock, rng=random.Random(seed + 1), busy_window=60)
        try:
            for key in KEYS:
                await engine.open_scene(key, "manor")

            async def one(step) -> None:
                kind, which, arg = step
                key = KEYS[which]
                try:
                    if kind == "say":
                        await engine.handle(InboundLine(key, f"u{which}", f"P{which}", arg))
                    elif kind == "summon":
                        await engine.summon(key, arg)
                    elif kind == "dismiss":
                        await engine.dismiss(key, arg)
                    elif kind == "tick":
                        await director.tick("g", "manor")
                    else:
                        await engine.rewind(key, int(arg))
                except EnsembleError:
                    pass  # refusals (nobody by that name here) are part of play

            for batch in batches:
                await asyncio.gather(*(one(step) for step in batch))
                clock.advance(45)
            await engine.drain()

            start = {s.character_id: s for s in engine.starting_states(world, "g")}
            assert rebuild(start, await store.events("g", "manor", limit=-1)) == await store.npc_states("g", "manor")
            for key in KEYS:
                scene = await engine.require_scene(key)
                moves = [e for e in await store.events("g", "manor", limit=-1) if e["scene_id"] == scene.id]
                location, members = world.start_location, []
                for event in moves:
                    if event["kind"] == "move" and event["subject"] == "user":
                        location = event["payload"]["to"]
                    elif event["kind"] == "summon" and event["subject"] not in members:
                        members.append(event["subject"])
                    elif event["kind"] == "dismiss" and event["subject"] in members:
                        members.remove(event["subject"])
                assert scene.user_location == location
                assert sorted(await store.members(scene.id)) == sorted(members)
        finally:
            await store.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(st.lists(op, min_size=1, max_size=4), min_size=1, max_size=6),
    yields=st.lists(st.integers(0, 6), min_size=1, max_size=8),
    seed=st.integers(0, 10_000),
)
def test_any_interleaving_leaves_the_stored_state_equal_to_the_rebuilt_one(batches, yields, seed):
    asyncio.run(run(batches, yields, seed))
