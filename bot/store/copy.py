"""``python -m bot migrate-db``: copy a SQLite database into an empty PostgreSQL database, ids and all.

The source is opened as the bot would open it (migrated to this version's schema, lines of older
versions indexed for memory), so both sides have the same schema version; the target is migrated by the
same runner. Before anything is copied the two schemas are compared (``introspect.shape_differences``),
the target must hold no rows, and no process may hold a live shard lease in the source (a database in
use would go on changing after the copy). Rows are then streamed table by table, parents before
children, in primary-key order, with PostgreSQL's ``COPY`` inside one transaction: the target gets
everything or nothing. Ids are kept (every reference between rows stays valid), the identity sequences
are moved past the copied ids, and each table's row count is checked before the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.ports import Clock, SystemClock
from bot.errors import StoreError
from bot.store.database import open_database, redacted
from bot.store.introspect import (
    FULL_TEXT_COLUMNS,
    FULL_TEXT_TABLES,
    TableShape,
    schema_shape,
    shape_differences,
)
from bot.store.migrate import database_version, migrate_database
from bot.store.postgres import PostgresDatabase
from bot.store.sqlite_db import SqliteDatabase
from bot.store.store import Store

BATCH = 2000


@dataclass(frozen=True)
class CopyReport:
    """What was copied: the schema version both sides have, and rows per table in copy order."""

    version: int
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def copy_order(shapes: dict[str, TableShape]) -> list[str]:
    """Tables with every table a foreign key points at before it (a row's own table aside), then by name."""
    remaining = {name: {fk.table for fk in shape.foreign_keys if fk.table != name and fk.table in shapes} for name, shape in shapes.items()}
    order: list[str] = []
    while remaining:
        ready = sorted(name for name, parents in remaining.items() if parents <= set(order))
        if not ready:
            raise StoreError(f"The tables {sorted(remaining)} refer to each other in a cycle; they cannot be copied in order.")
        order.extend(ready)
        for name in ready:
            del remaining[name]
    return order


def _converter(family: str) -> Callable[[Any], Any]:
    """SQLite stores any value in any column; PostgreSQL wants the column's own type."""
    if family == "integer":
        return lambda v: v if isinstance(v, int) and not isinstance(v, bool) else int(v)
    if family == "real":
        return float
    if family == "text":
        return lambda v: v if isinstance(v, str) else str(v)
    if family == "blob":
        return lambda v: bytes(v) if not isinstance(v, str) else v.encode("utf-8")
    return lambda v: v


def _record(table: str, columns: list[str], convert: list[Callable[[Any], Any]], row: Any) -> tuple[Any, ...]:
    values = []
    for column, f, value in zip(columns, convert, row, strict=True):
        try:
            values.append(None if value is None else f(value))
        except (TypeError, ValueError) as exc:
            raise StoreError(
                f"Table {table}, column {column} holds {value!r}, which PostgreSQL cannot store there ({exc}); nothing was copied."
            ) from exc
    return tuple(values)


async def copy_sqlite_to_postgres(
    source: str | Path, target: str, *, clock: Clock | None = None, progress: Callable[[str, int], None] | None = None
) -> CopyReport:
    """Copy the SQLite file ``source`` into the empty PostgreSQL database at ``target``; see the module doc."""
    path = Path(source)
    if not path.is_file():
        raise StoreError(f"There is no SQLite database at {path}: point --from (or DATABASE_PATH) at the file to copy.")
    clock = clock or SystemClock()
    store = await Store.open(path, clock=clock)
    try:
        lite = SqliteDatabase.over(store.connection)
        postgres = await open_database(target)
        if not isinstance(postgres, PostgresDatabase):
            raise StoreError(f"{redacted(target)} is not a PostgreSQL URL: migrate-db copies into postgresql://... only.")
        try:
            return await _copy(lite, postgres, target, clock, progress)
        finally:
            await postgres.close()
    finally:
        await store.close()


async def _copy(
    lite: SqliteDatabase, pg: PostgresDatabase, target: str, clock: Clock, progress: Callable[[str, int], None] | None
) -> CopyReport:
    now = clock.now().timestamp()
    live = await lite.fetch_value("SELECT COUNT(*) FROM shard_leases WHERE expires_at > ?", (now,))
    if live:
        raise StoreError(
            f"Bot processes still hold {live} shard lease(s) in this SQLite file: stop them before copying "
            "(the copy would miss what they write next)."
        )
    version = await database_version(lite)
    target_version = await migrate_database(pg)
    if target_version != version:
        raise StoreError(f"The SQLite database has schema version {version} and the PostgreSQL one {target_version}; they must match.")
    lite_shapes, pg_shapes = await schema_shape(lite), await schema_shape(pg)
    differences = shape_differences(lite_shapes, pg_shapes)
    if differences:
        raise StoreError(f"The two schemas differ, so nothing was copied: {'; '.join(differences[:3])}.")
    order = copy_order(pg_shapes)
    for table in order:
        if await pg.fetch_value(f"SELECT EXISTS (SELECT 1 FROM {table})"):
            raise StoreError(
                f"The PostgreSQL database {redacted(target)} already holds data (table {table}): migrate-db copies into an "
                "empty database only; create a new one or point --to at another."
            )
    rows: dict[str, int] = {}
    async with pg.transaction() as tx:
        conn = tx.connection
        for table in order:
            shape = pg_shapes[table]
            if table in FULL_TEXT_TABLES:
                columns = list(FULL_TEXT_COLUMNS)  # the tsvector is generated from the body and scope
                families = {"rowid": "integer", "body": "text", "scope": "text"}
                key = "rowid"
            else:
                columns = [c.name for c in shape.columns]
                families = {c.name: c.family for c in shape.columns}
                key = ", ".join(shape.primary_key) if shape.primary_key else "rowid"
            convert = [_converter(families[c]) for c in columns]
            copied = 0
            async with lite.connection.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {key}") as cursor:
                while batch := await cursor.fetchmany(BATCH):
                    records = [_record(table, columns, convert, row) for row in batch]
                    await conn.copy_records_to_table(table, records=records, columns=columns)
                    copied += len(records)
            landed = await tx.fetch_value(f"SELECT COUNT(*) FROM {table}")
            if landed != copied:
                raise StoreError(f"Table {table}: {copied} rows were sent and {landed} arrived; nothing was copied.")
            for column in (c.name for c in shape.columns if c.generated):
                top = await tx.fetch_value(f"SELECT MAX({column}) FROM {table}")
                if top is not None and int(top) >= 1:
                    await tx.execute("SELECT setval(pg_get_serial_sequence(?, ?), ?)", (table, column, int(top)))
            rows[table] = copied
            if progress is not None:
                progress(table, copied)
    return CopyReport(version, rows)
