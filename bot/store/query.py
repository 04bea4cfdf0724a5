"""Reads as values: a statement, its parameters and how its rows become the result.

Why: a reply needs a dozen small reads, and each one run on its own is a round trip (on SQLite a hand-off
to aiosqlite's thread and back, about 15 µs of the event loop's CPU each). A repository that builds a
``Query`` instead of running it lets a caller run several in one ``Database.fetch_many``
(``read_together``), while its plain method runs the same query alone: each read's SQL and decoding stay
in one place, the repository that owns the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bot.store.database import Database, Row

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Query(Generic[T]):
    """One read: ``parse`` turns its rows (all of them, in order) into the result."""

    sql: str
    params: tuple[Any, ...]
    parse: Callable[[list[Row]], T]

    async def run(self, db: Database) -> T:
        """This read alone."""
        return self.parse(await db.fetch_all(self.sql, self.params))


async def read_together(db: Database, *queries: Query[Any]) -> tuple[Any, ...]:
    """Several reads in one round trip; their results in the order given."""
    found = await db.fetch_many([(q.sql, q.params) for q in queries])
    return tuple(q.parse(rows) for q, rows in zip(queries, found, strict=True))


__all__ = ["Query", "read_together"]
