"""PostgreSQL migrations: the same runner and guarantees as SQLite's, and a schema that cannot drift from it."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from bot.errors import StoreError
from bot.store.database import open_database
from bot.store.introspect import FULL_TEXT_TABLES, schema_shape, shape_differences
from bot.store.migrate import (
    DEFAULT_MIGRATIONS_DIR,
    POSTGRES_MIGRATIONS_DIR,
    database_version,
    discover,
    migrate_database,
)


def test_both_dialects_have_the_same_numbered_migrations():
    """Every SQLite migration has a PostgreSQL twin with the same number and name, and no more."""
    sqlite = [m.path.name for m in discover(DEFAULT_MIGRATIONS_DIR)]
    postgres = [m.path.name for m in discover(POSTGRES_MIGRATIONS_DIR)]
    assert postgres == sqlite


async def test_empty_postgres_database_migrates_to_latest(pg_url: str):
    db = await open_database(pg_url)
    try:
        assert await database_version(db) == 0
        assert await migrate_database(db) == discover(POSTGRES_MIGRATIONS_DIR)[-1].version
        tables = {r[0] for r in await db.fetch_all("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"servers", "scenes", "npc_state", "turns", "messages", "outbox", "event_witnesses"} <= tables
        # A second start applies nothing and keeps the data.
        await db.execute("INSERT INTO servers (guild_id, world_id, created_at) VALUES (?, ?, ?)", ("g1", "harbor", "t"))
        assert await migrate_database(db) == await database_version(db)
        assert await db.fetch_value("SELECT world_id FROM servers WHERE guild_id = ?", ("g1",)) == "harbor"
    finally:
        await db.close()


async def test_newer_postgres_database_is_refused(pg_migrated_url: str):
    db = await open_database(pg_migrated_url)
    try:
        await db.execute("UPDATE ensemble_schema SET version = 999")
        with pytest.raises(StoreError) as caught:
            await migrate_database(db)
        assert "999" in caught.value.user_message and "DATABASE_URL" in caught.value.user_message
    finally:
        await db.close()


async def test_failing_postgres_migration_leaves_database_untouched(pg_url: str, tmp_path: Path):
    """A broken migration rolls back every pending one, DDL included (PostgreSQL's DDL is transactional)."""
    folder = tmp_path / "postgresql"
    shutil.copytree(POSTGRES_MIGRATIONS_DIR, folder)
    latest = discover(folder)[-1].version
    (folder / f"{latest + 1:04d}_broken.sql").write_text(
        "CREATE TABLE fine_so_far (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n", encoding="utf-8"
    )
    db = await open_database(pg_url)
    try:
        with pytest.raises(asyncpg.UndefinedTableError):
            await migrate_database(db, folder)
        assert await database_version(db) == 0
        assert await db.fetch_value("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    finally:
        await db.close()


async def test_two_processes_starting_together_migrate_once(pg_url: str):
    """Two pools (as two bot processes would) migrating the same empty database at once both succeed."""
    first, second = await open_database(pg_url), await open_database(pg_url)
    try:
        versions = await asyncio.gather(migrate_database(first), migrate_database(second))
        latest = discover(POSTGRES_MIGRATIONS_DIR)[-1].version
        assert versions == [latest, latest]
        assert await first.fetch_value("SELECT count(*) FROM ensemble_schema") == 1
    finally:
        await first.close()
        await second.close()


async def test_model_usage_trigger_names_the_server_on_postgres(pg_migrated_url: str):
    """The trigger of 0006 (rewritten in PL/pgSQL) fills guild_id from the turn's scene, as SQLite's does."""
    db = await open_database(pg_migrated_url)
    try:
        scene = await db.fetch_value(
            "INSERT INTO scenes (guild_id, channel_id, world_id, user_location, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            ("g7", "c1", "harbor", "quay", "t"),
        )
        turn = await db.fetch_value(
            "INSERT INTO turns (scene_id, seq, status, created_at) VALUES (?, 1, 'open', 't') RETURNING id", (scene,)
        )
        await db.execute(
            "INSERT INTO model_usage (turn_id, purpose, model, prompt_tokens, completion_tokens, cached_tokens, latency_ms,"
            " created_at) VALUES (?, 'reply', 'm', 1, 2, 0, 3.5, 't')",
            (turn,),
        )
        assert await db.fetch_value("SELECT guild_id FROM model_usage") == "g7"
    finally:
        await db.close()


async def test_sqlite_and_postgres_schemas_are_the_same(tmp_path: Path, pg_url: str):
    """Both dialects' migrations, applied to real databases, give the same tables, columns (type families,
    nullability, defaults, generated ids), primary keys, foreign keys with delete rules, unique
    constraints, indexes (columns, uniqueness, predicate) and triggers."""
    sqlite = await open_database(tmp_path / "parity.db")
    postgres = await open_database(pg_url)
    try:
        await migrate_database(sqlite)
        await migrate_database(postgres)
        lite, pg = await schema_shape(sqlite), await schema_shape(postgres)
    finally:
        await sqlite.close()
        await postgres.close()
    assert sorted(pg) == sorted(lite)
    # Full-text search differs by design (FTS5 virtual table vs a table with a tsvector and GIN indexes):
    # both index a text body, and rows leave it when their line or note is deleted (triggers, compared above).
    for name in FULL_TEXT_TABLES:
        assert "body" in {c.name for c in lite[name].columns} and "body" in {c.name for c in pg[name].columns}
    for name in sorted(set(lite) - FULL_TEXT_TABLES):
        assert pg[name].columns == lite[name].columns, name
        assert pg[name] == lite[name], name
    assert shape_differences(lite, pg) == []
    # The comparison sees what it should: a sample of each kind of thing is there on both sides.
    assert ("reply_to_id",) in {fk.columns for fk in lite["messages"].foreign_keys}
    assert any(i.name == "outbox_pending" and i.where == "status = 'pending'" for i in pg["outbox"].indexes)
    assert lite["model_usage"].triggers == {"model_usage_guild"}
    assert ("platform_message_id",) in pg["messages"].unique


async def test_full_text_shadow_tables_are_not_schema(tmp_path: Path):
    """An FTS5 table's shadow tables are SQLite's machinery: the shape lists the virtual table only (the
    memory index's full-text table is one; on PostgreSQL the same search is a tsvector column)."""
    db = await open_database(tmp_path / "fts.db")
    try:
        await db.executescript("CREATE VIRTUAL TABLE notes_text USING fts5 (body);\nCREATE TABLE plain (id INTEGER PRIMARY KEY);\n")
        assert await db.fetch_value("SELECT count(*) FROM sqlite_master WHERE name LIKE 'notes_text_%'") >= 4
        shapes = await schema_shape(db)
    finally:
        await db.close()
    assert sorted(shapes) == ["notes_text", "plain"]
    assert [c.name for c in shapes["notes_text"].columns] == ["body"]
