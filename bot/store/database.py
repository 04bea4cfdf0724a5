"""The SQL port: one small ``Database`` protocol over SQLite (aiosqlite) and PostgreSQL (asyncpg).

Why a port of our own rather than an ORM: the store's SQL is hand-written and tuned per query (partial
indexes, query plans checked by tests), and what differs between the two engines is small: how parameters
are written (``?`` here, ``$1`` for PostgreSQL), how a transaction is opened, and where the schema version
lives. Repositories write ``?`` placeholders and ``INSERT ... RETURNING id`` (both engines have it), and
``to_dollar_params`` is the one place that rewrites placeholders for PostgreSQL. The few phrases the
repositories write per dialect are helpers here (``json_has``: a JSON list holds a value).

The choice between the two follows ``DATABASE_URL``: ``postgresql://...`` opens PostgreSQL, unset keeps the
SQLite file at ``DATABASE_PATH`` (the embedded default for one machine).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from bot.settings import POSTGRES_SCHEMES

Dialect = Literal["sqlite", "postgresql"]


@runtime_checkable
class Row(Protocol):
    """A result row: by position (``row[0]``) and by column name (``row["id"]``), as both drivers give."""

    def __getitem__(self, key: int | str) -> Any: ...

    def __len__(self) -> int: ...


class Database(Protocol):
    """What a repository needs from a SQL database.

    Outside ``transaction()`` every call is a statement of its own (committed when it returns). Inside,
    use the handle the context yields: its statements commit together when the block ends, or roll back
    together if it raises. A handle's own ``transaction()`` is a savepoint.
    """

    dialect: Dialect

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it changed (0 for DDL)."""
        ...

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or ``None`` when there is no row."""
        ...

    async def fetch_many(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """Several reads in one round trip: each statement's rows, in order.

        Why: a reply gathers many small reads, and on SQLite each call is a hand-off to aiosqlite's thread
        and back; this is one for all of them (on PostgreSQL, one pooled connection for all of them).
        """
        ...

    def transaction(self) -> AbstractAsyncContextManager[Database]: ...

    def defer(self, sql: str, params: Sequence[Any] = ()) -> None:
        """On a transaction's handle only: a write whose result nobody reads, run before the handle's next
        statement or at its commit (on SQLite in the same hand-off to its thread), in the order written."""
        ...

    async def executescript(self, script: str) -> None:
        """Run a script of several statements (a migration) in one transaction: all of it or none."""
        ...

    async def close(self) -> None: ...


# How the store's repositories open a write transaction: ``Store.transaction`` (serialised with every other
# writer of the store), and the fenced one for a server's writes (with a fence, only while this process
# owns the server's shard; see ``bot.store.fencing``). Both yield the handle the statements go through.
OpenTransaction = Callable[[], AbstractAsyncContextManager[Database]]
OpenGuildTransaction = Callable[[str], AbstractAsyncContextManager[Database]]


def json_has(dialect: Dialect, column: str) -> str:
    """A condition: the JSON list in ``column`` holds the next ``?`` parameter (written per dialect)."""
    if dialect == "postgresql":
        return f"EXISTS (SELECT 1 FROM jsonb_array_elements_text({column}::jsonb) AS j(value) WHERE j.value = ?)"
    return f"EXISTS (SELECT 1 FROM json_each({column}) j WHERE j.value = ?)"


@lru_cache(maxsize=4096)
def to_dollar_params(sql: str) -> str:
    """``?`` placeholders rewritten as PostgreSQL's ``$1, $2, ...``, in order of appearance.

    A ``?`` inside a string literal, a quoted identifier, a dollar-quoted body or a comment is text, not
    a placeholder, and stays as it is.
    """
    out: list[str] = []
    n = 0
    i = 0
    length = len(sql)
    while i < length:
        ch = sql[i]
        if ch in ("'", '"'):
            end = i + 1
            while end < length:
                if sql[end] == ch:
                    if end + 1 < length and sql[end + 1] == ch:  # a doubled quote is an escaped one
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1])
            i = end + 1
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = length if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif ch == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = length if end < 0 else end + 2
            out.append(sql[i:end])
            i = end
        elif ch == "$" and (tag := _dollar_tag(sql, i)) is not None:
            end = sql.find(tag, i + len(tag))
            end = length if end < 0 else end + len(tag)
            out.append(sql[i:end])
            i = end
        elif ch == "?":
            n += 1
            out.append(f"${n}")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _dollar_tag(sql: str, start: int) -> str | None:
    """The opening tag of a dollar-quoted string at ``start`` (``$$`` or ``$name$``), else ``None``."""
    if start > 0 and (sql[start - 1].isalnum() or sql[start - 1] == "_"):
        return None  # part of an identifier such as a$b
    end = start + 1
    while end < len(sql) and (sql[end].isalnum() or sql[end] == "_"):
        end += 1
    if end < len(sql) and sql[end] == "$" and not sql[start + 1 : start + 2].isdigit():
        return sql[start : end + 1]
    return None


def is_postgres_url(target: str) -> bool:
    return urlsplit(target).scheme in POSTGRES_SCHEMES


def redacted(url: str) -> str:
    """A database URL safe to show and log: the password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


async def open_database(target: str | Path, **options: Any) -> Database:
    """Open the database ``target`` names: a ``postgresql://`` URL, or else the path of a SQLite file.

    ``options`` go to the implementation (``max_size`` of the PostgreSQL pool, for instance).
    """
    text = str(target)
    if is_postgres_url(text):
        from bot.store.postgres import PostgresDatabase

        return await PostgresDatabase.connect(text, **options)
    from bot.store.sqlite_db import SqliteDatabase

    return await SqliteDatabase.open(text, **options)
