"""The ``Database`` port on SQLite: one aiosqlite connection, WAL, foreign keys.

One connection means one transaction at a time: a lock serialises transactions with each other and with
single statements, so a statement of another task can never land inside someone else's transaction.
The connection runs in autocommit mode (``isolation_level=None``) and transactions are explicit
``BEGIN IMMEDIATE``, taking SQLite's write lock up front, so two processes on one file wait for each
other (``busy_timeout``) instead of failing half-way through a transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.database import Dialect, Row


def split_script(script: str) -> list[str]:
    """A SQLite script split into complete statements (comment-only and blank lines between them dropped).

    ``sqlite3.executescript`` would commit on its own, so scripts are run statement by statement inside
    an explicit transaction instead.
    """
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if not buffer and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError("the script ends with an incomplete SQL statement")
    return statements


def _write(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> int:
    """On aiosqlite's thread: one statement, its row count, its cursor closed."""
    cursor = conn.execute(sql, params)
    try:
        return max(cursor.rowcount, 0)
    finally:
        cursor.close()


def _reads(conn: sqlite3.Connection, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> list[list[Row]]:
    """On aiosqlite's thread: every statement's rows, in order."""
    return [conn.execute(sql, params).fetchall() for sql, params in statements]


def _rows(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[Row]:
    """On aiosqlite's thread: one statement's rows (all of them: it runs to its end)."""
    return conn.execute(sql, params).fetchall()


def _commit(conn: sqlite3.Connection) -> None:
    conn.commit()


def _after(conn: sqlite3.Connection, deferred: Sequence[tuple[str, tuple[Any, ...]]], fn: Any, *args: Any) -> Any:
    """On aiosqlite's thread: a transaction's deferred writes, in order, then ``fn``."""
    for sql, params in deferred:
        conn.execute(sql, params).close()
    return fn(conn, *args)


class _Executor:
    """Statements on the connection, without locking: the caller holds the lock (or owns a transaction).

    Every call is a hand-off to aiosqlite's thread and back (a queue put, a future, a wake-up of the
    event loop through its self-pipe), about 15 µs of the event loop's CPU each. So every call is
    exactly one: reads use ``execute_fetchall`` (not execute, fetch, close), a write runs with its row
    count and cursor close in one function on the thread (aiosqlite's ``execute`` context would take
    two), and ``fetch_many`` runs several reads in one. The rows are ``sqlite3.Row`` through the
    connection's row factory (set on every connection this wraps). Inside a transaction, writes whose result
    nobody reads are deferred (``SqliteTransaction.defer``) and ride along with its next statement.
    """

    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def _on_thread(self, fn: Any, *args: Any) -> Any:
        """``fn(sqlite3_connection, *args)`` on aiosqlite's thread, in one hand-off.

        aiosqlite has no public call for this; ``Connection._execute`` is the queue every one of its own
        methods goes through (in order with them), and ``_conn`` the ``sqlite3`` connection they use.
        """
        return await self._conn._execute(fn, self._conn._conn, *args)

    async def _execute(self, sql: str, params: Sequence[Any]) -> int:
        return int(await self._on_thread(_write, sql, tuple(params)))

    async def _fetch_many(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        return list(await self._on_thread(_reads, [(sql, tuple(params)) for sql, params in statements]))

    async def _fetch_one(self, sql: str, params: Sequence[Any]) -> Row | None:
        # Callers ask for one row by key, an aggregate or ``RETURNING``: reading them all is one row, and
        # runs the statement to its end (an INSERT ... RETURNING is complete when this returns).
        rows = await self._on_thread(_rows, sql, tuple(params))
        return next(iter(rows), None)

    async def _fetch_all(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return list(await self._on_thread(_rows, sql, tuple(params)))

    async def _script(self, script: str) -> None:
        for statement in split_script(script):
            await self._execute(statement, ())


class SqliteTransaction(_Executor):
    """The handle of an open transaction: its statements run in it, unlocked (the transaction holds the lock).

    ``defer`` queues a write whose result nobody reads: it runs in the same hand-off as the transaction's
    next statement, or its commit, in the order written. A turn's commit writes a dozen such rows (its
    lines' index entries and hearers, their first alternatives, usage, counters, its status), each a
    hand-off to aiosqlite's thread and back before. A deferred write that fails raises from that next
    statement or the commit, still inside the transaction, which is then rolled back as a whole.
    """

    _savepoints = itertools.count(1)

    def __init__(self, conn: aiosqlite.Connection) -> None:
        super().__init__(conn)
        self._deferred: list[tuple[str, tuple[Any, ...]]] = []

    def defer(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._deferred.append((sql, tuple(params)))

    async def _on_thread(self, fn: Any, *args: Any) -> Any:
        if not self._deferred:
            return await super()._on_thread(fn, *args)
        deferred, self._deferred = self._deferred, []
        return await super()._on_thread(_after, deferred, fn, *args)

    async def commit(self) -> None:
        """The deferred writes and COMMIT, in one hand-off: for the owner of the transaction, at its end."""
        await self._on_thread(_commit)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._execute(sql, params)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await self._fetch_one(sql, params)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self._fetch_all(sql, params)

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self._fetch_one(sql, params)
        return row[0] if row is not None else None

    async def fetch_many(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        return await self._fetch_many(statements)

    async def executescript(self, script: str) -> None:
        async with self.transaction() as inner:
            await inner._script(script)  # type: ignore[attr-defined]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTransaction]:
        """A savepoint inside the open transaction: rolled back alone if the block raises."""
        name = f"sp_{next(self._savepoints)}"
        await self._execute(f"SAVEPOINT {name}", ())
        try:
            yield self
        except BaseException:
            self._deferred.clear()  # the block's writes not run yet: the savepoint's rollback undoes the rest
            await self._execute(f"ROLLBACK TO {name}", ())
            await self._execute(f"RELEASE {name}", ())
            raise
        await self._execute(f"RELEASE {name}", ())

    async def close(self) -> None:
        raise RuntimeError("close the database, not a transaction handle")


class SqliteDatabase(_Executor):
    """The port over one SQLite file (or ``:memory:``)."""

    def __init__(self, conn: aiosqlite.Connection, *, owned: bool = True) -> None:
        super().__init__(conn)
        conn.row_factory = sqlite3.Row
        self._lock = asyncio.Lock()
        self._owned = owned

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout_ms: int = 5000) -> SqliteDatabase:
        """Open (creating the folder and file as needed) and configure the file."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            await conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            await conn.close()
            raise
        return cls(conn)

    @classmethod
    def over(cls, conn: aiosqlite.Connection) -> SqliteDatabase:
        """The port over a connection someone else owns and closes (the migration runner of ``Store``)."""
        return cls(conn, owned=False)

    @property
    def connection(self) -> aiosqlite.Connection:
        return self._conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._lock:
            return await self._execute(sql, params)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self._lock:
            return await self._fetch_one(sql, params)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._lock:
            return await self._fetch_all(sql, params)

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return row[0] if row is not None else None

    async def fetch_many(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        async with self._lock:
            return await self._fetch_many(statements)

    async def executescript(self, script: str) -> None:
        async with self.transaction() as tx:
            await tx._script(script)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTransaction]:
        """One write transaction (``BEGIN IMMEDIATE``), serialised with everything else on this connection."""
        async with self._lock:
            # BEGIN runs on aiosqlite's thread; if this task is cancelled while waiting for it, the
            # transaction still opens, so wait for it and roll it back instead of leaving it open.
            begin = asyncio.ensure_future(self._conn.execute("BEGIN IMMEDIATE"))
            try:
                await asyncio.shield(begin)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await begin
                    await self._conn.rollback()
                raise
            try:
                tx = SqliteTransaction(self._conn)
                yield tx
                await tx.commit()
            except BaseException:
                await self._conn.rollback()
                raise

    async def close(self) -> None:
        if self._owned:
            await self._conn.close()
