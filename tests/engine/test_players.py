"""Personas and control of the table, through the engine on a real SQLite file and the real openai SDK
against the local model server (which records every request body)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import numpy as np
import pytest

from bot.engine.lines import InboundLine, SceneKey
from bot.engine.personas import PersonaError, parse_persona
from bot.engine.scene import SceneEngine
from bot.errors import EnsembleError
from bot.model.openai_chat import OpenAIChatModel
from bot.store.own_lines import last_line_of
from bot.testing.openai_server import OpenAIServer

pytestmark = pytest.mark.both_databases  # the store on SQLite, then on PostgreSQL

API_KEY = "sk-test-players"
KEY = SceneKey("guild-1", "channel-1")


@pytest.fixture
async def server() -> AsyncIterator[OpenAIServer]:
    async with OpenAIServer(api_key=API_KEY) as running:
        yield running


async def _engine(store, library, clock, server: OpenAIServer, model_name: str) -> SceneEngine:
    model = OpenAIChatModel(base_url=server.base_url, api_key=API_KEY, model=model_name, request_timeout=5, max_attempts=1)
    engine = SceneEngine(store=store, model=model, library=library, clock=clock, rng=random.Random(1), model_name=model_name)
    await engine.open_scene(KEY, "manor")
    return engine


def line(text: str, author: str = "ann", name: str = "Ann", platform: str | None = None) -> InboundLine:
    return InboundLine(KEY, author_id=author, author_name=name, text=text, platform_message_id=platform)


def npc_requests(server: OpenAIServer) -> list[list[dict]]:
    """Message lists of the NPC calls (their first message is the character's own system prompt)."""
    return [r.messages for r in server.requests if r.messages and str(r.messages[0].get("content", "")).startswith("You are ")]


async def test_persona_is_the_players_name_and_m2_her_gets_it_as_user_system(store, library, clock, server):
    """Under M2-her the persona is the user_system message; the line, the narration of a move and the
    history all carry the persona's name; the Discord name appears nowhere in the prompt."""
    engine = await _engine(store, library, clock, server, "M2-her")
    await engine.personas.set("guild-1", "ann", "Captain Reyes", "A scarred ex-navy captain who lost her ship.", None, "en")
    await engine.summon(KEY, "Ada")
    server.enqueue("Evening, Captain.")
    await engine.handle(line("Ada, is the hall always this cold?"))
    messages = npc_requests(server)[-1]
    personas = [m for m in messages if m["role"] == "user_system"]
    assert personas == [{"role": "user_system", "content": "A scarred ex-navy captain who lost her ship.", "name": "Captain Reyes"}]
    history = [m for m in messages if m["role"] == "user"]
    assert history[-1]["name"] == "Captain Reyes" and history[-1]["content"] == "Ada, is the hall always this cold?"
    assert "Ann" not in str(messages)
    assert "Captain Reyes" in messages[-1]["content"]  # "Players in the scene ...: Captain Reyes"

    moved = await engine.go(KEY, "garden", "Ann", "ann")
    assert moved.narrations[0].text.startswith("Captain Reyes goes from Great Hall to Garden")
    scene = await engine.require_scene(KEY)
    assert [m.speaker for m in await store.transcript(scene.id) if m.kind == "user"] == ["Captain Reyes"]


async def test_several_players_share_one_block_and_other_models_get_it_folded(store, library, clock, server):
    """Two players with personas: one block listing both. A model without native roles gets that block
    folded into the system prompt and no user_system role at all."""
    engine = await _engine(store, library, clock, server, "fake-model")
    await engine.personas.set("guild-1", "ann", "Reyes", "An ex-navy captain.", None, "en")
    await engine.personas.set("guild-1", "bob", "Lin", "A ferrywoman with a debt.", "https://example.org/lin.png", "en")
    await engine.summon(KEY, "Ada")
    server.enqueue("Welcome.", "And you, Lin.")
    await engine.handle(line("Ada, hello."))
    await engine.handle(line("Ada, I came too.", author="bob", name="Bob"))
    messages = npc_requests(server)[-1]
    assert all(m["role"] in ("system", "user", "assistant") for m in messages)
    system = messages[0]["content"]
    assert "The players:\nThe players in this scene, as the story knows them" in system
    assert "- Lin: A ferrywoman with a debt." in system and "- Reyes: An ex-navy captain." in system
    assert system.index("- Lin:") < system.index("- Reyes:")  # a stable order keeps the cached prefix
    assert messages[-2]["content"] == "Lin: Ada, I came too."


async def test_a_character_that_did_not_hear_a_player_gets_no_persona_of_theirs(store, library, clock, server):
    """The persona goes only into prompts of characters who heard that player."""
    engine = await _engine(store, library, clock, server, "M2-her")
    await engine.personas.set("guild-1", "ann", "Reyes", "An ex-navy captain.", None, "en")
    await engine.summon(KEY, "Ada")
    await engine.summon(KEY, "Bram", "orchard")  # out of earshot of the hall
    server.enqueue("Hm.", "Apples.")
    await engine.handle(line("Ada, hello."))
    await engine.table.nudge(KEY, "Bram")
    bram = npc_requests(server)[-1]
    assert bram[0]["content"].startswith("You are Bram")
    assert not [m for m in bram if m["role"] == "user_system"]


async def test_bad_personas_are_refused_with_a_sentence_and_nothing_stored(store, library, clock, server):
    engine = await _engine(store, library, clock, server, "fake-model")
    with pytest.raises(PersonaError, match="http or https"):
        await engine.personas.set("guild-1", "ann", "Reyes", "A captain.", "javascript:alert(1)", "en")
    with pytest.raises(PersonaError, match="at most 64"):
        await engine.personas.set("guild-1", "ann", "R" * 65, "A captain.", None, "en")
    with pytest.raises(PersonaError, match="needs a description"):
        await engine.personas.set("guild-1", "ann", "Reyes", "   ", None, "en")
    with pytest.raises(PersonaError, match="用法"):
        parse_persona("只有名字", "zh")
    assert await engine.personas.get("guild-1", "ann") is None
    assert parse_persona("Reyes | captain: retired", "en") == ("Reyes", "captain: retired")
    assert parse_persona("林晚：渡口的船娘", "zh") == ("林晚", "渡口的船娘")
    assert await engine.personas.show("guild-1", "ann", "en") == "You have no persona on this server; the characters call you by your name."


async def test_hushed_character_stays_silent_but_hears_and_remembers(store, library, clock, server):
    engine = await _engine(store, library, clock, server, "fake-model")
    await engine.summon(KEY, "Ada")
    await engine.summon(KEY, "Bram")
    assert await engine.table.hush(KEY, "Ada") == "Ada is hushed: silent until /unhush, still listening and remembering."
    server.enqueue("The cook answers.")
    outcome = await engine.handle(line("Ada, the secret password is heron."))
    assert [u.speaker for u in outcome.utterances] == ["Bram"]  # Ada was named, but she is hushed
    scene = await engine.require_scene(KEY)
    said = (await store.transcript(scene.id))[-2]
    assert said.kind == "user" and "ada" in said.heard_by
    assert any("heron" in text for _, _, text, _, _ in await store.known_facts(scene.id, "ada"))
    assert "hushed" in await engine.why(KEY)
    nudged = await engine.table.nudge(KEY, "Ada")
    assert nudged.notices[0].text == "Ada is hushed; /unhush them first."
    assert await engine.table.hush(KEY, "Ada", False) == "Ada may speak again."
    server.enqueue("Heron, yes.")
    assert [u.speaker for u in (await engine.handle(line("Ada?"))).utterances] == ["Ada"]


async def test_answer_modes_are_kept_per_scene_and_nudge_speaks_in_manual(store, library, clock, server):
    engine = await _engine(store, library, clock, server, "fake-model")
    await engine.summon(KEY, "Ada")
    await engine.summon(KEY, "Bram")
    assert (await engine.table.set_mode(KEY, "mentioned")).startswith("Answer mode here is now mentioned")
    assert not (await engine.handle(line("What a cold night."))).utterances
    server.enqueue("Cold indeed.")
    assert [u.speaker for u in (await engine.handle(line("Bram, is it cold?"))).utterances] == ["Bram"]

    await engine.table.set_mode(KEY, "手动")  # the Chinese label works too
    fresh = SceneEngine(store=store, model=engine.model, library=library, clock=clock, rng=random.Random(1))
    assert "manual" in await fresh.table.mode(KEY)  # persisted, not held in memory
    assert not (await fresh.handle(line("Ada, anything?"))).utterances
    assert "manual mode" in await fresh.why(KEY)
    server.enqueue("*Ada clears her throat.* Well then.")
    nudged = await fresh.table.nudge(KEY, "Ada")
    assert [u.text for u in nudged.utterances] == ["*Ada clears her throat.* Well then."]
    assert "nudged by a player" in await fresh.why(KEY)
    with pytest.raises(EnsembleError, match="Usage: /mode"):
        await fresh.table.set_mode(KEY, "loud")
    other = SceneKey("guild-1", "channel-2")
    await fresh.open_scene(other, "manor")
    assert "lively" in await fresh.table.mode(other)


async def test_mentioned_mode_lets_only_a_named_character_react_in_a_chain():
    """Pure: in mentioned mode a reaction comes only from a character the NPC's line named."""
    from bot.engine.scheduler import Candidate, TableRules, choose_reactor

    rules = TableRules("mentioned")
    cands = [Candidate("ada", 0.9, 3), Candidate("bram", 0.1, 3, addressed_at=4)]
    assert choose_reactor(cands, last_speaker="lin", line_words=frozenset(), rng=random.Random(0), table=rules).speakers == ("bram",)
    assert not choose_reactor(cands[:1], last_speaker="lin", line_words=frozenset(), rng=random.Random(0), table=rules).speakers
    manual = TableRules("manual")
    assert not choose_reactor(cands, last_speaker="lin", line_words=frozenset(), rng=random.Random(0), table=manual).speakers


async def test_impersonate_suggests_in_the_persona_voice_and_stores_nothing(store, library, clock, server):
    engine = await _engine(store, library, clock, server, "fake-model")
    await engine.personas.set("guild-1", "ann", "Reyes", "An ex-navy captain, curt.", None, "en")
    await engine.summon(KEY, "Ada")
    server.enqueue("Welcome, captain.")
    await engine.handle(line("Ada, evening."))
    scene = await engine.require_scene(KEY)
    before = await store.transcript(scene.id)
    server.enqueue("I set my hat on the table. 'Whose boat is that at the quay?'")
    said = await engine.table.impersonate(KEY, "ann", "Ann")
    assert said == "Suggested line for Reyes (only you see it; send it yourself if you like it): I set my hat on the table. 'Whose boat is that at the quay?'"
    asked = server.requests[-1].messages
    assert "Reyes: An ex-navy captain, curt." in asked[0]["content"] and "Ada: Welcome, captain." in asked[1]["content"]
    assert await store.transcript(scene.id) == before
    server.enqueue("Hm.")
    await engine.handle(line("Ada?"))
    assert "Whose boat" not in str(npc_requests(server)[-1])


async def test_edit_before_answer_is_used_and_after_answer_is_refused(store, library, clock, server):
    engine = await _engine(store, library, clock, server, "fake-model")
    await engine.summon(KEY, "Ada")
    await engine.set_paused(KEY, True)
    await engine.handle(line("I hide the key under the mat.", platform="m1"))
    notice = await engine.own_lines.edit(KEY, "I hide the key in the well.", platform_message_id="m1")
    assert notice is not None and notice.code == "edited"
    scene = await engine.require_scene(KEY)
    stored = await last_line_of(store, scene.id, "ann")
    assert stored is not None and stored.text == "I hide the key in the well."
    facts = " ".join(text for _, _, text, _, _ in await store.known_facts(scene.id, "ada"))
    assert "well" in facts and "mat" not in facts
    await engine.set_paused(KEY, False)
    server.enqueue("The well, then.")
    await engine.handle(line("Ada, remember where it is.", platform="m2"))
    assert "I hide the key in the well." in str(npc_requests(server)[-1])
    refused = await engine.own_lines.edit(KEY, "Ada, forget it.", platform_message_id="m2")
    assert refused is not None and refused.text == "The characters already answered that line; they remember it as first written."
    assert (await store.message_by_platform_id(scene.id, "m2")).text == "Ada, remember where it is."
    assert await engine.own_lines.edit(KEY, "x", platform_message_id="unknown") is None


async def test_delete_removes_the_line_and_what_characters_remember_of_it(store, library, clock, server):
    engine = await _engine(store, library, clock, server, "fake-model")
    await engine.summon(KEY, "Ada")
    server.enqueue("I'll keep it.", "Go on.")
    await engine.handle(line("Ada, my secret: I stole the silver.", platform="m1"))
    scene = await engine.require_scene(KEY)
    assert any("silver" in text for _, _, text, _, _ in await store.known_facts(scene.id, "ada"))
    notice = await engine.own_lines.delete(KEY, platform_message_id="m1")
    assert notice is not None and notice.code == "deleted"
    assert await store.message_by_platform_id(scene.id, "m1") is None
    assert not any("silver" in text for _, _, text, _, _ in await store.known_facts(scene.id, "ada"))
    await engine.handle(line("Ada, what now?", platform="m2"))
    assert "silver" not in str(npc_requests(server)[-1])
    assert (await engine.own_lines.delete(KEY, author_id="nobody")).text == "You have no line in this scene to change."


async def test_m2_her_gets_one_user_system_block_listing_several_players(store, library, clock, server):
    engine = await _engine(store, library, clock, server, "M2-her")
    await engine.personas.set("guild-1", "ann", "Reyes", "An ex-navy captain.", None, "en")
    await engine.personas.set("guild-1", "bob", "Lin", "A ferrywoman.", None, "en")
    await engine.summon(KEY, "Ada")
    server.enqueue("Welcome.", "And you.")
    await engine.handle(line("Ada, hello."))
    await engine.handle(line("Ada, me too.", author="bob", name="Bob"))
    blocks = [m for m in npc_requests(server)[-1] if m["role"] == "user_system"]
    assert blocks == [{
        "role": "user_system",
        "content": "The players in this scene, as the story knows them (address each by this name):\n- Lin: A ferrywoman.\n- Reyes: An ex-navy captain.",
    }]


# -- own lines and the memory index -----------------------------------------------------------------


async def test_an_edit_is_what_characters_recall_and_a_delete_takes_the_notes_that_retold_it(store, library, clock, server):
    """An edited line is searched by its new words only; deleting a line drops its search rows and the
    notes and summaries written from it, while older notes stay."""
    engine = await _engine(store, library, clock, server, "fake-model")
    await engine.summon(KEY, "Ada")
    scene = await engine.require_scene(KEY)
    await engine.set_paused(KEY, True)
    await engine.handle(line("Ada, the old map is buried by the fountain.", platform="m0"))
    first = await store.message_by_platform_id(scene.id, "m0")
    await store.add_notes(scene.id, "ada", first.id, ["Ann knows of an old map."])
    await engine.handle(line("I hide the key under the doormat.", platform="m1"))
    notice = await engine.own_lines.edit(KEY, "I hide the key inside the wishing well.", platform_message_id="m1")
    assert notice is not None and notice.code == "edited"
    edited = await store.message_by_platform_id(scene.id, "m1")

    def hits(found):
        return [h.item_id for h in found]

    assert hits(await store.memory.lexical(scene.id, "ada", "wishing well", k=5, before_id=10**9)) == [edited.id]
    assert edited.id not in hits(await store.memory.lexical(scene.id, "ada", "doormat", k=5, before_id=10**9))

    await store.add_summaries(scene.id, edited.id, {"ada": "Ann hid a key in the wishing well."})
    await store.add_notes(scene.id, "ada", edited.id, ["Ann's key lies in the wishing well."])
    deleted = await engine.own_lines.delete(KEY, platform_message_id="m1")
    assert deleted is not None and deleted.code == "deleted"
    assert edited.id not in hits(await store.memory.lexical(scene.id, "ada", "wishing well", k=5, before_id=10**9))
    assert [n.text for n in await store.memory.notes(scene.id, "ada", limit=10)] == ["Ann knows of an old map."]
    assert await store.latest_summary(scene.id, "ada") is None
    assert "wishing" not in await engine.memory(KEY, "Ada")


class WordEmbedder:
    """Deterministic unit vectors from the words of a text (a test stand-in for a real embedder)."""

    name = "words-test"

    async def embed(self, texts, *, query: bool = False):
        rows = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                rows[i, sum(map(ord, word)) % 64] += 1.0
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)


