"""The SQL port: the same contract on SQLite and PostgreSQL, tested on real databases of both kinds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.errors import StoreError
from bot.store.database import Database, is_postgres_url, open_database, redacted, to_dollar_params
from bot.store.postgres import PostgresDatabase, rows_changed
from bot.store.sqlite_db import SqliteDatabase, split_script

TABLE = "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER NOT NULL DEFAULT 0)"


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path):
    target = tmp_path / "port.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    db = await open_database(target)
    await db.execute(TABLE)
    yield db
    await db.close()


# -- placeholders ------------------------------------------------------------------------------------


def test_placeholders_become_numbered_in_order():
    assert to_dollar_params("SELECT * FROM t WHERE a = ? AND b IN (?, ?)") == "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)"


def test_question_marks_in_text_are_not_placeholders():
    sql = "SELECT '?', 'it''s ?', \"odd?col\" FROM t -- why?\nWHERE x = ? /* or ? */ AND y = $$a ? b$$ AND z = $q$?$q$ AND w = ?"
    assert to_dollar_params(sql) == (
        "SELECT '?', 'it''s ?', \"odd?col\" FROM t -- why?\nWHERE x = $1 /* or ? */ AND y = $$a ? b$$ AND z = $q$?$q$ AND w = $2"
    )


def test_rows_changed_reads_the_command_status():
    assert [rows_changed(s) for s in ("UPDATE 3", "INSERT 0 1", "DELETE 0", "CREATE TABLE", "SELECT 2")] == [3, 1, 0, 0, 2]


def test_urls_choose_the_engine_and_hide_passwords():
    assert is_postgres_url("postgresql://u:p@h/db") and is_postgres_url("postgres://h/db")
    assert not is_postgres_url("data/ensemble.db") and not is_postgres_url("/abs/path.db")
    assert redacted("postgresql://bot:s3cret@db:5432/ensemble") == "postgresql://bot:***@db:5432/ensemble"
    assert redacted("postgresql://db/ensemble") == "postgresql://db/ensemble"


def test_sqlite_scripts_split_into_statements():
    script = "-- a comment\nCREATE TABLE a (x TEXT DEFAULT ';');\n\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  DELETE FROM a;\nEND;\n"
    assert len(split_script(script)) == 2
    with pytest.raises(ValueError, match="incomplete"):
        split_script("CREATE TABLE b (x TEXT")


# -- the contract on both engines ------------------------------------------------------------------------


async def test_statements_rows_and_returning(database: Database):
    assert await database.execute("INSERT INTO items (id, name) VALUES (?, ?)", (1, "rope")) == 1
    new_id = await database.fetch_value("INSERT INTO items (id, name, n) VALUES (?, ?, ?) RETURNING id", (2, "lamp", 5))
    assert new_id == 2
    row = await database.fetch_one("SELECT id, name, n FROM items WHERE name = ?", ("lamp",))
    assert row is not None and (row[0], row["name"], row["n"]) == (2, "lamp", 5)
    assert await database.fetch_one("SELECT id FROM items WHERE name = ?", ("none",)) is None
    assert await database.fetch_value("SELECT id FROM items WHERE name = ?", ("none",)) is None
    assert [r["name"] for r in await database.fetch_all("SELECT name FROM items ORDER BY id")] == ["rope", "lamp"]
    assert await database.execute("UPDATE items SET n = n + 1") == 2


async def test_fetch_many_reads_several_statements_in_one_call(database: Database):
    await database.execute("INSERT INTO items (id, name) VALUES (?, ?), (?, ?)", (1, "rope", 2, "lamp"))
    found = await database.fetch_many([
        ("SELECT name FROM items WHERE id = ?", (1,)),
        ("SELECT count(*) FROM items", ()),
        ("SELECT name FROM items WHERE id = ?", (9,)),
    ])
    assert [[r[0] for r in rows] for rows in found] == [["rope"], [2], []]
    async with database.transaction() as tx:
        await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", (3, "net"))
        (rows,) = await tx.fetch_many([("SELECT count(*) FROM items", ())])
        assert rows[0][0] == 3  # inside a transaction it sees the transaction's own writes


async def test_deferred_writes_run_before_the_next_statement_and_with_the_commit(database: Database):
    async with database.transaction() as tx:
        tx.defer("INSERT INTO items (id, name) VALUES (?, ?)", (1, "rope"))
        tx.defer("UPDATE items SET n = 5 WHERE id = ?", (1,))
        assert await tx.fetch_value("SELECT n FROM items WHERE id = 1") == 5  # in order, before the read
        tx.defer("INSERT INTO items (id, name) VALUES (?, ?)", (2, "lamp"))
    assert await database.fetch_value("SELECT count(*) FROM items") == 2  # the last one went with the commit
    async with database.transaction() as tx:
        with pytest.raises(RuntimeError):
            async with tx.transaction() as inner:
                inner.defer("INSERT INTO items (id, name) VALUES (?, ?)", (3, "undone"))
                raise RuntimeError
        tx.defer("INSERT INTO items (id, name) VALUES (?, ?)", (4, "kept"))
    assert [r[0] for r in await database.fetch_all("SELECT id FROM items ORDER BY id")] == [1, 2, 4]
    # A deferred write that fails fails the transaction, all of it.
    with pytest.raises(Exception, match="(?i)unique"):
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", (5, "net"))
            tx.defer("INSERT INTO items (id, name) VALUES (?, ?)", (6, "rope"))
    assert await database.fetch_value("SELECT count(*) FROM items") == 3


async def test_every_sqlite_call_is_one_hand_off_to_its_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A write (with its row count) and a batch of reads each cost one trip to aiosqlite's thread."""
    db = await open_database(tmp_path / "trips.db")
    try:
        await db.execute(TABLE)
        assert isinstance(db, SqliteDatabase)
        trips = []
        inner = db.connection._execute

        async def counted(fn, *args, **kwargs):
            trips.append(fn)
            return await inner(fn, *args, **kwargs)

        monkeypatch.setattr(db.connection, "_execute", counted)
        assert await db.execute("INSERT INTO items (id, name) VALUES (?, ?)", (1, "rope")) == 1
        assert await db.execute("UPDATE items SET n = 1 WHERE id = ?", (9,)) == 0
        assert len(await db.fetch_many([("SELECT 1", ()), ("SELECT 2", ()), ("SELECT 3", ())])) == 3
        assert len(trips) == 3
        async with db.transaction() as tx:  # BEGIN, then the deferred writes ride with the commit
            for i in range(2, 5):
                tx.defer("INSERT INTO items (id, name) VALUES (?, ?)", (i, f"item {i}"))
        assert len(trips) == 5 and await db.fetch_value("SELECT count(*) FROM items") == 4
    finally:
        await db.close()


