"""Migrations: from an empty database, version recorded, newer databases refused, all-or-nothing."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from bot.errors import StoreError
from bot.store import Store
from bot.store.migrate import DEFAULT_MIGRATIONS_DIR, discover, migrate, schema_version


async def test_empty_database_migrates_to_latest(tmp_path: Path):
    """An empty file gets every table and the newest schema version."""
    store = await Store.open(tmp_path / "new.db")
    try:
        version = await schema_version(store.connection)
        assert version == discover()[-1].version
        async with store.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cur:
            tables = {row[0] for row in await cur.fetchall()}
        assert {"servers", "scenes", "npc_state", "scene_members", "turns", "messages", "swipes", "events"} <= tables
        async with store.connection.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"
        async with store.connection.execute("PRAGMA foreign_keys") as cur:
            assert (await cur.fetchone())[0] == 1
    finally:
        await store.close()


async def test_reopening_applies_nothing_twice(tmp_path: Path):
    """A second start finds nothing pending and keeps the data."""
    store = await Store.open(tmp_path / "db.sqlite")
    await store.bind_server("g1", "harbor")
    await store.close()
    store = await Store.open(tmp_path / "db.sqlite")
    try:
        assert await store.server_world("g1") == "harbor"
    finally:
        await store.close()


async def test_newer_database_is_refused(tmp_path: Path):
    """A database written by newer code is refused with a sentence naming the versions."""
    path = tmp_path / "future.db"
    async with aiosqlite.connect(path) as conn:
        await conn.execute("PRAGMA user_version = 999")
        await conn.commit()
    with pytest.raises(StoreError) as caught:
        await Store.open(path)
    assert "999" in caught.value.user_message
    assert "DATABASE_PATH" in caught.value.user_message


async def test_failing_migration_leaves_database_untouched(tmp_path: Path):
    """A broken migration rolls back every pending one: version and tables stay as they were."""
    folder = tmp_path / "migrations"
    shutil.copytree(DEFAULT_MIGRATIONS_DIR, folder)
    latest = discover(folder)[-1].version
    (folder / f"{latest + 1:04d}_broken.sql").write_text(
        "CREATE TABLE fine_so_far (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n", encoding="utf-8"
    )
    async with aiosqlite.connect(tmp_path / "db.sqlite", isolation_level=None) as conn:
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await migrate(conn, folder)
        assert await schema_version(conn) == 0
        async with conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'") as cur:
            assert (await cur.fetchone())[0] == 0


def test_gap_in_numbering_is_an_error(tmp_path: Path):
    """Migrations must be numbered without gaps."""
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (id INTEGER);", encoding="utf-8")
    (tmp_path / "0003_c.sql").write_text("CREATE TABLE c (id INTEGER);", encoding="utf-8")
    with pytest.raises(StoreError, match="0002"):
        discover(tmp_path)