async def test_an_edited_line_far_behind_the_embedder_is_embedded_again_from_its_new_text(store, library, clock, server):
    """The edit drops the line's vector; the embedder redoes it even when many lines were embedded since."""
    model = OpenAIChatModel(base_url=server.base_url, api_key=API_KEY, model="fake-model", request_timeout=5, max_attempts=1)
    embedder = WordEmbedder()
    engine = SceneEngine(store=store, model=model, library=library, clock=clock, rng=random.Random(1), embedder=embedder)
    engine.start_background()
    try:
        await engine.open_scene(KEY, "manor")
        await engine.summon(KEY, "Ada")
        await engine.set_paused(KEY, True)
        await engine.handle(line("I hide the key under the doormat.", platform="m1"))
        other = SceneKey("guild-1", "channel-2")
        await engine.open_scene(other, "manor")
        await engine.set_paused(other, True)
        for i in range(60):  # more lines than the embedder ever looks back over
            await engine.handle(InboundLine(other, "bob", "Bob", f"Line number {i} in the other room."))
        await engine.drain()
        scene = await engine.require_scene(KEY)
        edited = await store.message_by_platform_id(scene.id, "m1")
        await engine.own_lines.edit(KEY, "I hide the key inside the wishing well.", platform_message_id="m1")
        await engine.drain()
        row = await store.fetch_one("SELECT vector FROM memory_vectors WHERE item_id = ?", (edited.id,))
        assert row is not None, "the edited line has a vector again"
        expected = (await embedder.embed(["Ann: I hide the key inside the wishing well."]))[0]
        assert np.allclose(np.frombuffer(row[0], dtype=np.float32), expected)
    finally:
        await engine.aclose()


