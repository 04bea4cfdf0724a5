"""``migrate-db``: a SQLite database that was played in, copied into a real PostgreSQL, row for row."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from engine.conftest import WORLD, character

from bot.content.loader import Library
from bot.engine.lines import InboundLine, SceneKey
from bot.engine.scene import SceneEngine
from bot.errors import StoreError
from bot.store import Store
from bot.store.copy import copy_order, copy_sqlite_to_postgres
from bot.store.database import Database, open_database
from bot.store.introspect import FULL_TEXT_COLUMNS, FULL_TEXT_TABLES, schema_shape, shape_differences
from bot.store.memory_index import MemoryIndex
from bot.store.migrate import database_version, discover, migrate_database
from bot.store.sqlite_db import SqliteDatabase
from bot.store.usage import UsageStore
from bot.testing.scripted_model import ScriptedModel
from bot.world.director import Director

ROOT = Path(__file__).resolve().parents[2]


async def played_database(path: Path, clock) -> dict[str, int]:
    """A SQLite file with a bit of everything: two servers, chains, a swipe, a tick, notes, vectors,
    usage, a rewind; returns what it holds per table."""
    store = await Store.open(path, clock=clock)
    try:
        world = WORLD.model_copy(update={"settings": WORLD.settings.model_copy(update={"chain_cap": 2})})
        library = Library(
            characters={"ada": character("ada", "Ada", talk=0.9), "bram": character("bram", "Bram", talk=0.6)}, worlds={"manor": world}
        )
        engine = SceneEngine(store=store, model=ScriptedModel(), library=library, clock=clock, rng=random.Random(3))
        for guild in ("g1", "g2"):
            key = SceneKey(guild, "c")
            await engine.open_scene(key, "manor")
            await engine.summon(key, "Ada")
            await engine.summon(key, "Bram")
            for text in ["Ada, what news of the brass key?", "Bram, is the well dry?", "I go to the garden.", "Ada, follow me."]:
                await engine.handle(InboundLine(key, "u", "Ann", text))
                clock.advance(30)
            await engine.regenerate(key)
        await Director(engine, clock=clock, rng=random.Random(5), busy_window=1).tick("g1", "manor")
        await engine.rewind(SceneKey("g2", "c"), 1)
        await engine.drain()
        scene = await store.get_scene("g1", "c")
        assert scene is not None
        ids = [m.id for m in await store.transcript(scene.id)]
        await store.store_vectors("m", [(i, np.full(4, i, dtype=np.float32)) for i in ids])
        notes = await store.add_notes(scene.id, "ada", ids[-1], ["The brass key is in the well."])
        await store.store_vectors("m", [(-notes[0], np.ones(4, dtype=np.float32))])
        # A line still waiting to be posted (the poster of a stopped bot had not reached it).
        await store.connection.execute(
            "INSERT INTO outbox (scene_id, message_id, guild_id, channel_id, created_at) VALUES (?, ?, 'g1', 'c', 't')", (scene.id, ids[-1])
        )
        await UsageStore(store).record("g1", "director", "m", 10, 5, 0, 1.5, clock.now().isoformat())
        lite = SqliteDatabase.over(store.connection)
        return {t: int(await lite.fetch_value(f"SELECT COUNT(*) FROM {t}")) for t in await schema_shape(lite)}
    finally:
        await store.close()


async def table_rows(db: Database, table: str, columns: list[str], key: str) -> list[tuple]:
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in await db.fetch_all(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {key}")]


async def test_a_played_database_arrives_row_for_row(tmp_path: Path, clock, pg_url: str):
    source = tmp_path / "played.db"
    counts = await played_database(source, clock)
    assert counts["messages"] >= 15 and counts["swipes"] > 0 and counts["memory_notes"] == 1
    assert counts["events"] > 0 and counts["memory_vectors"] > 10 and counts["outbox"] > 0 and counts["model_usage"] > 0
    seen: list[tuple[str, int]] = []
    report = await copy_sqlite_to_postgres(source, pg_url, clock=clock, progress=lambda t, n: seen.append((t, n)))
    assert report.version == discover()[-1].version and report.rows == {t: counts[t] for t in report.rows}
    assert set(report.rows) == set(counts) and seen == list(report.rows.items())

    lite, pg = await open_database(source), await open_database(pg_url)
    try:
        assert await database_version(pg) == report.version
        shapes = await schema_shape(pg)
        for table, shape in shapes.items():
            if table in FULL_TEXT_TABLES:
                columns, key = list(FULL_TEXT_COLUMNS), "rowid"
            else:
                columns, key = [c.name for c in shape.columns], ", ".join(shape.primary_key)
            assert await table_rows(pg, table, columns, key) == await table_rows(lite, table, columns, key), table

        # The copy is usable: memory search finds the same lines, new rows get fresh ids, the triggers work.
        scene_id = await pg.fetch_value("SELECT id FROM scenes WHERE guild_id = 'g1'")
        on_pg = await MemoryIndex(pg).lexical(scene_id, "ada", "the brass key", k=8, before_id=10**9)
        on_lite = await MemoryIndex(lite).lexical(scene_id, "ada", "the brass key", k=8, before_id=10**9)
        assert on_pg and {h.item_id for h in on_pg} == {h.item_id for h in on_lite}
        top = await pg.fetch_value("SELECT MAX(id) FROM scenes")
        new = await pg.fetch_value(
            "INSERT INTO scenes (guild_id, channel_id, world_id, user_location, created_at) VALUES ('g3', 'c', 'manor', 'hall', 't') RETURNING id"
        )
        assert new == top + 1
        note = await pg.fetch_value(
            "INSERT INTO memory_notes (scene_id, character_id, upto_message, text, norm, created_at) VALUES (?, 'ada', 0, 'x', 'x', 't') RETURNING id",
            (new,),
        )
        assert note > await lite.fetch_value("SELECT MAX(id) FROM memory_notes")
        await pg.execute("DELETE FROM turns WHERE scene_id = ?", (scene_id,))
        assert await pg.fetch_value("SELECT COUNT(*) FROM memory_text WHERE rowid > 0") < counts["memory_text"]
    finally:
        await lite.close()
        await pg.close()


async def test_a_target_with_data_is_refused_and_left_alone(tmp_path: Path, clock, pg_migrated_url: str):
    source = tmp_path / "s.db"
    store = await Store.open(source, clock=clock)
    await store.bind_server("g1", "harbor")
    await store.close()
    pg = await open_database(pg_migrated_url)
    try:
        await pg.execute("INSERT INTO servers (guild_id, world_id, created_at) VALUES ('other', 'jianghu', 't')")
        with pytest.raises(StoreError) as caught:
            await copy_sqlite_to_postgres(source, pg_migrated_url, clock=clock)
        assert "already holds data (table servers)" in caught.value.user_message
        assert [tuple(r) for r in await pg.fetch_all("SELECT guild_id, world_id FROM servers")] == [("other", "jianghu")]
    finally:
        await pg.close()


async def test_a_value_postgres_cannot_take_rolls_the_whole_copy_back(tmp_path: Path, clock, pg_url: str):
    """SQLite keeps text in an INTEGER column; the copy stops with a sentence naming it, and the target keeps no row."""
    source = tmp_path / "odd.db"
    store = await Store.open(source, clock=clock)
    await store.bind_server("g1", "harbor")
    scene = await store.create_scene("g1", "c", "harbor", "quay")
    await store.connection.execute("UPDATE scenes SET enabled = 'yes' WHERE id = ?", (scene.id,))
    await store.close()
    with pytest.raises(StoreError) as caught:
        await copy_sqlite_to_postgres(source, pg_url, clock=clock)
    assert "Table scenes, column enabled holds 'yes'" in caught.value.user_message
    pg = await open_database(pg_url)
    try:
        assert await pg.fetch_value("SELECT COUNT(*) FROM servers") == 0  # copied before scenes, rolled back with it
    finally:
        await pg.close()


async def test_a_database_in_use_or_missing_is_refused(tmp_path: Path, clock, pg_url: str):
    with pytest.raises(StoreError, match="There is no SQLite database"):
        await copy_sqlite_to_postgres(tmp_path / "nothing.db", pg_url, clock=clock)
    assert not (tmp_path / "nothing.db").exists()
    source = tmp_path / "busy.db"
    store = await Store.open(source, clock=clock)
    now = clock.now().timestamp()
    await store.connection.execute(
        "INSERT INTO shard_leases (shard_id, shard_count, holder, token, expires_at, heartbeat_at) VALUES (0, 2, 'h', 1, ?, ?)",
        (now + 30, now),
    )
    await store.close()
    with pytest.raises(StoreError, match="still hold 1 shard lease"):
        await copy_sqlite_to_postgres(source, pg_url, clock=clock)


async def test_schema_differences_are_named(tmp_path: Path, pg_migrated_url: str):
    """The check before copying sees a column that only one side has (so it would refuse the copy)."""
    lite = await open_database(tmp_path / "drift.db")
    pg = await open_database(pg_migrated_url)
    try:
        await migrate_database(lite)
        assert shape_differences(await schema_shape(lite), await schema_shape(pg)) == []
        await lite.execute("ALTER TABLE scenes ADD COLUMN mood TEXT")
        await pg.execute("CREATE TABLE extra (id BIGINT PRIMARY KEY)")
        problems = shape_differences(await schema_shape(lite), await schema_shape(pg))
        assert problems[0] == "table extra is only in the PostgreSQL database"
        assert any(p.startswith("table scenes has other columns") for p in problems)
    finally:
        await lite.close()
        await pg.close()


def test_parents_are_copied_before_children():
    async def shapes():
        db = await open_database(":memory:")
        try:
            await migrate_database(db)
            return await schema_shape(db)
        finally:
            await db.close()

    found = asyncio.run(shapes())
    order = copy_order(found)
    for table, shape in found.items():
        for fk in shape.foreign_keys:
            if fk.table != table:
                assert order.index(fk.table) < order.index(table), (table, fk.table)
    assert order.index("scenes") < order.index("turns") < order.index("messages") < order.index("swipes")


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_the_command_copies_and_says_what_it_did(tmp_path: Path, clock, pg_url: str):
    async def make() -> None:
        store = await Store.open(tmp_path / "cli.db", clock=clock)
        await store.bind_server("g1", "harbor")
        await store.create_scene("g1", "c", "harbor", "quay")
        await store.close()

    asyncio.run(make())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "DATABASE_", "OPENAI_"))}
    env["DATABASE_PATH"] = str(tmp_path / "cli.db")
    done = _cli("migrate-db", "--to", pg_url, env=env)
    assert done.returncode == 0, done.stderr
    assert "Copied" in done.stdout and "servers: 1" in done.stderr and "scenes: 1" in done.stderr
    again = _cli("migrate-db", "--to", pg_url, env=env)
    assert again.returncode == 2 and "already holds data" in again.stderr and "Traceback" not in again.stderr
    bad = _cli("migrate-db", "--to", str(tmp_path / "x.db"), env=env)
    assert bad.returncode == 2 and bad.stderr.strip() == "--to must be a postgresql://user:password@host:5432/database URL."
