"""Store contracts: idempotent intake, one transaction per turn, swipes, per-server isolation."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest

from bot.store.records import NewEvent, NewMessage, NpcStateRow, TurnCommit

pytestmark = pytest.mark.both_databases  # every test with the store: on SQLite and on PostgreSQL


def user_line(text: str, pid: str | None = None) -> NewMessage:
    return NewMessage(kind="user", speaker="Ann", text=text, author_id="u1", platform_message_id=pid)


def npc_line(text: str, cid: str = "mira") -> NewMessage:
    return NewMessage(kind="npc", speaker=cid.title(), text=text, character_id=cid)


async def test_inbound_line_is_processed_once(store):
    """The same platform message id twice gives the same turn and writes nothing new."""
    scene = await store.create_scene("g", "c", "harbor", "docks")
    first = await store.begin_turn(scene.id, user_line("hello", "m-1"))
    again = await store.begin_turn(scene.id, user_line("hello", "m-1"))
    assert first.is_new and not again.is_new
    assert again.turn_id == first.turn_id
    assert len(await store.transcript(scene.id)) == 1


async def test_inbound_is_stored_before_the_turn_commits(store):
    """After begin_turn the line is durable and the turn is open."""
    scene = await store.create_scene("g", "c", "harbor", "docks")
    start = await store.begin_turn(scene.id, user_line("hi"))
    assert await store.turn_status(start.turn_id) == "open"
    assert [m.text for m in await store.transcript(scene.id)] == ["hi"]


async def test_commit_is_all_or_nothing(store):
    """A failure in the middle of a commit leaves none of the turn's writes behind."""
    scene = await store.create_scene("g", "c", "harbor", "docks")
    start = await store.begin_turn(scene.id, user_line("hi"))
    broken = TurnCommit(
        messages=[npc_line("first reply"), NewMessage(kind="npc", speaker="X", text="x", reply_to_id=999_999)],
        events=[NewEvent("mood", "mira", {"label": "glad"})],
    )
    with pytest.raises((sqlite3.IntegrityError, asyncpg.ForeignKeyViolationError), match="(?i)foreign key"):
        await store.commit_turn(scene, start.turn_id, broken)
    assert [m.text for m in await store.transcript(scene.id)] == ["hi"]
    assert await store.events("g", "harbor") == []
    assert await store.turn_status(start.turn_id) == "open"


async def test_open_turns_are_marked_interrupted(store):
    """Turns left open by a stop become interrupted; their inbound lines stay."""
    scene = await store.create_scene("g", "c", "harbor", "docks")
    start = await store.begin_turn(scene.id, user_line("are you there?"))
    assert await store.interrupt_all_open_turns() == 1
    assert await store.turn_status(start.turn_id) == "interrupted"
    assert (await store.transcript(scene.id))[0].text == "are you there?"


async def test_swipes_and_the_kept_alternative(store):
    """Alternatives are stored; the one on screen when the story moves on is marked kept."""
    scene = await store.create_scene("g", "c", "harbor", "docks")
    start = await store.begin_turn(scene.id, user_line("hi"))
    [mid] = await store.commit_turn(scene, start.turn_id, TurnCommit(messages=[npc_line("one")]))
    options = {"rebuild": lambda checkpoint, events: checkpoint or {}, "settle": lambda fresh, planned: (planned, [])}
    assert (await store.choose_alternative(scene, mid, None, text="two", **options)).idx == 1
    assert (await store.choose_alternative(scene, mid, None, text="three", **options)).idx == 2
    await store.choose_alternative(scene, mid, 1, **options)
    assert (await store.message(scene.id, mid)).text == "two"
    await store.begin_turn(scene.id, user_line("next"))
    swipes = await store.swipes(mid)
    assert [(s.text, s.kept) for s in swipes] == [("one", False), ("two", True), ("three", False)]
    assert (await store.message(scene.id, mid)).settled


async def test_scenes_are_scoped_by_server(store):
    """The same channel id in two servers is two scenes; one cannot read the other's messages."""
    a = await store.create_scene("guild-a", "123", "harbor", "docks")
    b = await store.create_scene("guild-b", "123", "harbor", "docks")
    assert a.id != b.id
    start = await store.begin_turn(a.id, user_line("secret of a"))
    assert await store.transcript(b.id) == []
    assert await store.message(b.id, start.message_id) is None
    assert (await store.get_scene("guild-b", "123")).id == b.id


async def test_npc_state_seed_never_overwrites(store):
    """Seeding keeps state that already exists (a restart must not reset the world)."""
    await store.seed_npc_states("g", "harbor", [NpcStateRow("mira", "docks", "calm", 0.3)])
    await store.save_npc_states("g", "harbor", [NpcStateRow("mira", "market", "angry", 0.8)])
    await store.seed_npc_states("g", "harbor", [NpcStateRow("mira", "docks", "calm", 0.3)])
    state = (await store.npc_states("g", "harbor"))["mira"]
    assert (state.location, state.mood_label) == ("market", "angry")