# -- what the engine keeps in memory of personas and the table's rules ---------------------------------


def test_read_cache_drops_the_least_recently_used_and_keeps_no_read_a_write_overtook():
    from bot.engine.readcache import ReadCache

    cache: ReadCache[str, int | None] = ReadCache(2)
    cache.fill("a", 1, cache.writes)
    cache.fill("b", None, cache.writes)  # "known to have none" is kept too
    assert cache.lookup("a") == (True, 1)  # a is now the most recently used
    cache.fill("c", 3, cache.writes)
    assert cache.lookup("b") == (False, None) and cache.lookup("a") == (True, 1) and len(cache) == 2
    noted = cache.writes
    with cache.written("a"):
        assert "a" not in cache
        cache.fill("a", 1, cache.writes)  # a read that started and ended during the write...
    assert "a" not in cache  # ...is dropped when the write ends
    cache.fill("a", 1, noted)  # a read that started before the write, ending after it
    assert "a" not in cache
    cache.fill("a", 2, cache.writes)
    assert cache.lookup("a") == (True, 2)


class CountingPersonas:
    """A persona store that counts reads and can hold one read until released."""

    def __init__(self, inner) -> None:
        import asyncio

        self.inner = inner
        self.reads = 0
        self.hold = asyncio.Event()
        self.hold.set()
        self.reading = asyncio.Event()

    async def get(self, guild_id, user_id):
        self.reads += 1
        found = await self.inner.get(guild_id, user_id)
        self.reading.set()
        await self.hold.wait()
        return found

    async def many(self, guild_id, user_ids):
        self.reads += 1
        return await self.inner.many(guild_id, user_ids)

    def __getattr__(self, name):
        return getattr(self.inner, name)


