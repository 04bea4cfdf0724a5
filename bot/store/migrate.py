"""Forward-only schema migrations: numbered SQL files applied in one transaction at start.

The schema version lives in ``PRAGMA user_version``. ``sqlite3.executescript`` would commit on its
own, so statements are split with ``sqlite3.complete_statement`` and run inside one explicit
transaction: either every pending migration lands or none does.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.errors import StoreError
from bot.shipped import shipped_folder

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# The top-level migrations/ of a checkout, or its copy inside an installed wheel.
DEFAULT_MIGRATIONS_DIR = shipped_folder("migrations")


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
    """Apply pending migrations in one transaction; return the resulting schema version.

    Refuses a database whose version is newer than the newest migration this code knows.
    """
    migrations = discover(directory)
    latest = migrations[-1].version if migrations else 0
    current = await schema_version(conn)
    if current > latest:
        raise StoreError(
            f"This database has schema version {current}, newer than this version of Ensemble knows "
            f"({latest}). Upgrade Ensemble or point DATABASE_PATH at another file."
        )
    pending = [m for m in migrations if m.version > current]
    if not pending:
        return current
    await conn.execute("BEGIN IMMEDIATE")
    try:
        for migration in pending:
            for statement in migration.statements():
                await conn.execute(statement)
        await conn.execute(f"PRAGMA user_version = {latest:d}")
    except BaseException:
        await conn.rollback()
        raise
    await conn.commit()
    return latest