async def test_a_transaction_commits_together(database: Database):
    async with database.transaction() as tx:
        await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", (1, "a"))
        await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", (2, "b"))
        assert await tx.fetch_value("SELECT count(*) FROM items") == 2
    assert await database.fetch_value("SELECT count(*) FROM items") == 2


async def test_a_failing_transaction_leaves_nothing(database: Database):
    with pytest.raises(RuntimeError):
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", (1, "a"))
            raise RuntimeError("the turn failed half-way")
    assert await database.fetch_value("SELECT count(*) FROM items") == 0
    # A constraint violation inside rolls back the earlier statements too.
    with pytest.raises(Exception, match="(?i)unique"):
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", (1, "a"))
            await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", (2, "a"))
    assert await database.fetch_value("SELECT count(*) FROM items") == 0


async def test_a_nested_transaction_is_a_savepoint(database: Database):
    async with database.transaction() as tx:
        await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", (1, "kept"))
        with pytest.raises(RuntimeError):
            async with tx.transaction() as inner:
                await inner.execute("INSERT INTO items (id, name) VALUES (?, ?)", (2, "undone"))
                raise RuntimeError
    assert [r[0] for r in await database.fetch_all("SELECT name FROM items")] == ["kept"]


async def test_executescript_is_all_or_nothing(database: Database):
    await database.executescript("INSERT INTO items (id, name) VALUES (1, 'a');\nINSERT INTO items (id, name) VALUES (2, 'b');\n")
    assert await database.fetch_value("SELECT count(*) FROM items") == 2
    with pytest.raises(Exception, match="(?i)no_such_table|no such table|does not exist"):
        await database.executescript("INSERT INTO items (id, name) VALUES (3, 'c');\nINSERT INTO no_such_table VALUES (1);\n")
    assert await database.fetch_value("SELECT count(*) FROM items") == 2


