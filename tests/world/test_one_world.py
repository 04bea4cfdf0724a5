"""One true world: every race the issue found, replayed with the real openai SDK against the local model
server, whose delayed replies fix the interleaving (each test first waits until the slow request has
reached the server, and checks that the fast operation really finished while the slow one was waiting)."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from engine.conftest import WORLD, character

from bot.content.loader import Library
from bot.engine.lines import InboundLine, SceneKey
from bot.engine.scene import SceneEngine
from bot.model.openai_chat import OpenAIChatModel
from bot.testing.openai_server import OpenAIServer, Reply
from bot.world.director import Director
from bot.world.events import rebuild

pytestmark = pytest.mark.both_databases  # every test with the store: on SQLite and on PostgreSQL

SLOW = 1.5
A = SceneKey("g", "a")
B = SceneKey("g", "b")


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return str(message.get("content", ""))
    return ""


class Script:
    """What the model server answers: by the content of the request, so retries and guards cannot shift it."""

    def __init__(self) -> None:
        self.slow_words: set[str] = set()
        self.plan: dict[str, Any] | None = None

    def __call__(self, body: dict[str, Any]) -> Reply:
        if (body.get("response_format") or {}).get("type") == "json_object":
            system = str((body.get("messages") or [{}])[0].get("content", ""))
            if "off-screen life" in system and self.plan is not None:
                return Reply(json.dumps(self.plan), delay=SLOW if "plan" in self.slow_words else 0.0)
            return Reply(json.dumps({"moves": [], "summaries": {}}))
        heard = " ".join(str(m.get("content", "")) for m in body.get("messages") or [])[-400:]
        slow = any(word in _last_user_text(body) or word in heard for word in self.slow_words)
        return Reply("*nods slowly* Then it is settled. We leave at first light.", delay=SLOW if slow else 0.0)


@pytest.fixture
async def server() -> AsyncIterator[tuple[OpenAIServer, Script]]:
    script = Script()
    async with OpenAIServer(responder=script) as running:
        yield running, script


@pytest.fixture
async def world_engine(store, clock, server) -> AsyncIterator[SceneEngine]:
    running, _ = server
    model = OpenAIChatModel(base_url=running.base_url, api_key="k", model="fake-model", request_timeout=10, max_attempts=1)
    library = Library(
        characters={"ada": character("ada", "Ada", talk=0.9), "bram": character("bram", "Bram", talk=0.1, start="garden")},
        worlds={"manor": WORLD},
    )
    engine = SceneEngine(store=store, model=model, library=library, clock=clock, rng=random.Random(4))
    await engine.open_scene(A, "manor")
    await engine.open_scene(B, "manor")
    yield engine
    await engine.drain()
    await model.aclose()


async def _reached(server: OpenAIServer, count: int) -> None:
    """Until the server has received ``count`` chat requests (the slow one is then waiting there)."""
    for _ in range(2000):
        if len(server.requests) >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"the model server never received {count} requests")


async def _rebuilt_equals_stored(engine: SceneEngine, store) -> None:
    start = {s.character_id: s for s in engine.starting_states(engine.world("manor"), "g")}
    rebuilt = rebuild(start, await store.events("g", "manor", limit=-1))
    assert rebuilt == await store.npc_states("g", "manor")


async def test_two_channels_of_one_world_do_not_lose_updates(world_engine, store, server):
    """Kind words to Ada in #a (slow reply) and hostile words in #b (fast) both count: +4 then -4."""
    running, script = server
    await world_engine.summon(A, "Ada")
    await world_engine.summon(B, "Ada")
    script.slow_words = {"friend"}
    requests = len(running.requests)
    kind = asyncio.create_task(world_engine.handle(InboundLine(A, "u1", "Ann", "Ada, thank you, friend.")))
    await _reached(running, requests + 1)
    hostile = await world_engine.handle(InboundLine(B, "u2", "Bob", "Ada, you idiot!"))
    assert hostile.utterances and not kind.done(), "the fast turn must commit while the slow one waits for its model"
    assert (await store.npc_states("g", "manor"))["ada"].relationships["user"]["affinity"] == -4
    assert (await kind).utterances
    ada = (await store.npc_states("g", "manor"))["ada"]
    assert ada.relationships["user"]["affinity"] == -4 + 4, "the slower turn wrote over the faster one"
    await _rebuilt_equals_stored(world_engine, store)


