"""The ``Database`` port on PostgreSQL through asyncpg: a connection pool shared by every bot process.

Unlike SQLite's one connection, the pool runs statements of different tasks at the same time; a
transaction holds one pooled connection for its whole block. Statements are written with ``?`` like
everywhere else in the store and rewritten once (cached) by ``to_dollar_params``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from bot.errors import StoreError
from bot.store.database import Dialect, Row, redacted, to_dollar_params


def rows_changed(status: str) -> int:
    """The row count at the end of a command status such as ``UPDATE 3`` or ``INSERT 0 1`` (0 for DDL)."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


async def _fetch_many(conn: asyncpg.Connection, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
    """``Database.fetch_many`` on one connection: the statements one after the other."""
    return [list(await conn.fetch(to_dollar_params(sql), *params)) for sql, params in statements]


class PostgresTransaction:
    """The handle of an open transaction on one pooled connection.

    ``defer`` (see ``Database.defer``) queues a write that runs before the transaction's next statement or
    its commit; on PostgreSQL each is still its own round trip, so this only keeps the contract.
    """

    dialect: Dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._deferred: list[tuple[str, Sequence[Any]]] = []

    def defer(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._deferred.append((sql, tuple(params)))

    async def flush(self) -> None:
        """Run the deferred writes now (before any statement and at commit)."""
        while self._deferred:
            sql, params = self._deferred.pop(0)
            await self._conn.execute(to_dollar_params(sql), *params)

    @property
    def connection(self) -> asyncpg.Connection:
        return self._conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        await self.flush()
        return rows_changed(await self._conn.execute(to_dollar_params(sql), *params))

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        await self.flush()
        return await self._conn.fetchrow(to_dollar_params(sql), *params)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        await self.flush()
        return list(await self._conn.fetch(to_dollar_params(sql), *params))

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        await self.flush()
        return await self._conn.fetchval(to_dollar_params(sql), *params)

    async def fetch_many(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        await self.flush()
        return await _fetch_many(self._conn, statements)

    async def executescript(self, script: str) -> None:
        # Without arguments asyncpg sends the script as one simple query: several statements, dollar-quoted
        # function bodies and all, inside a savepoint of the open transaction.
        await self.flush()
        async with self._conn.transaction():
            await self._conn.execute(script)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        """A savepoint inside the open transaction."""
        await self.flush()
        try:
            async with self._conn.transaction():
                yield self
                await self.flush()
        except BaseException:
            self._deferred.clear()  # the block's writes not run yet: the savepoint's rollback undoes the rest
            raise

    async def close(self) -> None:
        raise RuntimeError("close the database, not a transaction handle")


class PostgresDatabase:
    """The port over a PostgreSQL database (``DATABASE_URL=postgresql://...``)."""

    dialect: Dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self.url = url

    @classmethod
    async def connect(cls, url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 10.0) -> PostgresDatabase:
        """Open a pool; a server that cannot be reached or refuses us is one ``StoreError`` sentence."""
        try:
            pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, timeout=timeout)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(
                f"Cannot open the PostgreSQL database {redacted(url)} ({type(exc).__name__}: {exc}): "
                "check DATABASE_URL and that the server is running.",
                detail=repr(exc),
            ) from exc
        return cls(pool, url)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return rows_changed(await self._pool.execute(to_dollar_params(sql), *params))

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await self._pool.fetchrow(to_dollar_params(sql), *params)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self._pool.fetch(to_dollar_params(sql), *params))

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self._pool.fetchval(to_dollar_params(sql), *params)

    async def fetch_many(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        async with self._pool.acquire() as conn:
            return await _fetch_many(conn, statements)

    async def executescript(self, script: str) -> None:
        async with self.transaction() as tx:
            await tx.executescript(script)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        """One transaction on one pooled connection, committed when the block ends."""
        async with self._pool.acquire() as conn, conn.transaction():
            tx = PostgresTransaction(conn)
            yield tx
            await tx.flush()

    async def close(self) -> None:
        await self._pool.close()
