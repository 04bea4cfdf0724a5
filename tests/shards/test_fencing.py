"""Fencing tokens at commit: a process whose shard was taken over cannot commit a turn for its servers.

Process A holds shard 0 and writes through its ``Store``; process B takes the shard over (A's lease ran
out by B's clock while A was paused, so A still believes it owns the shard). A's next commit checks its
token inside the write transaction and is refused, writing nothing. Both layouts: the leases in the
story's own SQLite file, and the leases in a real PostgreSQL with the story in SQLite.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from engine.conftest import WORLD, character

from bot.content.loader import Library
from bot.core.ports import FakeClock
from bot.engine.lines import InboundLine, SceneKey
from bot.engine.scene import SceneEngine
from bot.shards.leases import ShardFence, ShardKeeper, ShardLeases
from bot.shards.plan import ShardPlan, Take
from bot.store import Store
from bot.store.database import open_database
from bot.store.fencing import Fenced
from bot.store.migrate import migrate_database
from bot.store.records import NewMessage, TurnCommit
from bot.testing.scripted_model import ScriptedModel

GUILD = str(5 << 22)  # shard 0 of 1: every server is
PLAN = ShardPlan(1, (0,))


async def no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


class Layout:
    """A's store with its fence, A's and B's lease handles, and B's clock (A's never moves)."""

    def __init__(self, store: Store, a: ShardKeeper, b: ShardLeases, b_clock: FakeClock, dbs: list) -> None:
        self.store, self.a, self.b, self.b_clock, self._dbs = store, a, b, b_clock, dbs

    async def take_over(self) -> None:
        """B sees A's lease expired (A is paused, its clock stands still) and takes shard 0."""
        self.b_clock.advance(31)
        took = await self.b.try_acquire(0, 1)
        assert isinstance(took, Take) and took.lease.token == self.a.held[0].token + 1

    async def close(self) -> None:
        await self.store.close()
        for db in self._dbs:
            await db.close()


@pytest.fixture(params=["leases in the SQLite file", "leases in PostgreSQL"])
async def layout(request: pytest.FixtureRequest, tmp_path: Path):
    story = tmp_path / "story.db"
    shared = request.param == "leases in the SQLite file"
    target = str(story) if shared else request.getfixturevalue("pg_url")
    a_clock, b_clock = FakeClock(), FakeClock()
    store = await Store.open(story, clock=a_clock)
    a_db, b_db = await open_database(target), await open_database(target)
    await migrate_database(a_db)
    a = ShardKeeper(ShardLeases(a_db, holder="a", clock=a_clock, ttl=30), PLAN, sleep=no_wait)
    await a.acquire_all()
    store.fence = ShardFence(a, same_database=shared)
    built = Layout(store, a, ShardLeases(b_db, holder="b", clock=b_clock, ttl=30), b_clock, [a_db, b_db])
    yield built
    await built.close()


async def open_turn(store: Store, text: str = "Ada, where is the key?"):
    scene = await store.create_scene(GUILD, "c", "manor", "hall")
    start = await store.begin_turn(scene.id, NewMessage(kind="user", speaker="Ann", text=text, heard_by=("ada",)))
    return scene, start


def reply() -> TurnCommit:
    return TurnCommit(messages=[NewMessage(kind="npc", speaker="Ada", text="In the well.", character_id="ada", heard_by=("ada",))])


async def test_the_holder_commits_and_a_fenced_out_process_cannot(layout: Layout):
    store = layout.store
    scene, first = await open_turn(store)
    assert len(await store.commit_turn(scene, first.turn_id, reply())) == 1
    second = await store.begin_turn(scene.id, NewMessage(kind="user", speaker="Ann", text="And the door?", heard_by=("ada",)))
    await layout.take_over()
    assert layout.a.owns_guild(GUILD)  # by its own clock A still believes it owns the shard: only the token says no
    with pytest.raises(Fenced) as caught:
        await store.commit_turn(scene, second.turn_id, reply())
    assert "shard 0" in caught.value.user_message
    assert [m.text for m in await store.transcript(scene.id)] == ["Ada, where is the key?", "In the well.", "And the door?"]
    assert await store.turn_status(second.turn_id) == "open"  # left for the shard's new process
    with pytest.raises(Fenced):
        await store.record_turn(scene, reply())
    with pytest.raises(Fenced):
        await store.commit_world_events(GUILD, "manor", ())
    assert await store.turn_counts(scene.id) == {"done": 1, "open": 1}


async def test_a_server_of_a_shard_never_held_is_refused_before_any_write(layout: Layout):
    store = layout.store
    scene, start = await open_turn(store)
    layout.a.held.clear()  # as after losing the lease at a heartbeat
    with pytest.raises(Fenced):
        await store.commit_turn(scene, start.turn_id, reply())
    assert await store.turn_status(start.turn_id) == "open"


async def test_a_takeover_waits_for_the_commit_it_would_fence(layout: Layout):
    """Between A's check and A's commit the shard cannot change hands: B's takeover blocks on the lease
    (SQLite's write lock, or the row locked FOR SHARE in PostgreSQL) until A's transaction has committed."""
    store = layout.store
    scene, start = await open_turn(store)
    layout.b_clock.advance(31)
    async with store._fenced_transaction(GUILD) as conn:
        await conn.execute("UPDATE turns SET status = 'done' WHERE id = ?", (start.turn_id,))
        takeover = asyncio.create_task(layout.b.try_acquire(0, 1))
        await asyncio.sleep(0.3)
        assert not takeover.done(), "the takeover landed between the fence check and the commit"
    took = await asyncio.wait_for(takeover, 10)
    assert isinstance(took, Take)
    assert await store.turn_status(start.turn_id) == "done"  # A's write, committed under A's lease


async def test_the_engine_says_nothing_for_a_fenced_turn(layout: Layout):
    """A turn whose commit is fenced out posts nothing and writes no reply; the player's line is kept."""
    store = layout.store
    library = Library(characters={"ada": character("ada", "Ada", talk=0.9)}, worlds={"manor": WORLD})
    model = ScriptedModel()
    engine = SceneEngine(store=store, model=model, library=library, clock=FakeClock(), rng=random.Random(1))
    key = SceneKey(GUILD, "c")
    await engine.open_scene(key, "manor")
    await engine.summon(key, "Ada")
    model.enqueue("The key? Try the well.")
    answered = await engine.handle(InboundLine(key, "u", "Ann", "Ada, where is the key?"))
    assert answered.utterances
    await layout.take_over()
    model.enqueue("A reply nobody may see.")
    fenced = await engine.handle(InboundLine(key, "u", "Ann", "Ada, and the door?"))
    assert fenced.outputs == () and not fenced.duplicate
    scene = await engine.require_scene(key)
    texts = [m.text for m in await store.transcript(scene.id)]
    assert "Ada, and the door?" in texts and "A reply nobody may see." not in texts
    assert await store.turn_status(fenced.turn_id) == "open"


async def test_start_up_recovery_marks_only_the_open_turns_of_owned_servers(tmp_path: Path):
    """A process starting beside others interrupts the open turns of its own shards' servers only: an
    open turn of another shard's server is being played by that shard's process right now."""
    clock = FakeClock()
    store = await Store.open(tmp_path / "story.db", clock=clock)
    db = await open_database(tmp_path / "story.db")
    try:
        keeper = ShardKeeper(ShardLeases(db, holder="a", clock=clock, ttl=30), ShardPlan(2, (0,)), sleep=no_wait)
        await keeper.acquire_all()
        turns = {}
        for guild in (str(2 << 22), str(3 << 22), "local"):  # shard 0, shard 1, a terminal scene
            scene = await store.create_scene(guild, "c", "manor", "hall")
            turns[guild] = (await store.begin_turn(scene.id, NewMessage(kind="user", speaker="Ann", text="Hello?"))).turn_id
        assert await store.interrupt_open_turns(keeper.owns_guild) == 1
        assert [await store.turn_status(turns[g]) for g in (str(2 << 22), str(3 << 22), "local")] == ["interrupted", "open", "open"]
        assert await store.interrupt_open_turns(None) == 2
    finally:
        await db.close()
        await store.close()


@pytest.mark.both_databases
async def test_a_new_holder_posts_the_lines_its_shard_left_in_the_outbox(store, clock):
    """Lines committed but not yet posted when a process died: the next process of that shard posts them
    (after its restart, ``resume``), and leaves another shard's pending lines to that shard's process."""
    ours, theirs = str(2 << 22), str(3 << 22)  # shards 0 and 1 of 2
    library = Library(characters={"ada": character("ada", "Ada", talk=0.9)}, worlds={"manor": WORLD})
    engine = SceneEngine(store=store, model=ScriptedModel(), library=library, clock=clock, rng=random.Random(1))
    dead: list[str] = []

    async def never(line, output) -> None:  # the dead process: its deliveries never happen
        dead.append(output.text)
        raise ConnectionError("killed")

    engine.attach_poster(never, attempts=1)
    engine.poster.wake = lambda key: None  # killed right after the commit: nothing posted
    for guild in (ours, theirs):
        key = SceneKey(guild, "c")
        await engine.open_scene(key, "manor")
        await engine.summon(key, "Ada")
        engine.model.enqueue(f"A line for {guild}.")
        await engine.handle(InboundLine(key, "u", "Ann", "Ada, news?"))
    posted: list[tuple[str, str]] = []

    async def deliver(line, output) -> None:
        posted.append((line.guild_id, output.text))

    successor = SceneEngine(store=store, model=ScriptedModel(), library=library, clock=clock, rng=random.Random(2))
    poster = successor.attach_poster(deliver)
    poster.owns_guild = lambda guild_id: guild_id == ours
    assert await poster.resume() == 1
    await poster.drain()
    assert posted == [(ours, f"A line for {ours}.")] and dead == []
    assert await poster.repo.channels_with_pending() == [(theirs, "c")]