async def test_a_tick_during_a_turn_does_not_move_a_character_out_of_the_conversation(world_engine, store, server, clock):
    """The director plans Ada's walk to the garden while she is free; by the time its answer comes back she
    is talking with the players, so the stale plan is dropped and the next line reaches her."""
    running, script = server
    await world_engine.summon(A, "Ada")
    clock.advance(3600)  # no human line recently: Ada is free for off-screen life when the tick plans
    script.plan = {"actions": [{"character": "ada", "action": "Ada walked out to the garden.", "move_to": "garden"}]}
    script.slow_words = {"plan"}
    requests = len(running.requests)
    director = Director(world_engine, clock=clock, rng=random.Random(9), per_tick=1, busy_window=600)
    tick = asyncio.create_task(director.tick("g", "manor"))
    await _reached(running, requests + 1)
    outcome = await world_engine.handle(InboundLine(A, "u1", "Ann", "Ada, stay a while?"))
    assert outcome.utterances and not tick.done()
    report = await tick
    assert not [e for e in report.events if e.subject == "ada"], "a stale plan was applied"
    assert (await store.npc_states("g", "manor"))["ada"].location == "hall"
    again = await world_engine.handle(InboundLine(A, "u1", "Ann", "Ada, what now?"))
    assert again.utterances and not any("cannot hear" in n.text for n in again.narrations)
    await _rebuilt_equals_stored(world_engine, store)


async def test_rewind_in_one_scene_during_a_turn_in_another(world_engine, store, server):
    """#b's hostile line is rewound while #a's kind line waits for the model: Ada ends at +4, as if the
    hostile line never happened, and the stored state is what the events rebuild."""
    running, script = server
    await world_engine.summon(A, "Ada")
    await world_engine.summon(B, "Ada")
    await world_engine.handle(InboundLine(B, "u2", "Bob", "Ada, you idiot!"))
    assert (await store.npc_states("g", "manor"))["ada"].relationships["user"]["affinity"] == -4
    script.slow_words = {"friend"}
    requests = len(running.requests)
    kind = asyncio.create_task(world_engine.handle(InboundLine(A, "u1", "Ann", "Ada, thank you, friend.")))
    await _reached(running, requests + 1)
    assert await world_engine.rewind(B, 1) == 1
    assert not kind.done()
    assert "user" not in (await store.npc_states("g", "manor"))["ada"].relationships, "the rewound line's effect stays"
    assert (await kind).utterances
    assert (await store.npc_states("g", "manor"))["ada"].relationships["user"]["affinity"] == 4
    await _rebuilt_equals_stored(world_engine, store)


async def test_reset_during_a_turn_drops_the_turn_and_its_chain(world_engine, store, server):
    """A reset while a turn waits for the model: the turn is refused at its commit (no foreign-key error),
    no chain continues into the reopened scene, and the reopened scene is empty."""
    running, script = server
    chains = world_engine.world("manor").settings.model_copy(update={"chain_cap": 3})
    world_engine.library.worlds["manor"] = world_engine.world("manor").model_copy(update={"settings": chains})
    await world_engine.setup_server("g", "manor")
    await world_engine.summon(A, "Ada")
    await world_engine.summon(A, "Bram", "hall")
    script.slow_words = {"friend"}
    requests = len(running.requests)
    turn = asyncio.create_task(world_engine.handle(InboundLine(A, "u1", "Ann", "Ada, thank you, friend.")))
    await _reached(running, requests + 1)
    reset = await world_engine.reset_server("g")
    assert (reset.forgotten, reset.reopened) == (2, 2) and not turn.done()
    outcome = await turn
    assert not outcome.utterances and any("reset" in n.text for n in outcome.notices)
    scene = await world_engine.require_scene(A)
    assert await store.recent_messages(scene.id, 10) == [], "the old turn or its chain wrote into the reopened scene"
    assert await store.members(scene.id) == []
    assert await store.events("g", "manor", limit=-1) == []
    await _rebuilt_equals_stored(world_engine, store)