async def test_concurrent_transactions_never_interleave(database: Database):
    """Two tasks each read-then-write in a transaction; neither sees the other half-done (no lost update)."""
    await database.execute("INSERT INTO items (id, name, n) VALUES (1, 'counter', 0)")

    async def bump() -> None:
        for _ in range(20):
            async with database.transaction() as tx:
                if tx.dialect == "postgresql":
                    await tx.execute("SELECT n FROM items WHERE id = 1 FOR UPDATE")
                n = await tx.fetch_value("SELECT n FROM items WHERE id = 1")
                await asyncio.sleep(0)
                await tx.execute("UPDATE items SET n = ? WHERE id = 1", (n + 1,))

    await asyncio.gather(bump(), bump(), bump())
    assert await database.fetch_value("SELECT n FROM items WHERE id = 1") == 60


async def test_a_single_statement_waits_for_an_open_sqlite_transaction(tmp_path: Path):
    """On the one SQLite connection a statement of another task never lands inside an open transaction."""
    db = await open_database(tmp_path / "one.db")
    try:
        await db.execute(TABLE)
        entered = asyncio.Event()
        release = asyncio.Event()

        async def holder() -> None:
            with pytest.raises(RuntimeError):
                async with db.transaction() as tx:
                    await tx.execute("INSERT INTO items (id, name) VALUES (1, 'rolled back')")
                    entered.set()
                    await release.wait()
                    raise RuntimeError

        task = asyncio.create_task(holder())
        await entered.wait()
        outside = asyncio.create_task(db.execute("INSERT INTO items (id, name) VALUES (2, 'outside')"))
        await asyncio.sleep(0.01)
        assert not outside.done()
        release.set()
        await task
        await outside
        assert [r[0] for r in await db.fetch_all("SELECT name FROM items")] == ["outside"]
    finally:
        await db.close()


async def test_open_database_picks_the_engine(tmp_path: Path, pg_url: str):
    lite = await open_database(tmp_path / "sub" / "x.db")
    pg = await open_database(pg_url)
    try:
        assert isinstance(lite, SqliteDatabase) and lite.dialect == "sqlite"
        assert (tmp_path / "sub" / "x.db").exists()
        assert await lite.fetch_value("PRAGMA journal_mode") == "wal"
        assert await lite.fetch_value("PRAGMA foreign_keys") == 1
        assert isinstance(pg, PostgresDatabase) and pg.dialect == "postgresql"
    finally:
        await lite.close()
        await pg.close()


async def test_unreachable_postgres_is_one_sentence_without_the_password():
    """Nothing listens on the port (no PostgreSQL needed): a StoreError naming DATABASE_URL, password hidden."""
    from postgres_cluster import free_port

    url = f"postgresql://bot:hunter2@127.0.0.1:{free_port()}/ensemble"
    with pytest.raises(StoreError) as caught:
        await open_database(url, timeout=2.0)
    message = caught.value.user_message
    assert "DATABASE_URL" in message and "hunter2" not in message and "bot:***@127.0.0.1" in message
