"""Forward-only schema migrations: numbered SQL files applied in one transaction at start.

Each dialect has its own numbered files with the same numbers: ``migrations/NNNN_*.sql`` for SQLite,
``migrations/postgresql/NNNN_*.sql`` for PostgreSQL (a test checks that both build the same tables,
columns, keys and indexes). The runner is one for both, through the ``Database`` port: numbering without
gaps, a database newer than the code refused, every pending migration applied in one transaction (all
land or none). The version lives in ``PRAGMA user_version`` on SQLite and in the one-row table
``ensemble_schema`` on PostgreSQL, where an advisory lock also keeps two processes starting together
from migrating at the same time.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.errors import StoreError
from bot.shipped import shipped_folder
from bot.store.database import Database, Dialect

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# The top-level migrations/ of a checkout, or its copy inside an installed wheel.
DEFAULT_MIGRATIONS_DIR = shipped_folder("migrations")
POSTGRES_MIGRATIONS_DIR = DEFAULT_MIGRATIONS_DIR / "postgresql"
# pg_advisory_xact_lock key of the migration runner (any fixed number; "Ens" in ASCII).
MIGRATION_LOCK = 0x456E73
VERSION_TABLE = "ensemble_schema"


def migrations_dir(dialect: Dialect) -> Path:
    """The folder of numbered migrations for ``dialect``."""
    return POSTGRES_MIGRATIONS_DIR if dialect == "postgresql" else DEFAULT_MIGRATIONS_DIR


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    path: Path

    def statements(self) -> list[str]:
        """The file's SQL split into complete statements (comments and blank lines dropped)."""
        statements: list[str] = []
        buffer = ""
        for line in self.path.read_text(encoding="utf-8").splitlines(keepends=True):
            if not buffer and (not line.strip() or line.lstrip().startswith("--")):
                continue
            buffer += line
            if sqlite3.complete_statement(buffer):
                statements.append(buffer.strip())
                buffer = ""
        if buffer.strip():
            raise StoreError(f"Migration {self.path.name} ends with an incomplete SQL statement.")
        return statements


def discover(directory: Path = DEFAULT_MIGRATIONS_DIR) -> list[Migration]:
    """All migrations in ``directory``, ordered, checked to be numbered 1..N without gaps."""
    if not directory.is_dir():
        raise StoreError(f"The migrations folder {directory} does not exist.")
    found = []
    for path in directory.iterdir():
        match = MIGRATION_NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), path))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise StoreError(f"Migration {expected:04d} is missing (found {migration.path.name}).")
    return found


async def schema_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection, directory: Path = DEFAULT_MIGRATIONS_DIR) -> int:
    """Migrate the SQLite connection ``Store`` owns; see ``migrate_database``."""
    from bot.store.sqlite_db import SqliteDatabase

    return await migrate_database(SqliteDatabase.over(conn), directory)


async def database_version(db: Database) -> int:
    """The schema version of ``db`` (0 for an empty database)."""
    if db.dialect == "sqlite":
        return int(await db.fetch_value("PRAGMA user_version") or 0)
    exists = await db.fetch_value("SELECT to_regclass(?) IS NOT NULL", (VERSION_TABLE,))
    if not exists:
        return 0
    return int(await db.fetch_value(f"SELECT COALESCE(MAX(version), 0) FROM {VERSION_TABLE}") or 0)


def _refuse_newer(db: Database, current: int, latest: int) -> None:
    if current > latest:
        where = "point DATABASE_PATH at another file" if db.dialect == "sqlite" else "point DATABASE_URL at another database"
        raise StoreError(
            f"This database has schema version {current}, newer than this version of Ensemble knows "
            f"({latest}). Upgrade Ensemble or {where}."
        )


async def migrate_database(db: Database, directory: Path | None = None) -> int:
    """Apply pending migrations in one transaction; return the resulting schema version.

    Refuses a database whose version is newer than the newest migration this code knows. The version
    is read again inside the transaction (which holds SQLite's write lock, or PostgreSQL's advisory lock
    of the runner), so two processes starting at once apply each migration once.
    """
    migrations = discover(directory if directory is not None else migrations_dir(db.dialect))
    latest = migrations[-1].version if migrations else 0
    current = await database_version(db)
    _refuse_newer(db, current, latest)
    if current == latest:
        return current
    async with db.transaction() as tx:
        if tx.dialect == "postgresql":
            await tx.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            await tx.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)")
        current = await database_version(tx)
        _refuse_newer(tx, current, latest)
        for migration in migrations:
            if migration.version > current:
                await _apply(tx, migration)
        if tx.dialect == "sqlite":
            await tx.execute(f"PRAGMA user_version = {latest:d}")
        else:
            await tx.execute(f"DELETE FROM {VERSION_TABLE}")
            await tx.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (?)", (latest,))
    return latest


async def _apply(tx: Database, migration: Migration) -> None:
    if tx.dialect == "sqlite":
        for statement in migration.statements():
            await tx.execute(statement)
    else:
        await tx.executescript(migration.path.read_text(encoding="utf-8"))