async def test_personas_are_read_once_per_server_and_player_and_a_change_is_seen_at_once(store, library, clock, server):
    """After the first read a player's persona comes from memory; /persona set and clear are seen on the
    next line; the same player id on another server never gets this server's persona."""
    from bot.engine.personas import Personas
    from bot.store.personas import PersonaStore

    counting = CountingPersonas(PersonaStore(store))
    personas = Personas(counting)
    assert await personas.name_for("guild-1", "ann", "Ann") == "Ann"
    assert await personas.name_for("guild-1", "ann", "Ann") == "Ann"
    assert counting.reads == 1  # "no persona" is remembered too
    await personas.set("guild-1", "ann", "Reyes", "An ex-navy captain.", None, "en")
    assert await personas.name_for("guild-1", "ann", "Ann") == "Reyes"
    assert [p.name for p in await personas.heard("guild-1", ["ann", "bob"])] == ["Reyes"]
    assert [p.name for p in await personas.heard("guild-1", ["ann", "bob"])] == ["Reyes"]
    reads = counting.reads
    assert await personas.name_for("guild-1", "ann", "Ann") == "Reyes" and counting.reads == reads
    assert await personas.name_for("guild-2", "ann", "Ann") == "Ann"  # another server: its own lookup
    assert await personas.heard("guild-2", ["ann"]) == []
    await personas.set("guild-1", "ann", "Lin", "A ferrywoman.", None, "en")
    assert await personas.name_for("guild-1", "ann", "Ann") == "Lin"
    await personas.clear("guild-1", "ann", "en")
    assert await personas.name_for("guild-1", "ann", "Ann") == "Ann"
    assert await personas.heard("guild-1", ["ann"]) == []


async def test_a_persona_read_overtaken_by_a_set_does_not_bring_the_old_one_back(store, library, clock, server):
    """A line's lookup that read "no persona" while the player set one must not keep that answer."""
    import asyncio

    from bot.engine.personas import Personas
    from bot.store.personas import PersonaStore

    counting = CountingPersonas(PersonaStore(store))
    personas = Personas(counting)
    counting.hold.clear()
    slow = asyncio.create_task(personas.name_for("guild-1", "ann", "Ann"))
    await counting.reading.wait()  # the read has its (empty) answer and is held before returning it
    await personas.set("guild-1", "ann", "Reyes", "An ex-navy captain.", None, "en")
    counting.hold.set()
    assert await slow == "Ann"  # it answers what it read...
    assert await personas.name_for("guild-1", "ann", "Ann") == "Reyes"  # ...but that is not what is kept


async def test_table_rules_are_kept_per_scene_and_never_reach_a_reset_or_another_servers_scene(store, library, clock, server):
    """The rules are read once per scene; a scene id that a reset freed and another server's new scene
    took starts with no hushed character and the default mode, and so does a server's reopened scene."""
    from bot.engine.servers import reset_server

    engine = await _engine(store, library, clock, server, "fake-model")
    await store.bind_server("guild-1", "manor")
    scene = await engine.require_scene(KEY)
    await engine.summon(KEY, "Ada")
    await engine.table.hush(KEY, "Ada")
    await engine.table.set_mode(KEY, "mentioned")
    reads = {"n": 0}
    mode = engine.table.store.mode

    async def counted(scene_id):
        reads["n"] += 1
        return await mode(scene_id)

    engine.table.store.mode = counted
    first = await engine.table.rules(scene.id, "guild-1")
    assert first.mode == "mentioned" and "ada" in first.hushed
    assert await engine.table.rules(scene.id, "guild-1") == first and reads["n"] == 1

    await store.update_scene(scene.id, enabled=False)
    await reset_server(engine, "guild-1")  # nothing reopens: the id is free
    other = await engine.open_scene(SceneKey("guild-2", "channel-9"), "manor")
    if store.dialect == "sqlite":
        assert other.id == scene.id, "SQLite reuses the freed id (the case this guards)"
    else:
        assert other.id > scene.id  # PostgreSQL's identity never reuses an id: the case cannot arise there
    rules = await engine.table.rules(other.id, "guild-2")
    assert rules.mode == "lively" and not rules.hushed

    mine = await engine.open_scene(SceneKey("guild-1", "channel-2"), "manor")
    await engine.table.hush(SceneKey("guild-1", "channel-2"), "Ada")
    assert "ada" in (await engine.table.rules(mine.id, "guild-1")).hushed  # a write is seen at once
    await reset_server(engine, "guild-1")  # the channel reopens, empty, under a new generation
    reopened = await engine.require_scene(SceneKey("guild-1", "channel-2"))
    assert reopened.id == mine.id if store.dialect == "sqlite" else reopened.id > mine.id
    rules = await engine.table.rules(reopened.id, "guild-1")
    assert rules.mode == "lively" and not rules.hushed


async def test_a_summary_being_written_when_a_line_is_deleted_does_not_keep_it(engine, key, model, store):
    """A background summary that read the line before its delete never writes what it made of it."""
    import asyncio
    import json

    from bot.core.ports import ChatResult

    world = engine.library.worlds["manor"]
    engine.library.worlds["manor"] = world.model_copy(update={"settings": world.settings.model_copy(update={"summary_every": 3})})
    await engine.summon(key, "Ada")
    gate, asked = asyncio.Event(), asyncio.Event()
    original = model.complete

    async def slow_summaries(messages, options):
        if "keep the memory" in messages[0].content:
            asked.set()
            await gate.wait()
            return ChatResult(json.dumps({"summary": "Ann confessed she stole the silver.", "facts": ["Ann stole the silver."]}))
        return await original(messages, options)

    model.complete = slow_summaries  # type: ignore[method-assign]
    await engine.handle(InboundLine(key, "ann", "Ann", "Ada, hello."))
    await engine.handle(InboundLine(key, "ann", "Ann", "Ada, my secret: I stole the silver.", platform_message_id="m1"))
    await engine.handle(InboundLine(key, "ann", "Ann", "Ada, goodbye for now."))
    await asyncio.wait_for(asked.wait(), 10)  # the pass has read the lines, the secret among them
    await engine.own_lines.delete(key, platform_message_id="m1")
    gate.set()
    await engine.drain()
    scene = await engine.require_scene(key)
    assert await store.latest_summary(scene.id, "ada") is None
    assert not [n for n in await store.memory.notes(scene.id, "ada", limit=10) if "silver" in n.text]
    assert "silver" not in await engine.memory(key, "Ada")
